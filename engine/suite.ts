import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { METRICS, metricInfo } from '../analysis/metric-catalog.js';
import { NotFoundError } from './errors.js';
import { parseYamlWithSchema, readDataFile } from './files/load-yaml.js';
import { CAPABILITIES } from './rig.js';
import { PACKAGE_ROOT } from './version.js';

const bound = z.union([z.number(), z.tuple([z.number(), z.number()])]);

export const criterionSchema = z
  .object({
    metric: z.string().refine((m) => metricInfo(m) !== undefined, {
      message: `unknown metric; known metrics: ${Object.keys(METRICS).join(', ')}`,
    }),
    op: z.enum(['<=', '<', '>=', '>', '==', 'abs<=', 'between']),
    limit: bound,
    marginal: bound.optional(),
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
    if (c.marginal !== undefined && !Array.isArray(c.marginal) && !Array.isArray(c.limit)) {
      const tighter = c.op.startsWith('<') || c.op === 'abs<=' ? c.marginal <= c.limit : c.marginal >= c.limit;
      if (!tighter) {
        ctx.addIssue({ code: 'custom', path: ['marginal'], message: 'marginal must lie inside the limit' });
      }
    }
  });

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
    cases: z.array(caseSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.cases.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'id'], message: `duplicate case id ${c.id}` });
      seen.add(c.id);
    });
  });

export type Suite = z.output<typeof suiteSchema>;
export type SuiteCase = Suite['cases'][number];

export interface LoadedSuite {
  suite: Suite;
  file: string;
  sha256: string;
}

export const BUILTIN_SUITES_DIR = join(PACKAGE_ROOT, 'suites');

export function loadSuiteFile(file: string): LoadedSuite {
  const text = readDataFile(file);
  const suite = parseYamlWithSchema(text, file, suiteSchema);
  return { suite, file, sha256: createHash('sha256').update(text).digest('hex') };
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
