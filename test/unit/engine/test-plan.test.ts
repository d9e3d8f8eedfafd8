import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MID_CLASSES,
  MID_CRITICAL_CHANGE_TABLE,
  MID_CURRENT_TABLE,
  MID_RATED_RANGES,
  midCriticalChange,
} from '../../../analysis/standards/mid.js';
import { FileValidationError } from '../../../core/errors.js';
import { loadSuiteFile } from '../../../engine/suite.js';
import { expandTestPlan, loadTestPlanFile, type MeterDeclaration } from '../../../engine/test-plan.js';
import { REPO_ROOT } from '../../support/cli.js';

const PLAN_FILE = join(REPO_ROOT, 'suites/plans/mid-mi003-direct.yaml');
const plan = loadTestPlanFile(PLAN_FILE);
const declared: MeterDeclaration = { midClass: 'B', unV: 230, fnHz: 50, itrA: 0.5, imaxA: 40, impPerKWh: 1000 };
const dir = mkdtempSync(join(tmpdir(), 'test-plan-'));

type Load = { id: string; profile: string };
type State = { p: number; pf: number; harmonics?: Array<{ order: number; ratio: number }> };
type Planned = ReturnType<typeof expandTestPlan>['cases'][number];
const scenarioOf = (c: Planned) =>
  c.scenario as {
    frequency: number;
    voltage: { nominal: number; h5: number };
    durationS: number;
    profiles: Array<{ name: string; states: State[] }>;
    houses: Array<{ loads?: Load[] }>;
  };
/** Each point's current (A) from its profile: P / (U · |PF|). */
function currents(c: Planned): Record<string, number> {
  const s = scenarioOf(c);
  return Object.fromEntries(
    (s.houses[0]!.loads ?? []).map((l) => {
      const st = s.profiles.find((p) => p.name === l.profile)!.states[0]!;
      return [l.id, st.p / (s.voltage.nominal * Math.abs(st.pf))];
    }),
  );
}

describe('a test plan expanded with a meter declaration', () => {
  it('takes Imin and Ist from MI-003 Table 1 by class when the meter declares none', () => {
    for (const midClass of MID_CLASSES) {
      const { cases, problems } = expandTestPlan(plan, { ...declared, midClass });
      expect(problems).toEqual([]);
      const bounds = MID_CURRENT_TABLE.direct[midClass];
      const points = currents(cases.find((c) => c.id === 'test-points')!);
      expect(points['imin-pf1']).toBeCloseTo(bounds.iminMaxItr * 0.5, 9);
      expect(points['itr-pf1']).toBeCloseTo(0.5, 9);
      expect(points['10itr-pf1']).toBeCloseTo(5, 9);
      expect(points['imax-pf1']).toBeCloseTo(40, 9);
      expect(currents(cases.find((c) => c.id === 'starting')!)['ist-pf1']).toBeCloseTo(bounds.istMaxItr * 0.5, 9);
    }
  });

  it('uses a declared Imin below the bound, and puts the power factors at the ends of §2.2', () => {
    const { cases } = expandTestPlan(plan, { ...declared, iminA: 0.1 });
    const points = cases.find((c) => c.id === 'test-points')!;
    expect(currents(points)['imin-pf1']).toBeCloseTo(0.1, 9);
    const pfs = scenarioOf(points).profiles.map((p) => p.states[0]!.pf);
    expect(pfs).toContain(MID_RATED_RANGES.powerFactor.minInductive);
    expect(pfs).toContain(MID_RATED_RANGES.powerFactor.maxCapacitive);
  });

  it('refuses a declaration outside Table 1, naming the parameter', () => {
    const { problems } = expandTestPlan(plan, { ...declared, iminA: 0.3, istA: 0.05, imaxA: 20 });
    expect(problems.map((p) => p.param).sort()).toEqual(['imaxA', 'iminA', 'istA']);
    expect(problems.find((p) => p.param === 'imaxA')!.message).toMatch(/below 50 · Itr \(MID .*Table 1/);
  });

  it('moves the supply to the ends of the rated ranges, one case per condition, with the rig capability it needs', () => {
    const { cases } = expandTestPlan(plan, declared);
    const influence = cases.filter((c) => c.id.startsWith('influence-'));
    expect(influence.map((c) => [c.id, scenarioOf(c).voltage.nominal, scenarioOf(c).frequency])).toEqual([
      ['influence-voltage-09un', 230 * MID_RATED_RANGES.voltage.min, 50],
      ['influence-voltage-11un', 230 * MID_RATED_RANGES.voltage.max, 50],
      ['influence-frequency-098fn', 230, 50 * MID_RATED_RANGES.frequency.min],
      ['influence-frequency-102fn', 230, 50 * MID_RATED_RANGES.frequency.max],
    ]);
    expect(influence[0]!.requires).toContain('supply.voltage');
    expect(influence[2]!.requires).toContain('supply.frequency');
    // The current is the test quantity: the power follows the voltage.
    expect(currents(influence[0]!)['10itr-pf1']).toBeCloseTo(5, 9);
  });

  it('runs a disturbance beside its undisturbed reference point, limited by Table 3', () => {
    const { cases } = expandTestPlan(plan, declared);
    const h = cases.find((c) => c.id === 'disturbance-fifth-harmonic')!;
    const s = scenarioOf(h);
    expect(s.houses[0]!.loads!.map((l) => l.id)).toEqual(['05imax-pf1-reference', 'fifth-harmonic']);
    expect(s.voltage.h5).toBe(0.1);
    expect(s.profiles[1]!.states[0]!.harmonics).toEqual([{ order: 5, ratio: 0.4 }]);
    expect(h.params.referencePoint).toBe('05imax-pf1-reference');
    expect(h.criteria[0]).toMatchObject({ limitFrom: { table: 'mid.critical-change', disturbance: 'harmonics' } });
  });

  it('sizes the starting test by the meter constant, and asks for it when missing', () => {
    const { cases } = expandTestPlan(plan, declared);
    const starting = cases.find((c) => c.id === 'starting')!;
    // Ist 0.02 A at 230 V is 4.6 W: one pulse of 1 Wh every 782.6 s; three of them.
    expect(scenarioOf(starting).durationS).toBe(Math.ceil((3 * 3600) / 4.6) + 2 * plan.settleS);
    const { impPerKWh: _, ...noConstant } = declared;
    const without = expandTestPlan(plan, noConstant);
    expect(without.cases.some((c) => c.id === 'starting')).toBe(false);
    expect(without.problems).toEqual([expect.objectContaining({ param: 'impPerKWh' })]);
  });
});

describe('a polyphase plan', () => {
  const poly = loadTestPlanFile(join(REPO_ROOT, 'suites/plans/mid-mi003-polyphase.yaml'));

  it('puts balanced points on three phases (the current per phase) and single-phase loads on their phase', () => {
    const [points] = expandTestPlan(poly, declared).cases;
    const s = points!.scenario as {
      phases: number;
      profiles: Array<{ name: string; states: Array<{ p: number }> }>;
      houses: Array<{ loads: Array<{ id: string; profile: string; phase: string }> }>;
    };
    expect(s.phases).toBe(3);
    const load = (id: string) => s.houses[0]!.loads.find((l) => l.id === id)!;
    const power = (id: string) => s.profiles.find((p) => p.name === load(id).profile)!.states[0]!.p;
    expect(load('10itr-pf1').phase).toBe('L1L2L3');
    expect(power('10itr-pf1')).toBeCloseTo(3 * 230 * 5, 6);
    expect(load('10itr-pf1-l2').phase).toBe('L2');
    expect(power('10itr-pf1-l2')).toBeCloseTo(230 * 5, 6);
  });

  it('refuses a single-phase load in a single-phase plan, and one below Itr (Table 2 has no such row)', () => {
    const bad = (text: string) => {
      const file = join(dir, `p${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, text);
      try {
        loadTestPlanFile(file);
      } catch (e) {
        if (e instanceof FileValidationError) return e.problems.map((p) => `${p.field}: ${p.message}`);
        throw e;
      }
      return [];
    };
    expect(
      bad('name: a\ntitle: A\nconnection: direct\naccuracy:\n  - { current: itr, pf: unity, load: L2 }\n'),
    ).toEqual(['accuracy[0].load: a load on L2 needs a polyphase plan (phases: 3)']);
    expect(
      bad('name: a\ntitle: A\nconnection: direct\nphases: 3\naccuracy:\n  - { current: imin, pf: unity, load: L3 }\n'),
    ).toEqual([
      'accuracy[0].current: MI-003 Table 2 has an MPE for a polyphase meter with a single-phase load from Itr up, not at imin',
    ]);
  });
});

describe('the standards tables behind a plan', () => {
  it("cite Table 3's critical change by class", () => {
    expect(midCriticalChange('harmonics', 'B')).toEqual({
      mpePct: MID_CRITICAL_CHANGE_TABLE.harmonics.B,
      citation: expect.stringContaining('MI-003) §4.2 Table 3 (class B, harmonic contents in the current circuits'),
    });
  });
});

describe('a suite that names a plan', () => {
  function suite(parameters: string, plan = PLAN_FILE): string {
    const file = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      ['name: planned', 'version: 1', 'title: Planned', `parameters: ${parameters}`, `plan: ${plan}`, ''].join('\n'),
    );
    return file;
  }
  const problemsOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof FileValidationError) return e.problems;
      throw e;
    }
    throw new Error('expected the suite to be refused');
  };

  it("gets the plan's cases with their limits resolved from the tables, and hashes the plan with the suite", () => {
    const file = suite('{ midClass: C, unV: 230, fnHz: 50, itrA: 0.5, imaxA: 40, impPerKWh: 1000 }');
    const loaded = loadSuiteFile(file);
    expect(loaded.suite.cases.map((c) => c.id)).toContain('disturbance-fifth-harmonic');
    const shift = loaded.suite.cases.find((c) => c.id === 'disturbance-fifth-harmonic')!.criteria[0]!;
    expect(shift.limit).toBe(MID_CRITICAL_CHANGE_TABLE.harmonics.C);
    expect(shift.clause).toBe(midCriticalChange('harmonics', 'C').citation);
  });

  it('refuses a declaration that breaks Table 1 at the parameter line, and a missing one by name', () => {
    const problems = problemsOf(() =>
      loadSuiteFile(suite('{ midClass: B, unV: 230, fnHz: 50, itrA: 0.5, imaxA: 10, impPerKWh: 1000 }')),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        line: 4,
        field: 'parameters.imaxA',
        message: expect.stringMatching(/Imax 10 A is below 50 · Itr/),
      }),
    ]);
    const missing = problemsOf(() => loadSuiteFile(suite('{ midClass: B, unV: 230, fnHz: 50, imaxA: 40 }')));
    expect(missing).toEqual([expect.objectContaining({ field: 'parameters.itrA' })]);
  });

  it("refuses a bad plan with the plan file's own line and field", () => {
    const bad = join(dir, 'bad-plan.yaml');
    writeFileSync(
      bad,
      ['name: bad', 'title: Bad', 'connection: direct', 'accuracy:', '  - { current: 10imin, pf: unity }', ''].join(
        '\n',
      ),
    );
    const problems = problemsOf(() =>
      loadSuiteFile(suite('{ midClass: B, unV: 230, fnHz: 50, itrA: 0.5, imaxA: 40 }', bad)),
    );
    expect(problems[0]!.field).toBe('plan');
    expect(problems[0]!.message).toContain(`${bad}:5:`);
    expect(problems[0]!.message).toContain('accuracy[0].current');
  });
});
