import { describe, expect, it } from 'vitest';
import { defaultTariff } from '../../../billing/tariff.js';
import { TariffBands } from '../../../meter/billing.js';
import { MeterClock } from '../../../meter/clock.js';
import { EvSessions } from '../../../meter/ev-sessions.js';
import type { ActiveLoad } from '../../../meter/tracked-load.js';

/** Unix 0 is a Thursday: with the default tariff 00:00-07:00 is band 0, 07:00-17:00 band 1. */
const SIX_AM = 6 * 3600;

function sessions(holdS = 0) {
  const billed: Array<{ load: ActiveLoad; end: number; now: number }> = [];
  const clock = new MeterClock(0, 0);
  const s = new EvSessions(holdS, clock, new TariffBands(defaultTariff(), SIX_AM, clock), (load, end, now) =>
    billed.push({ load, end, now }),
  );
  return { s, billed };
}

const ev = (): ActiveLoad => ({ cls: 'ev', p: 7000, q: 0, r3: 0, r5: 0, r7: 0, wh: 0 });

describe('EvSessions', () => {
  it('a token within 120 s before the start attributes the session; an older one does not', () => {
    const { s } = sessions();
    s.authorize('C-OWNER', 100, []);
    const near = s.open(200, 201);
    expect(near).toMatchObject({ start: 200, startMeter: 200, payerContract: 'C-OWNER', attributed: true });
    expect(near.bandWh).toEqual([0, 0, 0]);
    s.authorize('C-LATE', 300, []);
    expect(s.open(500, 501).attributed).toBe(false);
  });

  it('a token after the start attributes the running session', () => {
    const { s } = sessions();
    const load = { ...ev(), session: s.open(100, 101) };
    s.authorize('C-OWNER', 150, [load]);
    expect(load.session).toMatchObject({ payerContract: 'C-OWNER', attributed: true });
  });

  it('with pilot reports a stop pauses the session; the unplug bills it at its last stop', () => {
    const { s, billed } = sessions();
    s.pilot('cp', 'B', 10);
    expect(s.plugWaiting).toBe(true);
    s.authorize('C-OWNER', 20, []);
    const load = { ...ev(), session: s.open(600, 601) };
    expect(s.plugWaiting).toBe(false);
    expect(load.session.attributed).toBe(true);
    s.stopped(load, 900, 901);
    expect(s.paused).toHaveLength(1);
    expect(billed).toEqual([]);
    s.expire(1e9);
    expect(billed).toEqual([]);
    s.pilot('cp', 'A', 1200);
    expect(billed).toEqual([{ load, end: 900, now: 1200 }]);
    expect(s.paused).toHaveLength(0);
  });

  it('a paused session resumes', () => {
    const { s } = sessions();
    s.pilot('cp', 'C', 0);
    const load = { ...ev(), session: s.open(10, 11) };
    s.stopped(load, 50, 51);
    expect(s.resume(0)).toBe(load);
    expect(s.paused).toHaveLength(0);
  });

  it('unplugged while drawing: the next stop ends it at once', () => {
    const { s, billed } = sessions();
    s.pilot('cp', 'C', 0);
    const load = { ...ev(), session: s.open(10, 11) };
    s.pilot('cp', 'A', 40);
    expect(billed).toEqual([]);
    s.stopped(load, 50, 51);
    expect(billed).toEqual([{ load, end: 50, now: 51 }]);
  });

  it('without pilot reports: hold 0 bills at the stop; a hold keeps the session until it runs out', () => {
    const none = sessions(0);
    const a = { ...ev(), session: none.s.open(0, 1) };
    none.s.stopped(a, 100, 101);
    expect(none.billed).toEqual([{ load: a, end: 100, now: 101 }]);

    const held = sessions(60);
    const b = { ...ev(), session: held.s.open(0, 1) };
    held.s.stopped(b, 100, 101);
    held.s.expire(160);
    expect(held.billed).toEqual([]);
    held.s.expire(161);
    expect(held.billed).toEqual([{ load: b, end: 100, now: 161 }]);
  });

  it('a held session ends when a new token arrives or another EV starts', () => {
    const { s, billed } = sessions(600);
    const a = { ...ev(), session: s.open(0, 1) };
    s.stopped(a, 100, 101);
    s.authorize('C-NEXT', 200, []);
    expect(billed).toEqual([{ load: a, end: 100, now: 200 }]);
    const b = { ...ev(), session: s.open(300, 301) };
    s.stopped(b, 400, 401);
    s.open(500, 501);
    expect(billed.at(-1)).toEqual({ load: b, end: 400, now: 501 });
  });

  it('finish ends every paused session at its stop', () => {
    const { s, billed } = sessions();
    s.pilot('cp', 'C', 0);
    const load = { ...ev(), session: s.open(10, 11) };
    s.stopped(load, 50, 51);
    s.finish(99);
    expect(billed).toEqual([{ load, end: 50, now: 99 }]);
  });

  it('rebook moves the detection delay to the new power, each piece in the band of its hour', () => {
    const { s } = sessions();
    const session = s.open(3000, 3000);
    // 06:50 to 07:10: band 0 then band 1; the cycles were booked at 0 W, the EV drew 3600 W.
    s.rebook(session, 0, 3600, 3000, 4200);
    expect(session.bandWh[0]).toBeCloseTo(600, 9);
    expect(session.bandWh[1]).toBeCloseTo(600, 9);
    expect(session.importWh).toBeCloseTo(1200, 9);
    // Export is booked apart.
    s.rebook(session, 0, -360, 0, 10);
    expect(session.exportWh).toBeCloseTo(1, 9);
  });
});
