import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { Criterion } from '../analysis/criteria.js';
import { METRICS, metricInfo } from '../analysis/metric-catalog.js';
import {
  findMidMpe,
  isMidClass,
  MID_CRITICAL_CHANGE_CLAUSE,
  MID_CURRENT_RANGES,
  MID_DISTURBANCES,
  MID_LOADS,
  MID_MPE_CLAUSE,
  MID_TEMPERATURES,
  midCriticalChange,
} from '../analysis/standards/mid.js';
import { formatLocation, InputError, NotFoundError } from '../core/errors.js';
import { formatFieldPath, parseYamlWithSchema, readDataFile } from '../core/files/load-yaml.js';
import { CAPABILITIES } from '../core/rig.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { meterConfigSchema } from '../meter/config.js';
import { loadScenarioFile, resolveScenarioPath, unknownProfiles } from '../profiles/scenario.js';
import { scenarioSchema } from '../profiles/scenario-schema.js';
import { expandTestPlan, loadTestPlanFile, type MeterDeclaration, type TestPlan } from './test-plan.js';

const bound = z.union([z.number(), z.tuple([z.number(), z.number()])]);

/**
 * A limit taken from a standards table instead of written by hand: `table` names the table, the other keys pick
 * its cell; the accuracy class comes from the suite's (or the case's) `midClass` parameter at load.
 */
export const limitFromSchema = z.discriminatedUnion('table', [
  z
    .object({
      table: z.literal('mid.mpe').describe(`${MID_MPE_CLAUSE}: maximum permissible error by class`),
      current: z.enum(MID_CURRENT_RANGES).describe('load current range of the cell: imin-itr or itr-imax'),
      load: z.enum(MID_LOADS).default('single-phase'),
      temperature: z.enum(MID_TEMPERATURES).default('+5..+30'),
    })
    .strict(),
  z
    .object({
      table: z
        .literal('mid.critical-change')
        .describe(`${MID_CRITICAL_CHANGE_CLAUSE}: critical change value by class and disturbance`),
      disturbance: z.enum(MID_DISTURBANCES),
    })
    .strict(),
]);

/** Ops an MPE can bound: a maximum permissible error limits the size of an error, never its floor. */
const MPE_OPS = new Set(['<=', '<', 'abs<=']);

export const criterionSchema = z
  .object({
    metric: z.string().refine((m) => metricInfo(m) !== undefined, {
      message: `unknown metric; known metrics: ${Object.keys(METRICS).join(', ')}`,
    }),
    op: z.enum(['<=', '<', '>=', '>', '==', 'abs<=', 'between']),
    limit: bound.optional(),
    /** The limit from a standards table (resolved at suite load); instead of `limit`. */
    limitFrom: limitFromSchema.optional(),
    marginal: bound.optional(),
    /** With limitFrom: the marginal band's inner edge as a fraction of the resolved limit (0 < f < 1). */
    marginalFraction: z.number().gt(0).lt(1).optional(),
    unit: z.string(),
    clause: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const info = metricInfo(c.metric);
    if (info && info.unit !== c.unit) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `unit of ${c.metric} is "${info.unit}", not "${c.unit}"`,
      });
    }
    if ((c.limit === undefined) === (c.limitFrom === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['limit'], message: 'give either limit or limitFrom (exactly one)' });
    }
    if (c.limitFrom) {
      if (!MPE_OPS.has(c.op)) {
        ctx.addIssue({
          code: 'custom',
          path: ['op'],
          message: `a limit from ${c.limitFrom.table} bounds an error: op must be <=, < or abs<=, not ${c.op}`,
        });
      }
      if (c.unit !== '%') {
        ctx.addIssue({ code: 'custom', path: ['unit'], message: `${c.limitFrom.table} is in %, not "${c.unit}"` });
      }
      // Hand-written numbers or citations next to a table limit could disagree with it for another class.
      if (c.marginal !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['marginal'],
          message: 'with limitFrom, give marginalFraction (a fraction of the resolved limit), not a number',
        });
      }
      if (c.clause !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['clause'],
          message: `with limitFrom the clause is the table's citation; remove it`,
        });
      }
    } else if (c.marginalFraction !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['marginalFraction'], message: 'marginalFraction needs limitFrom' });
    }
    const ranged = c.op === 'between';
    for (const key of ['limit', 'marginal'] as const) {
      const v = c[key];
      if (v !== undefined && Array.isArray(v) !== ranged) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: ranged ? '`between` needs [low, high]' : `\`${c.op}\` needs a single number`,
        });
      }
    }
    if (Array.isArray(c.limit) && c.limit[0] > c.limit[1]) {
      ctx.addIssue({ code: 'custom', path: ['limit'], message: 'low bound is above high bound' });
    }
    if (c.marginal !== undefined && c.limit !== undefined && !Array.isArray(c.marginal) && !Array.isArray(c.limit)) {
      const tighter = c.op.startsWith('<') || c.op === 'abs<=' ? c.marginal <= c.limit : c.marginal >= c.limit;
      if (!tighter) {
        ctx.addIssue({ code: 'custom', path: ['marginal'], message: 'marginal must lie inside the limit' });
      }
    }
    if (Array.isArray(c.marginal) && Array.isArray(c.limit)) {
      if (c.marginal[0] < c.limit[0] || c.marginal[1] > c.limit[1]) {
        ctx.addIssue({ code: 'custom', path: ['marginal'], message: 'marginal must lie inside the limit' });
      }
    }
  });

export type CriterionInput = z.output<typeof criterionSchema>;

export const scenarioRefSchema = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const caseSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    description: z.string().optional(),
    requires: z.array(z.enum(CAPABILITIES)).default([]),
    /** A built-in scenario name, a scenario file path (relative to the suite), or an inline scenario. */
    scenario: scenarioRefSchema,
    /** Meter configuration for this case (e.g. an injected outage); merged over --meter-config. */
    meter: z.record(z.string(), z.unknown()).optional(),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    timeLimitS: z.number().positive().default(600),
    criteria: z.array(criterionSchema).min(1),
  })
  .strict();

export const suiteSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    version: z.number().int().positive(),
    title: z.string().min(1),
    description: z.string().optional(),
    /** Suite-wide parameters (e.g. midClass, matchToleranceS); cases' params override them. */
    parameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    /**
     * A metrology test plan (a file relative to the suite, e.g. plans/mid-mi003-direct.yaml): its cases are added to
     * the suite's, built from the plan and the meter declared in `parameters` (midClass, unV, fnHz, itrA, imaxA,
     * iminA?, istA?, impPerKWh).
     */
    plan: z.string().min(1).optional(),
    cases: z.array(caseSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.cases.length === 0 && s.plan === undefined)
      ctx.addIssue({ code: 'custom', path: ['cases'], message: 'a suite needs cases, or a plan to build them from' });
    const seen = new Set<string>();
    s.cases.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'id'], message: `duplicate case id ${c.id}` });
      seen.add(c.id);
    });
    const badClass = (v: unknown) => v !== undefined && !isMidClass(v);
    if (badClass(s.parameters.midClass)) {
      ctx.addIssue({ code: 'custom', path: ['parameters', 'midClass'], message: 'MID class must be A, B or C' });
    }
    s.cases.forEach((c, i) => {
      if (badClass(c.params.midClass)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cases', i, 'params', 'midClass'],
          message: 'MID class must be A, B or C',
        });
      }
    });
  })
  .transform((s, ctx) => ({
    ...s,
    cases: s.cases.map((c, i) => ({
      ...c,
      criteria: c.criteria.map((cr, j) =>
        resolveCriterion(cr, { ...s.parameters, ...c.params }, (message) =>
          ctx.issues.push({ code: 'custom', path: ['cases', i, 'criteria', j, 'limitFrom'], message, input: cr }),
        ),
      ),
    })),
  }));

export type Suite = z.output<typeof suiteSchema>;
export type SuiteCase = Suite['cases'][number];

/**
 * A criterion with its limit as a number: a `limitFrom` is looked up in its standards table with the case's
 * parameters (the case's `midClass` over the suite's, as the executor merges them), its marginal band derived
 * inside the limit, and the table's citation as the clause. Plain criteria pass through.
 */
export function resolveCriterion(
  c: CriterionInput,
  params: Readonly<Record<string, unknown>>,
  problem: (message: string) => void,
): Criterion {
  const { limitFrom, marginalFraction, limit, ...rest } = c;
  if (!limitFrom) return { ...rest, limit: limit! };
  const midClass = params.midClass;
  if (!isMidClass(midClass)) {
    problem(`${limitFrom.table} needs the suite parameter midClass (A, B or C)`);
    return { ...rest, limit: Number.NaN };
  }
  const cell =
    limitFrom.table === 'mid.critical-change'
      ? midCriticalChange(limitFrom.disturbance, midClass)
      : findMidMpe({ midClass, ...limitFrom });
  if (!cell) {
    const where = limitFrom.table === 'mid.mpe' ? `a ${limitFrom.load} load at ${limitFrom.current}` : '';
    problem(`${MID_MPE_CLAUSE} has no MPE for ${where}`);
    return { ...rest, limit: Number.NaN };
  }
  const keys =
    limitFrom.table === 'mid.critical-change'
      ? `class ${midClass} (midClass), ${limitFrom.disturbance}`
      : `class ${midClass} (midClass), ${limitFrom.current}, ${limitFrom.load}, ${limitFrom.temperature} °C`;
  return {
    ...rest,
    limit: cell.mpePct,
    ...(marginalFraction === undefined ? {} : { marginal: cell.mpePct * marginalFraction }),
    clause: cell.citation,
    source: `${limitFrom.table}[${keys}] = ${cell.mpePct} %${marginalFraction === undefined ? '' : `; marginal ${marginalFraction} × limit`}`,
  };
}

export interface LoadedSuite {
  suite: Suite;
  file: string;
  sha256: string;
}

export const BUILTIN_SUITES_DIR = join(PACKAGE_ROOT, 'suites');

/**
 * What each case points at, checked when the suite is read (so `suite validate` and `certify` refuse it before any
 * run exists): a scenario file must exist and be valid (its own problems keep their file:line), an inline scenario
 * and a case's meter settings must be valid (reported at their lines in the suite file).
 */
function caseInputsCheck(suiteFile: string) {
  return (s: Suite, ctx: z.RefinementCtx) => {
    const meterOverride = meterConfigSchema.partial().strict();
    s.cases.forEach((c, i) => {
      if (typeof c.scenario === 'string') {
        const file = resolveScenarioPath(c.scenario, dirname(suiteFile));
        try {
          loadScenarioFile(file);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          const message =
            e instanceof NotFoundError
              ? `scenario file ${file} not found (a path relative to the suite file)`
              : `scenario ${file} is not valid:${e.problems.map((p) => `\n      ${formatLocation(p)}: ${p.message}`).join('')}`;
          ctx.addIssue({ code: 'custom', path: ['cases', i, 'scenario'], message });
        }
      } else {
        const r = scenarioSchema.safeParse(c.scenario);
        if (!r.success)
          for (const issue of r.error.issues)
            ctx.addIssue({ code: 'custom', path: ['cases', i, 'scenario', ...issue.path], message: issue.message });
        else
          for (const p of unknownProfiles(r.data))
            ctx.addIssue({ code: 'custom', path: ['cases', i, 'scenario', ...p.path], message: p.message });
      }
      if (c.meter !== undefined) {
        const r = meterOverride.safeParse(c.meter);
        if (!r.success)
          for (const issue of r.error.issues) {
            const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
            for (const k of keys)
              ctx.addIssue({
                code: 'custom',
                path: ['cases', i, 'meter', ...(issue.path as PropertyKey[]), ...(k === undefined ? [] : [k])],
                message: k === undefined ? issue.message : `unknown meter setting "${k}"`,
              });
          }
      }
    });
  };
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The meter declaration a plan needs, from the suite's parameters; problems name the parameter. */
function declarationOf(
  params: Readonly<Record<string, unknown>>,
  problem: (param: string, message: string) => void,
): MeterDeclaration | undefined {
  const midClass = params.midClass;
  if (!isMidClass(midClass)) problem('midClass', 'a plan needs the meter class: midClass A, B or C');
  for (const k of ['unV', 'fnHz', 'itrA', 'imaxA'] as const)
    if (!positive(params[k])) problem(k, `a plan needs the meter's declared ${k} (a number above 0)`);
  for (const k of ['iminA', 'istA', 'impPerKWh'] as const)
    if (params[k] !== undefined && !positive(params[k])) problem(k, `${k} must be a number above 0`);
  if (!isMidClass(midClass) || !['unV', 'fnHz', 'itrA', 'imaxA'].every((k) => positive(params[k]))) return undefined;
  const num = (k: string) => (params[k] === undefined ? undefined : Number(params[k]));
  return {
    midClass,
    unV: Number(params.unV),
    fnHz: Number(params.fnHz),
    itrA: Number(params.itrA),
    imaxA: Number(params.imaxA),
    ...(num('iminA') !== undefined && { iminA: num('iminA') }),
    ...(num('istA') !== undefined && { istA: num('istA') }),
    ...(num('impPerKWh') !== undefined && { impPerKWh: num('impPerKWh') }),
  };
}

/**
 * A suite's plan, read and expanded when the suite is read: the plan file's own problems keep their file:line, the
 * declaration's are placed at the suite's parameters, and the planned cases join the suite's own (after them).
 */
function withPlannedCases(suiteFile: string) {
  return (s: Suite, ctx: z.RefinementCtx<Suite>): Suite => {
    if (s.plan === undefined) return s;
    const file = resolveScenarioPath(s.plan, dirname(suiteFile));
    let plan: TestPlan;
    try {
      plan = loadTestPlanFile(file);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const message =
        e instanceof NotFoundError
          ? `test plan ${file} not found (a path relative to the suite file)`
          : `test plan ${file} is not valid:${e.problems.map((p) => `\n      ${formatLocation(p)}: ${p.message}`).join('')}`;
      ctx.addIssue({ code: 'custom', path: ['plan'], message });
      return s;
    }
    const problem = (param: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: ['parameters', param], message: `${message} (plan ${plan.name})` });
    const declaration = declarationOf(s.parameters, problem);
    if (!declaration) return s;
    const { cases, problems } = expandTestPlan(plan, declaration);
    for (const p of problems) problem(p.param, p.message);
    const ids = new Set(s.cases.map((c) => c.id));
    const planned: SuiteCase[] = [];
    for (const c of cases) {
      if (ids.has(c.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cases'],
          message: `case id ${c.id} is also a case of plan ${plan.name}`,
        });
        continue;
      }
      const scenario = scenarioSchema.safeParse(c.scenario);
      const parsed = caseSchema.safeParse(c);
      if (!scenario.success || !parsed.success) {
        const issue = (scenario.error ?? parsed.error)!.issues[0]!;
        ctx.addIssue({
          code: 'custom',
          path: ['plan'],
          message: `plan ${plan.name} gives case ${c.id} an impossible ${formatFieldPath(issue.path as PropertyKey[])}: ${issue.message}`,
        });
        continue;
      }
      planned.push({
        ...parsed.data,
        criteria: parsed.data.criteria.map((cr) =>
          resolveCriterion(cr, { ...s.parameters, ...parsed.data.params }, (message) =>
            ctx.addIssue({ code: 'custom', path: ['plan'], message: `case ${c.id}: ${message}` }),
          ),
        ),
      });
    }
    return { ...s, cases: [...s.cases, ...planned] };
  };
}

/**
 * A case whose scenario has a three-phase supply requires a rig that has one (`supply.three-phase`), whether the
 * suite says so or not: a single-phase bench answers it NOT RUN with the reason rather than playing it on L1.
 */
function withScenarioRequirements(suiteFile: string) {
  return (s: Suite): Suite => ({
    ...s,
    cases: s.cases.map((c) => {
      if (c.requires.includes('supply.three-phase')) return c;
      const scenario =
        typeof c.scenario === 'string'
          ? loadScenarioFile(resolveScenarioPath(c.scenario, dirname(suiteFile)))
          : scenarioSchema.parse(c.scenario);
      return scenario.phases === 3 ? { ...c, requires: [...c.requires, 'supply.three-phase'] } : c;
    }),
  });
}

export function loadSuiteFile(file: string): LoadedSuite {
  const text = readDataFile(file);
  const suite = parseYamlWithSchema(
    text,
    file,
    suiteSchema
      .superRefine(caseInputsCheck(file))
      .transform(withPlannedCases(file))
      .transform(withScenarioRequirements(file)),
  );
  // The plan is part of what the suite is: its text joins the suite's in the hash a run records.
  const hash = createHash('sha256').update(text);
  if (suite.plan !== undefined) hash.update(readDataFile(resolveScenarioPath(suite.plan, dirname(file))));
  return { suite, file, sha256: hash.digest('hex') };
}

/** A suite reference is a built-in name (`ev-billing`) or a path to a YAML file. */
export function resolveSuite(ref: string): LoadedSuite {
  if (/\.(ya?ml|json)$/.test(ref) || ref.includes('/')) return loadSuiteFile(ref);
  const file = join(BUILTIN_SUITES_DIR, `${ref}.yaml`);
  if (!existsSync(file)) {
    throw new NotFoundError(
      `no built-in suite named ${ref}`,
      [{ file: ref, message: 'unknown suite' }],
      [`Built-in suites: ${listBuiltinSuiteNames().join(', ')}`, 'Or pass the path of a suite YAML file.'],
    );
  }
  return loadSuiteFile(file);
}

export function listBuiltinSuiteNames(): string[] {
  if (!existsSync(BUILTIN_SUITES_DIR)) return [];
  return readdirSync(BUILTIN_SUITES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}
