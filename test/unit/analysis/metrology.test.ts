import { describe, expect, it } from 'vitest';
import { metrologyAnalyser } from '../../../analysis/analysers/metrology.js';
import type { CaseAnalysis, Entry } from '../../../analysis/case-analysis.js';
import { CaseEntries } from '../../../analysis/case-entries.js';
import { pulseGates } from '../../../analysis/error-calculator.js';
import { acceptedUnder, conformityStatement } from '../../../analysis/standards/decision-rules.js';
import { COVERAGE_FACTOR, combinedU, rectangularU, typeAU } from '../../../analysis/standards/gum.js';
import {
  ENTRY,
  type PulseData,
  type ReferenceStandardData,
  type TruthEnergyData,
} from '../../../core/record/entries.js';

describe('ILAC-G8 statements and decision rules', () => {
  // MPE 1 %, U 0.2 %: the four zones around the limit.
  it.each([
    [0.7, 'pass'],
    [0.8, 'pass'],
    [0.9, 'conditional pass'],
    [1.0, 'conditional pass'],
    [1.1, 'conditional fail'],
    [1.2, 'conditional fail'],
    [1.3, 'fail'],
    [-0.9, 'conditional pass'],
  ] as const)('error %s %% is a %s', (e, statement) => {
    expect(conformityStatement(e, 0.2, 1)).toBe(statement);
  });

  it('guarded acceptance takes only a plain pass; simple acceptance every |e| ≤ MPE', () => {
    expect([0.7, 0.9, 1.1].map((e) => acceptedUnder('guarded', e, 0.2, 1))).toEqual([true, false, false]);
    expect([0.7, 0.9, 1.1].map((e) => acceptedUnder('simple', e, 0.2, 1))).toEqual([true, true, false]);
  });

  it('combines standard uncertainties as GUM does', () => {
    expect(rectangularU(0.2)).toBeCloseTo(0.11547, 5);
    expect(typeAU(0.02, 4)).toBeCloseTo(0.01, 10);
    expect(combinedU([0.3, 0.4])).toBeCloseTo(0.5, 10);
    expect(COVERAGE_FACTOR).toBe(2);
  });
});

/** A test point at 10·Itr drawing 1150 W for 300 s, and a meter reading `gain` off it, polled every second. */
function point(gainPct: number, extra: Entry[] = [], params: Record<string, unknown> = {}): CaseAnalysis {
  const truth: TruthEnergyData = {
    caseId: 'c',
    meterId: 'm',
    loadId: '10itr-pf1',
    class: 'test-point',
    profile: 'tp-10itr-pf1',
    start: 0,
    end: 300,
    energyWh: 1150 / 12,
    currentA: 5,
    pf: 1,
  };
  const measurements: Entry[] = Array.from({ length: 301 }, (_, t) => ({
    kind: ENTRY.meterMeasurement,
    data: { caseId: 'c', meterId: 'm', t, importWh: ((1150 * t) / 3600) * (1 + gainPct / 100), exportWh: 0 },
  }));
  const out: CaseAnalysis = { metrics: {}, sections: {} } as CaseAnalysis;
  const all = {
    metrology: true,
    midClass: 'B',
    decisionRule: extra.some((e) => e.data.rule === 'simple') ? 'simple' : 'guarded',
    ...params,
  };
  metrologyAnalyser(
    CaseEntries.of([{ kind: ENTRY.truthLoadEnergy, data: { ...truth } }, ...measurements, ...extra], all),
    all,
    out,
  );
  return out;
}

const standard = (over: Partial<ReferenceStandardData>): Entry => ({
  kind: ENTRY.referenceStandard,
  data: { caseId: 'c', instrument: 'ref', description: 'a class 0.2 standard', accuracyClass: 0.2, ...over },
});

describe('the energy error of a test point with its uncertainty', () => {
  it('budgets the reference by its class (rectangular) and the repeatability of the gates (type A)', () => {
    const out = point(0.3, [standard({})]);
    const [p] = out.metrology!.points;
    expect(p!.errorPct).toBeCloseTo(0.3, 6);
    expect(p!.budget!.map((c) => [c.source, c.type])).toEqual([
      ['reference', 'B'],
      ['repeatability', 'A'],
    ]);
    expect(p!.budget![0]!.uPct).toBeCloseTo(0.2 / Math.sqrt(3), 6);
    expect(p!.expandedPct).toBeCloseTo((2 * 0.2) / Math.sqrt(3), 4);
    expect(p!.statement).toBe('pass');
    expect(out.metrics['metrology.points_not_accepted']).toBe(0);
  });

  it("takes a certificate's expanded uncertainty over the class (U/k, normal)", () => {
    const out = point(0, [standard({ certificate: 'D-K-1', expandedUncertaintyPct: 0.05, coverageFactor: 2 })]);
    expect(out.metrology!.points[0]!.budget![0]).toMatchObject({
      uPct: 0.025,
      basis: expect.stringContaining('D-K-1'),
    });
  });

  it('0.9 % off on class B with U ≈ 0.23 %: a conditional pass, refused under guarded, accepted under simple', () => {
    const guarded = point(0.9, [standard({})]);
    expect(guarded.metrology!.points[0]).toMatchObject({ statement: 'conditional pass', accepted: false });
    expect(guarded.metrics).toMatchObject({
      'metrology.conditional_passes_refused': 1,
      'metrology.points_beyond_mpe': 0,
      'metrology.points_not_accepted': 1,
    });
    const simple = point(0.9, [standard({}), { kind: 'note', data: { rule: 'simple' } }]);
    expect(simple.metrology!.points[0]).toMatchObject({ statement: 'conditional pass', accepted: true });
    expect(simple.metrics['metrology.conditional_passes_refused']).toBe(0);
  });

  it('adds the timing of the gate edges from the DUT and reference polls, in case time', () => {
    const latency = (role: 'dut' | 'reference' | 'load'): Entry => ({
      kind: ENTRY.transportLatency,
      data: { caseId: 'c', instrument: role, role, samples: 100, p50Ms: 20, p99Ms: 40, timeScale: 60 },
    });
    const reference: Entry[] = Array.from({ length: 301 }, (_, t) => ({
      kind: ENTRY.referenceMeasurement,
      data: { caseId: 'c', meterId: 'm', t, importWh: (1150 * t) / 3600, exportWh: 0 },
    }));
    const out = point(0, [standard({}), latency('dut'), latency('reference'), latency('load'), ...reference]);
    const timing = out.metrology!.points[0]!.budget!.find((c) => c.source === 'gate timing');
    // Each poll stamped within ±10 ms wall = ±0.6 s of case time; two meters, two edges, over 300 s.
    const edge = Math.hypot(0.6, 0.6);
    expect(timing!.uPct).toBeCloseTo((Math.SQRT2 * (edge / Math.sqrt(3)) * 100) / 300, 6);
  });
});

describe('the error calculator on the pulse output', () => {
  /** Pulses of a meter reading `gainPct` high at 1150 W, 1000 imp/kWh, read every 5 s: each read's latest edge. */
  function pulses(gainPct: number, over: Partial<PulseData> = {}): Entry[] {
    const whPerS = (1150 / 3600) * (1 + gainPct / 100);
    const out: Entry[] = [];
    let counted = 0;
    for (let read = 5; read <= 300; read += 5) {
      const total = Math.floor(whPerS * read);
      if (total === counted) continue;
      out.push({
        kind: ENTRY.pulse,
        data: { caseId: 'c', channel: 'm/s0', t: total / whPerS, count: total - counted, impPerKWh: 1000, ...over },
      });
      counted = total;
    }
    return out;
  }

  it('gates on the first and last recorded pulse edge: N pulses / C against the reference over the same edges', () => {
    const edges = pulses(0).map((e) => e.data as unknown as PulseData);
    const g = pulseGates(edges, 0, 300, 1000, 5)!;
    expect(g.whole.pulses).toBe(edges.slice(1).reduce((s, p) => s + p.count, 0));
    expect(g.whole.meterWh).toBe(g.whole.pulses);
    expect(g.gates.reduce((s, x) => s + x.pulses, 0)).toBe(g.whole.pulses);
    expect(g.gates.length).toBe(5);
    expect(pulseGates(edges.slice(0, 1), 0, 300, 1000, 5)).toBeUndefined();
  });

  it("reads the DUT's energy from its pulses when they are recorded, exact to the edges", () => {
    // Registers exact, pulse output 0.5 % high: the error is the pulse output's.
    const out = point(0, [standard({}), ...pulses(0.5)]);
    const [p] = out.metrology!.points;
    expect(p!.source).toBe('pulses');
    expect(p!.errorPct).toBeCloseTo(0.5, 6);
    expect(p!.gate!.pulses).toBeGreaterThan(90);
    expect(
      point(0, [standard({}), ...pulses(0.5)], { errorFrom: 'registers' }).metrology!.points[0]!.errorPct,
    ).toBeCloseTo(0, 6);
  });

  it('takes host-received edges only in real time, unless told to (errorFrom: pulses)', () => {
    const scaled: Entry = {
      kind: ENTRY.transportLatency,
      data: { caseId: 'c', instrument: 'load', role: 'load', samples: 10, p50Ms: 5, p99Ms: 9, timeScale: 60 },
    };
    const received = pulses(0.5, { timeSource: 'host-receive', minDelayMs: 0.5 });
    expect(point(0, [standard({}), scaled, ...received]).metrology!.points[0]!.source).toBe('registers');
    const forced = point(0, [standard({}), scaled, ...received], { errorFrom: 'pulses' }).metrology!.points[0]!;
    expect(forced.source).toBe('pulses');
    expect(forced.budget!.find((c) => c.source === 'gate timing')).toBeDefined();
  });
});

describe('the starting test and a disturbance', () => {
  /** A run at Ist (4.6 W) over [0, 2400] s, the meter's register rising only between `from` and `to`. */
  function starting(from: number, to: number, pulses: PulseData[] = []): CaseAnalysis {
    const truth: TruthEnergyData = {
      caseId: 'c',
      meterId: 'm',
      loadId: 'ist-pf1',
      class: 'test-point',
      profile: 'tp-ist-pf1',
      start: 0,
      end: 2400,
      energyWh: (4.6 * 2400) / 3600,
      currentA: 0.02,
      pf: 1,
    };
    const registered = (t: number) => (4.6 * Math.max(0, Math.min(t, to) - from)) / 3600;
    const entries: Entry[] = [
      { kind: ENTRY.truthLoadEnergy, data: { ...truth } },
      ...Array.from({ length: 25 }, (_, i) => ({
        kind: ENTRY.meterMeasurement,
        data: { caseId: 'c', meterId: 'm', t: i * 100, importWh: registered(i * 100), exportWh: 0 },
      })),
      ...pulses.map((p) => ({ kind: ENTRY.pulse, data: { ...p } })),
    ];
    const out: CaseAnalysis = { metrics: {}, sections: {} } as CaseAnalysis;
    metrologyAnalyser(CaseEntries.of(entries, { starting: true }), { starting: true, midClass: 'B' }, out);
    return out;
  }
  const edge = (t: number): PulseData => ({ caseId: 'c', channel: 'm/s0', meterId: 'm', t, count: 1, impPerKWh: 1000 });

  it('from the registers: a meter that starts and keeps registering has no gap; one that stops half-way has one', () => {
    expect(starting(0, 2400).metrics['metrology.starting_gaps']).toBe(0);
    expect(starting(0, 1000).metrics['metrology.starting_gaps']).toBe(1);
    expect(starting(0, 0).metrology!.starting).toMatchObject({ source: 'registers', gaps: 2 });
  });

  it('from the pulse output when the meter has one: a half without a pulse is a gap, whatever the registers say', () => {
    expect(starting(0, 2400, [edge(783), edge(1566), edge(2349)]).metrics['metrology.starting_gaps']).toBe(0);
    expect(starting(0, 2400, [edge(783)]).metrology!.starting).toMatchObject({ source: 'pulses', gaps: 1 });
  });

  it("a disturbance's shift is each point's error against the reference point's; a missing reference point throws", () => {
    const out = point(0.5, [], { referencePoint: '10itr-pf1' });
    expect(out.metrics['metrology.max_error_shift_pct']).toBe(0);
    expect(() => point(0.5, [], { referencePoint: 'absent' })).toThrow(/reference point absent/);
  });
});
