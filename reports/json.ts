import { z } from 'zod';
import { REPORT_SCHEMA, type ReportModel } from './model.js';

const verdict = z.enum(['PASS', 'MARGINAL', 'FAIL', 'ERROR', 'NOT RUN']);

/** The JSON report's schema: shipped through `bench schema report` so consumers can validate it. */
export const jsonReportSchema = z.object({
  schema: z.literal(REPORT_SCHEMA),
  runId: z.string(),
  outcome: z.enum(['PASS', 'MARGINAL', 'FAIL', 'ERROR', 'NOT RUN', 'INCOMPLETE', 'TAMPERED']),
  integrity: z.enum(['OK', 'INCOMPLETE', 'TAMPERED']),
  integrityProblem: z.object({ line: z.number(), reason: z.string() }).optional(),
  status: z.string().optional(),
  recordHash: z.string().regex(/^[0-9a-f]{64}$/),
  tool: z.object({ name: z.string(), version: z.string() }).optional(),
  startedAt: z.string().optional(),
  seeds: z.record(z.string(), z.number()).optional(),
  suite: z.object({ name: z.string(), version: z.number(), sha256: z.string() }).optional(),
  rig: z.object({ name: z.string(), sha256: z.string() }).optional(),
  identities: z.record(z.string(), z.unknown()),
  counts: z.record(verdict, z.number()),
  cases: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      status: z.string(),
      verdict,
      reason: z.string().optional(),
      metrics: z.record(z.string(), z.union([z.number(), z.null()])),
      criteria: z.array(
        z.object({
          metric: z.string(),
          verdict,
          measured: z.number().nullable().optional(),
          op: z.string(),
          limit: z.union([z.number(), z.tuple([z.number(), z.number()])]),
          marginal: z.union([z.number(), z.tuple([z.number(), z.number()])]).optional(),
          unit: z.string(),
          clause: z.string().optional(),
          reason: z.string().optional(),
        }),
      ),
      confusion: z.record(z.string(), z.record(z.string(), z.number())).optional(),
    }),
  ),
});

export type JsonReport = z.infer<typeof jsonReportSchema>;

/** NaN is not JSON; a metric that could not be computed is written as null. */
const finiteOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function toJsonReport(m: ReportModel): JsonReport {
  const h = m.header;
  return {
    schema: m.schema,
    runId: m.runId,
    outcome: m.outcome,
    integrity: m.integrity,
    integrityProblem: m.integrityProblem,
    status: m.status,
    recordHash: m.recordHash,
    tool: h?.tool,
    startedAt: h?.startedAt,
    seeds: h?.seeds,
    suite: h?.suite && { name: h.suite.name, version: h.suite.version, sha256: h.suite.sha256 },
    rig: h?.rig && { name: h.rig.name, sha256: h.rig.sha256 },
    identities: m.identities,
    counts: m.counts,
    cases: m.cases.map((c) => ({
      id: c.id,
      title: c.title,
      status: c.status,
      verdict: c.verdict,
      reason: c.reason,
      metrics: Object.fromEntries(Object.entries(c.metrics).map(([k, v]) => [k, finiteOrNull(v)])),
      criteria: c.criteria.map((cr) => ({
        ...cr,
        measured: cr.measured === undefined ? undefined : finiteOrNull(cr.measured),
      })),
      confusion: c.analysis?.detection?.confusion,
    })),
  };
}

export function renderJson(m: ReportModel): string {
  return `${JSON.stringify(toJsonReport(m), null, 2)}\n`;
}
