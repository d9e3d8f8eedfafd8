import { z } from 'zod';
import {
  IEC_62053_21_NO_LOAD_CLAUSE,
  IEC_62053_21_NO_LOAD_MAX_PULSES,
  IEC_62053_21_NO_LOAD_VOLTAGE,
} from '../analysis/standards/iec62053.js';
import {
  MID_CONNECTIONS,
  MID_CURRENT_TABLE,
  MID_CURRENTS_CLAUSE,
  MID_DISTURBANCES,
  MID_RATED_RANGES,
  MID_STARTING_CLAUSE,
  type MidClass,
} from '../analysis/standards/mid.js';
import { parseYamlWithSchema, readDataFile } from '../core/files/load-yaml.js';

/**
 * A metrology test plan as data (e.g. `suites/plans/mid-mi003-direct.yaml`): which test points, influence
 * conditions, disturbances, no-load and starting tests a type test runs, every current, power factor, voltage and
 * frequency named by the standard's own quantities (Ist, Imin, Itr, Imax; §2.2's range ends) instead of numbers.
 * A suite names a plan and declares the meter (class, Un, fn, Itr, Imax, meter constant); `expandTestPlan` turns
 * the two into the suite's cases, taking every bound and limit from the standards tables of `analysis/standards/`.
 */

/** A current as the standard names it: ist, imin, itr, imax, or a multiple of itr or imax ("10itr", "0.5imax"). */
const CURRENT_RE = /^(ist|imin|itr|imax|(\d+(?:\.\d+)?)(itr|imax))$/;
const currentSchema = z.string().regex(CURRENT_RE, 'ist, imin, itr, imax, or a multiple such as 10itr or 0.5imax');
/** Power factor: unity, or an end of MI-003 §2.2's range. */
const pfSchema = z.enum(['unity', 'min-inductive', 'max-capacitive']).default('unity');
/** A supply quantity: nominal, or an end of MI-003 §2.2's range. */
const supplySchema = z.enum(['nominal', 'min', 'max']).default('nominal');

/**
 * Where a point's load draws on a polyphase meter (a plan with `phases: 3`): on all three phases, balanced, or on
 * one phase only (MI-003 Table 2's row for a polyphase meter with a single-phase load, from Itr up).
 */
const loadSchema = z.enum(['balanced', 'L1', 'L2', 'L3']).default('balanced');
const pointSchema = z.object({ current: currentSchema, pf: pfSchema, load: loadSchema }).strict();

export const testPlanSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    /** Which half of MI-003 Table 1 bounds the declared currents. */
    connection: z.enum(MID_CONNECTIONS),
    /** 1: a single-phase meter; 3: a polyphase meter on a three-phase supply (currents are per phase). */
    phases: z.union([z.literal(1), z.literal(3)]).default(1),
    /** How long each test point's load runs, and the pause before it (s). */
    dwellS: z.number().min(10).max(86_400).default(300),
    settleS: z.number().min(1).max(3600).default(30),
    /** Consecutive gates per point: the repeatability's n (type A uncertainty s/√n). */
    repeatability: z.number().int().min(2).max(50).default(5),
    accuracy: z.array(pointSchema).min(1),
    /** Points repeated with the supply at an end of MI-003 §2.2's range: Table 2's MPE still applies. */
    influence: z.array(pointSchema.extend({ voltage: supplySchema, frequency: supplySchema }).strict()).default([]),
    /** Points repeated with a disturbance; the error may move by at most Table 3's critical change. */
    disturbances: z
      .array(
        pointSchema
          .extend({
            id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
            disturbance: z.enum(MID_DISTURBANCES),
            /**
             * For harmonics: the order, the current's content |I_h| / |I_1| and the supply's |U_h| / |U_1| (in
             * phase at the zero crossing, so the harmonic carries active power a meter must register).
             */
            harmonic: z
              .object({
                order: z.union([z.literal(3), z.literal(5)]),
                ratio: z.number().gt(0).max(1),
                voltageRatio: z.number().min(0).max(0.1).optional(),
              })
              .strict(),
          })
          .strict(),
      )
      .default([]),
    /** No-load (creep) test: its length; the voltage is IEC 62053-21's 115 % Un. */
    noLoad: z
      .object({ periodS: z.number().min(60).max(86_400) })
      .strict()
      .optional(),
    /** Starting test at Ist: long enough for this many of the meter's pulses at Ist. */
    starting: z
      .object({ pulses: z.number().int().min(2).max(100) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const points: Array<[string, number, z.output<typeof pointSchema>]> = [
      ...p.accuracy.map((pt, i) => ['accuracy', i, pt] as [string, number, z.output<typeof pointSchema>]),
      ...p.influence.map((pt, i) => ['influence', i, pt] as [string, number, z.output<typeof pointSchema>]),
      ...p.disturbances.map((pt, i) => ['disturbances', i, pt] as [string, number, z.output<typeof pointSchema>]),
    ];
    for (const [part, i, pt] of points) {
      if (pt.load !== 'balanced' && p.phases !== 3)
        ctx.addIssue({
          code: 'custom',
          path: [part, i, 'load'],
          message: `a load on ${pt.load} needs a polyphase plan (phases: 3)`,
        });
      if (pt.load !== 'balanced' && !atOrAboveItr(pt.current))
        ctx.addIssue({
          code: 'custom',
          path: [part, i, 'current'],
          message: `MI-003 Table 2 has an MPE for a polyphase meter with a single-phase load from Itr up, not at ${pt.current}`,
        });
    }
    p.influence.forEach((pt, i) => {
      if (pt.voltage === 'nominal' && pt.frequency === 'nominal')
        ctx.addIssue({
          code: 'custom',
          path: ['influence', i],
          message:
            'an influence point moves the voltage or the frequency (min or max); at nominal it is an accuracy point',
        });
    });
    const ids = p.disturbances.map((d) => d.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        ctx.addIssue({ code: 'custom', path: ['disturbances', i, 'id'], message: `duplicate id ${id}` });
    });
    p.disturbances.forEach((d, i) => {
      if (d.disturbance !== 'harmonics')
        ctx.addIssue({
          code: 'custom',
          path: ['disturbances', i, 'disturbance'],
          message: `the bench can apply harmonics; ${d.disturbance} needs equipment it has no driver for`,
        });
    });
  });

export type TestPlan = z.output<typeof testPlanSchema>;

/** Whether a named current is at least Itr whatever the declaration (Imax ≥ 50 Itr by Table 1: 0.02 Imax is Itr). */
function atOrAboveItr(expr: string): boolean {
  const m = CURRENT_RE.exec(expr);
  if (!m) return false;
  if (m[2] === undefined) return m[1] === 'itr' || m[1] === 'imax';
  return m[3] === 'itr' ? Number(m[2]) >= 1 : Number(m[2]) >= 0.02;
}

export function loadTestPlanFile(file: string): TestPlan {
  return parseYamlWithSchema(readDataFile(file), file, testPlanSchema);
}

/** What the suite declares of the meter under test (MI-003 §2.1: the manufacturer specifies them). */
export interface MeterDeclaration {
  midClass: MidClass;
  unV: number;
  fnHz: number;
  itrA: number;
  imaxA: number;
  /** Declared Imin and Ist; omitted: the class's Table 1 bound. */
  iminA?: number;
  istA?: number;
  /** Pulses per kWh of the meter's test output (sizes the starting test). */
  impPerKWh?: number;
}

/** The suite parameters that carry a declaration, for messages. */
export const DECLARATION_PARAMS = ['midClass', 'unV', 'fnHz', 'itrA', 'imaxA', 'iminA', 'istA', 'impPerKWh'] as const;

/** A problem with the declaration against the plan, and the suite parameter it is about. */
export interface DeclarationProblem {
  param: (typeof DECLARATION_PARAMS)[number];
  message: string;
}

/** The declaration's currents, checked against MI-003 Table 1 for the plan's connection. */
export function declaredCurrents(
  plan: TestPlan,
  d: MeterDeclaration,
): { ist: number; imin: number; itr: number; imax: number; problems: DeclarationProblem[] } {
  const bounds = MID_CURRENT_TABLE[plan.connection][d.midClass];
  const problems: DeclarationProblem[] = [];
  const imin = d.iminA ?? bounds.iminMaxItr * d.itrA;
  const ist = d.istA ?? bounds.istMaxItr * d.itrA;
  const where = `${MID_CURRENTS_CLAUSE}, class ${d.midClass}, ${plan.connection}-connected`;
  if (imin > bounds.iminMaxItr * d.itrA * (1 + 1e-9))
    problems.push({ param: 'iminA', message: `Imin ${imin} A is above ${bounds.iminMaxItr} · Itr (${where})` });
  if (ist > bounds.istMaxItr * d.itrA * (1 + 1e-9))
    problems.push({ param: 'istA', message: `Ist ${ist} A is above ${bounds.istMaxItr} · Itr (${where})` });
  if (d.imaxA < bounds.imaxMinItr * d.itrA * (1 - 1e-9))
    problems.push({ param: 'imaxA', message: `Imax ${d.imaxA} A is below ${bounds.imaxMinItr} · Itr (${where})` });
  return { ist, imin, itr: d.itrA, imax: d.imaxA, problems };
}

function currentOf(expr: string, c: { ist: number; imin: number; itr: number; imax: number }): number {
  const m = CURRENT_RE.exec(expr)!;
  if (m[2] === undefined) return c[m[1] as 'ist' | 'imin' | 'itr' | 'imax'];
  return Number(m[2]) * c[m[3] as 'itr' | 'imax'];
}

const PF_VALUE: Record<z.output<typeof pfSchema>, number> = {
  unity: 1,
  'min-inductive': MID_RATED_RANGES.powerFactor.minInductive,
  'max-capacitive': MID_RATED_RANGES.powerFactor.maxCapacitive,
};
/** 0.5 inductive → "05l", 0.8 capacitive → "08c": the point ids the reports and earlier runs use. */
const PF_TAG: Record<z.output<typeof pfSchema>, string> = {
  unity: '1',
  'min-inductive': `${String(MID_RATED_RANGES.powerFactor.minInductive).replace('.', '')}l`,
  'max-capacitive': `${String(-MID_RATED_RANGES.powerFactor.maxCapacitive).replace('.', '')}c`,
};

function supplyFactor(kind: 'voltage' | 'frequency', at: 'nominal' | 'min' | 'max'): number {
  return at === 'nominal' ? 1 : MID_RATED_RANGES[kind][at];
}

/** A case as the suite schema reads it (criteria may take their limit from a table). */
export interface PlannedCase {
  id: string;
  title: string;
  requires: string[];
  scenario: Record<string, unknown>;
  params: Record<string, number | string | boolean>;
  criteria: Array<Record<string, unknown>>;
}

/** Fixed start of every planned scenario: the points run in a lab hour, away from any tariff band change. */
const PLAN_START = '2026-03-11T10:00:00Z';
/** The supply's own distortion during metrology (as the built-in scenarios' default supply). */
const SUPPLY_DISTORTION = { h3: 0.01, h5: 0.006 };
/** A point's draw varies by this fraction (a lab load's stability), so repeatability is measured, not zero. */
const POINT_NOISE = 0.001;

interface ScheduledPoint {
  id: string;
  description: string;
  source: string;
  /** Per phase. */
  currentA: number;
  pf: number;
  load: z.output<typeof loadSchema>;
  harmonics?: Array<{ order: number; ratio: number }>;
}

/** One scenario running `points` one after another at supply voltage `u` and frequency `f`. */
function pointsScenario(
  name: string,
  plan: TestPlan,
  points: ScheduledPoint[],
  u: number,
  f: number,
  distortion: { h3?: number; h5?: number } = {},
) {
  const period = plan.settleS + plan.dwellS;
  return {
    name,
    start: PLAN_START,
    durationS: points.length * period + plan.settleS,
    frequency: f,
    ...(plan.phases === 3 && { phases: 3 }),
    voltage: { nominal: u, ...SUPPLY_DISTORTION, ...distortion },
    profiles: points.map((p) => ({
      name: `tp-${p.id}`,
      class: 'test-point',
      description: p.description,
      source: p.source,
      noise: POINT_NOISE,
      states: [
        {
          name: 'on',
          // The current is per phase: a balanced polyphase point draws it on each of the three.
          p: round(u * p.currentA * Math.abs(p.pf) * (plan.phases === 3 && p.load === 'balanced' ? 3 : 1)),
          pf: p.pf,
          ...(p.harmonics && { harmonics: p.harmonics }),
        },
      ],
    })),
    houses: [
      {
        id: 'meter-under-test',
        contract: 'C-LAB',
        baseLoadW: 0,
        loads: points.map((p, i) => ({
          id: p.id,
          profile: `tp-${p.id}`,
          on: plan.settleS + i * period,
          off: (i + 1) * period,
          ...(plan.phases === 3 && { phase: p.load === 'balanced' ? 'L1L2L3' : p.load }),
        })),
      },
    ],
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The accuracy criteria (Table 2's MPE under the suite's decision rule), for the accuracy and influence cases. */
function accuracyCriteria(): Array<Record<string, unknown>> {
  return [
    {
      metric: 'metrology.max_error_ratio',
      op: '<=',
      limit: 1,
      marginal: 0.8,
      unit: '1',
      clause: 'MID 2014/32/EU Annex V MI-003 table 2 (|error| ≤ MPE of the class)',
    },
    {
      metric: 'metrology.points_beyond_mpe',
      op: '==',
      limit: 0,
      unit: 'count',
      clause:
        'MID 2014/32/EU Annex V MI-003 table 2 with ILAC-G8:09/2019 (|e| > MPE: a fail or conditional fail under any decision rule)',
    },
    {
      metric: 'metrology.conditional_passes_refused',
      op: '==',
      limit: 0,
      unit: 'count',
      clause:
        'ILAC-G8:09/2019 guarded acceptance (decisionRule guarded: |e| + U ≤ MPE, U per JCGM 100:2008 with k = 2; a conditional pass is not a pass)',
    },
    // The largest MPE of the class (the one below Itr) bounds every point's error.
    { metric: 'metrology.max_error_pct', op: '<=', limitFrom: { table: 'mid.mpe', current: 'imin-itr' }, unit: '%' },
  ];
}

/** A point's id: its current and power factor ("10itr-pf1", "05imax-pf08c": ids take no dots). */
function pointId(current: string, pf: z.output<typeof pfSchema>): string {
  return `${current.replace('.', '')}-pf${PF_TAG[pf]}`;
}

function pointText(current: string, pf: z.output<typeof pfSchema>): string {
  const c = current.replace(/^(\d+(?:\.\d+)?)(itr|imax)$/, '$1·$2').replace(/i(st|min|tr|max)/g, 'I$1');
  const p =
    pf === 'unity'
      ? 'PF 1'
      : pf === 'min-inductive'
        ? `PF ${PF_VALUE[pf]} inductive`
        : `PF ${-PF_VALUE[pf]} capacitive`;
  return `${c} at ${p}`;
}

/**
 * The suite's cases for a plan and a meter declaration: `test-points` (accuracy), one `influence-…` case per supply
 * condition, one `disturbance-…` case per disturbance (its point and the same point without it), `no-load-creep`
 * and `starting`. Throws nothing: declaration problems come back for the suite loader to place.
 */
export function expandTestPlan(
  plan: TestPlan,
  d: MeterDeclaration,
): { cases: PlannedCase[]; problems: DeclarationProblem[] } {
  const currents = declaredCurrents(plan, d);
  const common = { itrA: d.itrA, metrologyGates: plan.repeatability };
  const cases: PlannedCase[] = [];
  const source = `${plan.name}: ${MID_CURRENTS_CLAUSE} and §2.2`;
  const point = (
    p: { current: string; pf: z.output<typeof pfSchema>; load?: z.output<typeof loadSchema> },
    idSuffix = '',
  ): ScheduledPoint => {
    const load = p.load ?? 'balanced';
    const on = load === 'balanced' ? '' : `-${load.toLowerCase()}`;
    return {
      id: `${pointId(p.current, p.pf)}${on}${idSuffix}`,
      description: `${pointText(p.current, p.pf)}${load === 'balanced' ? (plan.phases === 3 ? ', balanced' : '') : `, on ${load} only`}`,
      source,
      currentA: currentOf(p.current, currents),
      pf: PF_VALUE[p.pf],
      load,
    };
  };

  cases.push({
    id: 'test-points',
    title: `Energy error at ${plan.accuracy.map((p) => point(p).description).join(plan.phases === 3 ? '; ' : ', ')}`,
    requires: ['load.setpoints', 'meter.measurements'],
    scenario: pointsScenario(
      `${plan.name}-test-points`,
      plan,
      plan.accuracy.map((p) => point(p)),
      d.unV,
      d.fnHz,
    ),
    params: { metrology: true, ...common },
    criteria: accuracyCriteria(),
  });

  const conditions = new Map<string, Array<(typeof plan.influence)[number]>>();
  for (const p of plan.influence) {
    const key = `${p.voltage}/${p.frequency}`;
    conditions.set(key, [...(conditions.get(key) ?? []), p]);
  }
  for (const points of conditions.values()) {
    const { voltage, frequency } = points[0]!;
    const u = d.unV * supplyFactor('voltage', voltage);
    const f = d.fnHz * supplyFactor('frequency', frequency);
    const tags = [
      ...(voltage === 'nominal' ? [] : [`voltage-${supplyFactor('voltage', voltage)}un`]),
      ...(frequency === 'nominal' ? [] : [`frequency-${supplyFactor('frequency', frequency)}fn`]),
    ];
    const text = [
      ...(voltage === 'nominal' ? [] : [`U = ${supplyFactor('voltage', voltage)} Un (${round(u)} V)`]),
      ...(frequency === 'nominal' ? [] : [`f = ${supplyFactor('frequency', frequency)} fn (${round(f)} Hz)`]),
    ].join(', ');
    cases.push({
      id: `influence-${tags.join('-').replaceAll('.', '')}`,
      title: `Energy error with ${text} (${MID_RATED_RANGES_TEXT}): ${points.map((p) => pointText(p.current, p.pf)).join(', ')}`,
      requires: [
        'load.setpoints',
        'meter.measurements',
        ...(voltage === 'nominal' ? [] : ['supply.voltage']),
        ...(frequency === 'nominal' ? [] : ['supply.frequency']),
      ],
      scenario: pointsScenario(
        `${plan.name}-influence`,
        plan,
        points.map((p) => point(p)),
        u,
        f,
      ),
      params: { metrology: true, ...common },
      criteria: accuracyCriteria(),
    });
  }

  for (const dist of plan.disturbances) {
    const base = point(dist, '-reference');
    const disturbed = {
      ...point(dist),
      id: dist.id,
      description: `${pointText(dist.current, dist.pf)} with ${Math.round(dist.harmonic.ratio * 100)} % of harmonic ${dist.harmonic.order} in the current${dist.harmonic.voltageRatio === undefined ? '' : ` and ${Math.round(dist.harmonic.voltageRatio * 100)} % in the voltage`}`,
      harmonics: [{ order: dist.harmonic.order, ratio: dist.harmonic.ratio }],
    };
    cases.push({
      id: `disturbance-${dist.id}`,
      title: `Change of error with ${disturbed.description} (against the same point without it)`,
      requires: ['load.setpoints', 'load.waveform', 'meter.measurements'],
      scenario: pointsScenario(
        `${plan.name}-${dist.id}`,
        plan,
        [base, disturbed],
        d.unV,
        d.fnHz,
        dist.harmonic.voltageRatio === undefined ? {} : { [`h${dist.harmonic.order}`]: dist.harmonic.voltageRatio },
      ),
      params: { metrology: true, ...common, referencePoint: base.id },
      criteria: [
        {
          metric: 'metrology.max_error_shift_pct',
          op: '<=',
          limitFrom: { table: 'mid.critical-change', disturbance: dist.disturbance },
          unit: '%',
        },
      ],
    });
  }

  if (plan.noLoad) {
    const u = d.unV * IEC_62053_21_NO_LOAD_VOLTAGE;
    cases.push({
      id: 'no-load-creep',
      title: `No-load creep at ${round(IEC_62053_21_NO_LOAD_VOLTAGE * 100)} % Un (${round(u)} V) with no current for ${plan.noLoad.periodS} s`,
      requires: ['meter.measurements', 'pulse.count', 'supply.voltage'],
      scenario: {
        name: `${plan.name}-no-load`,
        start: PLAN_START,
        durationS: plan.noLoad.periodS,
        frequency: d.fnHz,
        voltage: { nominal: round(u), ...SUPPLY_DISTORTION },
        houses: [{ id: 'meter-under-test', contract: 'C-LAB', baseLoadW: 0 }],
      },
      params: { creep: true },
      criteria: [
        {
          metric: 'metrology.creep_pulses',
          op: '<=',
          limit: IEC_62053_21_NO_LOAD_MAX_PULSES,
          unit: 'count',
          clause: IEC_62053_21_NO_LOAD_CLAUSE,
        },
      ],
    });
  }

  if (plan.starting) {
    const problems =
      d.impPerKWh === undefined
        ? [
            {
              param: 'impPerKWh' as const,
              message: `the starting test needs the meter constant (imp/kWh) to size its period`,
            },
          ]
        : [];
    currents.problems.push(...problems);
    if (d.impPerKWh !== undefined) {
      const pulseS = 3.6e6 / (d.impPerKWh * d.unV * currents.ist);
      const periodS = Math.ceil(plan.starting.pulses * pulseS);
      cases.push({
        id: 'starting',
        title: `Starting at Ist = ${round(currents.ist)} A, PF 1, for ${periodS} s (${plan.starting.pulses} pulses' worth)`,
        requires: ['load.setpoints', 'meter.measurements'],
        scenario: pointsScenario(
          `${plan.name}-starting`,
          { ...plan, dwellS: periodS },
          [{ ...point({ current: 'ist', pf: 'unity' }), id: 'ist-pf1' }],
          d.unV,
          d.fnHz,
        ),
        params: { starting: true, itrA: d.itrA },
        criteria: [
          { metric: 'metrology.starting_gaps', op: '==', limit: 0, unit: 'count', clause: MID_STARTING_CLAUSE },
        ],
      });
    }
  }
  return { cases, problems: currents.problems };
}

const MID_RATED_RANGES_TEXT = "an end of MI-003 §2.2's rated range";
