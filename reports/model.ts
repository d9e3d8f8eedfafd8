import type { CaseAnalysis, Entry } from '../analysis/case-analysis.js';
import type { CriterionResult } from '../analysis/criteria.js';
import { analysisSteps } from '../analysis/registry.js';
import { ENTRY } from '../core/record/entries.js';
import type { RunRecordRead } from '../core/record/reader.js';
import type { Integrity, RunHeader, RunStatus, Verdict } from '../core/record/types.js';
import { runSteps, runStepsYielding, type Steps } from '../core/steps.js';

export const REPORT_SCHEMA = 'bench.report/1';

/** What a report states as the run's outcome: a verdict only when the record is whole, else why it is not. */
export type ReportOutcome = Verdict | 'INCOMPLETE' | 'TAMPERED';

export interface ReportCase {
  id: string;
  title: string;
  status: string;
  verdict: Verdict;
  reason?: string;
  criteria: CriterionResult[];
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  analysis?: CaseAnalysis;
}

export const ANCHOR_RECEIPT_FORMAT = 'bench.anchor/1';

/**
 * The receipt of the JSON report's anchor on the ledger (the run directory's anchor.json). It cannot be in the
 * record: the report it anchors is rendered from the closed record.
 */
export interface AnchorReceipt {
  format: typeof ANCHOR_RECEIPT_FORMAT;
  runId: string;
  /** The anchored report's file name (report.json) and its sha256. */
  report: string;
  reportSha256: string;
  verdictCode: number;
  chainId: string;
  ledger: 'embedded' | 'external';
  url?: string;
  /** The ReportAnchor contract. */
  contract: string;
  txHash: string;
  block: number;
}

export interface ReportModel {
  schema: typeof REPORT_SCHEMA;
  runId: string;
  outcome: ReportOutcome;
  integrity: Integrity;
  integrityProblem?: { line: number; reason: string };
  status?: RunStatus;
  /** When the record was closed (its end entry): the report's date, never the time it was rendered. */
  endedAt?: string;
  /** SHA-256 of the last valid record entry: the fingerprint of everything the report is based on. */
  recordHash: string;
  header?: RunHeader;
  identities: Record<string, unknown>;
  cases: ReportCase[];
  counts: Record<Verdict, number>;
  anchor?: AnchorReceipt;
}

/**
 * Builds the report model from a record: verdicts as recorded, charts' and billing tables' data re-derived by the
 * full analysis from the same entries. Pure: reports never read anything but the record, so a report rendered from
 * the record any time later is the one certify wrote.
 */
export function buildReportModel(read: RunRecordRead, extra: { anchor?: AnchorReceipt } = {}): ReportModel {
  return runSteps(reportModelSteps(read, extra));
}

/** buildReportModel with a turn of the event loop between cases and analysis stages; the same model. */
export function buildReportModelAsync(
  read: RunRecordRead,
  extra: { anchor?: AnchorReceipt } = {},
): Promise<ReportModel> {
  return runStepsYielding(reportModelSteps(read, extra));
}

function* reportModelSteps(read: RunRecordRead, extra: { anchor?: AnchorReceipt }): Steps<ReportModel> {
  const byCase = new Map<string, Entry[]>();
  const starts = new Map<string, Record<string, unknown>>();
  const verdicts: Array<Record<string, unknown>> = [];
  const identities: Record<string, unknown> = { ...(read.header?.identities ?? {}) };
  for (let i = 0; i < read.entries.length; i++) {
    if (i % 1024 === 1023) yield;
    const e = read.entries[i]!;
    const data = e.data as Record<string, unknown>;
    if (e.kind === ENTRY.identity) Object.assign(identities, data);
    const caseId = typeof data?.caseId === 'string' ? data.caseId : undefined;
    if (!caseId) continue;
    if (e.kind === ENTRY.caseStart) starts.set(caseId, data);
    else if (e.kind === ENTRY.caseVerdict) verdicts.push(data);
    else {
      const list = byCase.get(caseId);
      if (list) list.push({ kind: e.kind, data });
      else byCase.set(caseId, [{ kind: e.kind, data }]);
    }
  }
  const cases: ReportCase[] = [];
  for (const v of verdicts) {
    const id = String(v.caseId);
    const params = (starts.get(id)?.params as Record<string, unknown>) ?? {};
    const entries = byCase.get(id) ?? [];
    cases.push({
      id,
      title: String(v.title ?? id),
      status: String(v.status ?? ''),
      verdict: v.verdict as Verdict,
      reason: v.reason as string | undefined,
      criteria: (v.criteria as CriterionResult[]) ?? [],
      metrics: (v.metrics as Record<string, unknown>) ?? {},
      params,
      analysis: entries.length > 0 ? yield* analysisSteps(entries, params) : undefined,
    });
    yield;
  }
  // A case that started but has no verdict was cut off by a crash or Ctrl-C: it shows as ERROR, never PASS.
  for (const [id, start] of starts) {
    if (cases.some((c) => c.id === id)) continue;
    cases.push({
      id,
      title: String(start.title ?? id),
      status: 'INTERRUPTED',
      verdict: 'ERROR',
      reason: 'the run ended before this case finished',
      criteria: [],
      metrics: {},
      params: (start.params as Record<string, unknown>) ?? {},
    });
  }
  const counts: Record<Verdict, number> = { PASS: 0, MARGINAL: 0, FAIL: 0, ERROR: 0, 'NOT RUN': 0 };
  for (const c of cases) counts[c.verdict]++;
  const outcome: ReportOutcome =
    read.integrity === 'TAMPERED'
      ? 'TAMPERED'
      : read.integrity === 'INCOMPLETE'
        ? 'INCOMPLETE'
        : (read.end?.verdict ?? 'ERROR');
  return {
    schema: REPORT_SCHEMA,
    runId: read.header?.runId ?? 'unknown',
    outcome,
    integrity: read.integrity,
    integrityProblem: read.problem,
    status: read.end?.status,
    endedAt: read.end?.endedAt,
    recordHash: read.lastHash,
    header: read.header,
    identities,
    cases,
    counts,
    // Only a receipt for this very record: a copied or stale anchor.json never lands on another run's certificate.
    ...(extra.anchor && extra.anchor.runId === read.header?.runId ? { anchor: extra.anchor } : {}),
  };
}

export function fmt(value: unknown, digits = 4): string {
  if (typeof value !== 'number') return value === undefined ? '—' : String(value);
  if (Number.isNaN(value)) return 'NaN';
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(digits)).toString();
}

export function limitText(c: Pick<CriterionResult, 'op' | 'limit' | 'unit'>): string {
  const l = Array.isArray(c.limit) ? `[${fmt(c.limit[0])}, ${fmt(c.limit[1])}]` : fmt(c.limit);
  return `${c.op} ${l}${c.unit && c.unit !== '1' ? ` ${c.unit}` : ''}`;
}

export function marginalText(c: Pick<CriterionResult, 'op' | 'marginal' | 'unit'>): string {
  if (c.marginal === undefined) return '—';
  return limitText({ op: c.op, limit: c.marginal, unit: c.unit });
}
