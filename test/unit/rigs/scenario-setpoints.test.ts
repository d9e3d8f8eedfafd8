import { describe, expect, it } from 'vitest';
import { ENTRY } from '../../../core/record/entries.js';
import { STEP_EVENT_W } from '../../../profiles/ground-truth.js';
import { scenarioSchema } from '../../../profiles/scenario-schema.js';
import { whyUnplayable } from '../../../rigs/hardware/playback.js';
import { meterEventOf } from '../../../rigs/hardware/stream-relay.js';
import { scenarioEvSignals, scenarioSetpoints, TOKEN_LEAD_S } from '../../../rigs/scenario-setpoints.js';

const scenario = scenarioSchema.parse({
  name: 'two-loads',
  start: '2026-03-07T08:00:00Z',
  durationS: 200,
  houses: [
    {
      id: 'h1',
      contract: 'C-1',
      baseLoadW: 80,
      loads: [
        { id: 'kettle', profile: 'kettle', on: 10, off: 40 },
        { id: 'hp', profile: 'heat-pump', on: 100, off: 180 },
      ],
    },
  ],
});

describe('scenario → one load setpoint schedule', () => {
  const s = scenarioSetpoints(scenario, 'h1', 1);

  it('starts with the standby base and steps with each appliance', () => {
    expect(s[0]).toMatchObject({ t: 0, p: 80 });
    expect(s.find((x) => x.t === 10)?.p).toBeCloseTo(80 + 2200, 0);
    expect(s.find((x) => x.t === 40)?.p).toBeCloseTo(80, 6);
    expect(s.at(-1)?.p).toBeCloseTo(80, 6);
  });

  it('plays a ramp as steps well under the event threshold', () => {
    const ramp = s.filter((x) => x.t > 100 && x.t < 180);
    expect(ramp.length).toBeGreaterThan(10);
    for (let i = 1; i < ramp.length; i++) {
      expect(Math.abs((ramp[i]?.p ?? 0) - (ramp[i - 1]?.p ?? 0))).toBeLessThanOrEqual(STEP_EVENT_W / 4 + 1e-9);
    }
    expect([...s].sort((a, b) => a.t - b.t)).toEqual(s);
  });

  it('a meter not in the scenario draws nothing', () => {
    expect(scenarioSetpoints(scenario, 'nobody', 1)).toEqual([{ t: 0, p: 0, q: 0 }]);
  });
});

describe('JSONL stream event line → observed meter event', () => {
  it('keeps the fields analysis reads and stamps the bench time', () => {
    const e = meterEventOf(
      { type: 'event', direction: 'on', class: 'kettle', profile: 'kettle', deltaP: 2200, deltaQ: 3, tMeter: 99 },
      'c1',
      'h1',
      12.5,
    );
    expect(e).toEqual({
      caseId: 'c1',
      meterId: 'h1',
      tObserved: 12.5,
      direction: 'on',
      class: 'kettle',
      profile: 'kettle',
      deltaP: 2200,
      deltaQ: 3,
    });
    expect(ENTRY.meterEvent).toBe('obs.meter.event');
  });
  it('rejects lines without direction, class or a finite deltaP', () => {
    expect(meterEventOf({ type: 'event', direction: 'up', class: 'x', deltaP: 1 }, 'c', 'h', 0)).toBeUndefined();
    expect(meterEventOf({ type: 'event', direction: 'on', deltaP: 1 }, 'c', 'h', 0)).toBeUndefined();
    expect(meterEventOf({ type: 'event', direction: 'on', class: 'x', deltaP: 'big' }, 'c', 'h', 0)).toBeUndefined();
  });
});

describe('scenario EV sessions → charge-point signals', () => {
  const ev = scenarioSchema.parse({
    name: 'ev-visits',
    start: '2026-03-07T08:00:00Z',
    durationS: 7200,
    houses: [
      { id: 'h1', contract: 'C-1', baseLoadW: 0, loads: [] },
      { id: 'h2', contract: 'C-2', baseLoadW: 0, loads: [] },
    ],
    evs: [
      {
        id: 'ev-a',
        owner: 'C-A',
        home: 'h1',
        profile: 'ev-1ph-3.7kw',
        sessions: [
          { at: 'h1', plugIn: 100, unplug: 1000, authorise: true },
          { at: 'h2', plugIn: 3000, unplug: 4000, authorise: false },
        ],
      },
    ],
  });

  it('authorised session: token before plug-in, pilot B, C while charging, B, A', () => {
    const s = scenarioEvSignals(ev, 'h1', 1);
    expect(s.map((x) => (x.kind === 'cp' ? x.state : 'token'))).toEqual(['token', 'B', 'C', 'B', 'A']);
    expect(s[0]).toMatchObject({ t: 100 - TOKEN_LEAD_S, contractId: 'C-A' });
    expect(s.at(-1)).toMatchObject({ t: 1000, state: 'A' });
  });

  it('unauthorised visit at a neighbour: no token, only the pilot', () => {
    const s = scenarioEvSignals(ev, 'h2', 1);
    expect(s.every((x) => x.kind === 'cp')).toBe(true);
    expect(s[0]).toMatchObject({ t: 3000, state: 'B' });
  });
});

describe('what a one-DUT bench with one EV simulator cannot play', () => {
  const withEvs = (sessions: Array<[string, number, number]>) =>
    scenarioSchema.parse({
      name: 'evs',
      start: '2026-03-07T08:00:00Z',
      durationS: 4000,
      houses: [{ id: 'h1', contract: 'C-1' }],
      evs: sessions.map(([id, plugIn, unplug]) => ({
        id,
        owner: `C-${id}`,
        profile: 'ev-1ph-3.7kw',
        sessions: [{ at: 'h1', plugIn, unplug, authorise: true }],
      })),
    });

  it('two EVs plugged in at once: NOT RUN with the reason, naming when the second plugs in', () => {
    expect(
      whyUnplayable(
        withEvs([
          ['a', 100, 2000],
          ['b', 900, 1500],
        ]),
        1,
        'sim-serial',
      ),
    ).toBe('scenario has 2 EVs plugged in at once (t=900 s); rig sim-serial has one EV simulator');
  });

  it('EVs one after the other play', () => {
    expect(
      whyUnplayable(
        withEvs([
          ['a', 100, 900],
          ['b', 900, 1500],
        ]),
        1,
        'sim-serial',
      ),
    ).toBeUndefined();
  });
});

describe('a three-phase scenario → per-phase setpoints', () => {
  const three = scenarioSchema.parse({
    name: 'three-phase',
    start: '2026-03-07T08:00:00Z',
    durationS: 300,
    phases: 3,
    houses: [
      {
        id: 'h1',
        contract: 'C-1',
        baseLoadW: 90,
        loads: [
          { id: 'kettle', profile: 'kettle', on: 10, off: 40, phase: 'L2' },
          { id: 'ev', profile: 'ev-3ph-11kw-pv', on: 100, off: 300 },
        ],
      },
    ],
  });
  const s = scenarioSetpoints(three, 'h1', 1);
  const at = (t: number) => [...s].reverse().find((x) => x.t <= t)!;

  it('puts the base on L1, a single-phase load on its phase, a three-phase one a third on each; totals add up', () => {
    expect(at(0).phases!.map((p) => Math.round(p.p))).toEqual([90, 0, 0]);
    expect(at(20).phases![1]!.p).toBeCloseTo(at(20).p - 90, 6);
    const ev = at(150).phases!.map((p) => p.p);
    expect(ev[1]).toBeCloseTo(11000 / 3, 0);
    expect(ev[0]! - ev[1]!).toBeCloseTo(90, 6);
    for (const sp of s) expect(sp.phases!.reduce((a, p) => a + p.p, 0)).toBeCloseTo(sp.p, 6);
  });

  it('a single-phase stretch of a three-phase profile draws on its first phase only', () => {
    const pv = scenarioSchema.parse({
      ...three,
      durationS: 2600,
      houses: [{ ...three.houses[0]!, loads: [{ id: 'ev', profile: 'ev-3ph-11kw-pv', on: 0 }] }],
    });
    const one = scenarioSetpoints(pv, 'h1', 1).find((x) => x.t >= 600 && x.t < 1200)!;
    expect(one.phases!.map((p) => Math.round(p.p))).toEqual([3680 + 90, 0, 0]);
  });

  it('a single-phase scenario has no per-phase setpoints', () => {
    expect(scenarioSetpoints(scenario, 'h1', 1).every((x) => x.phases === undefined)).toBe(true);
  });
});
