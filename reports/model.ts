import type { CaseAnalysis } from '../analysis/case-analysis.js';
import { CaseEntries } from '../analysis/case-entries.js';
import type { CriterionResult } from '../analysis/criteria.js';
import { analysisSteps } from '../analysis/registry.js';
import { ENTRY } from '../core/record/entries.js';
import type { RunRecordRead, RunRecordScan } from '../core/record/reader.js';
import type { Integrity, RecordEntry, RunHeader, RunStatus, Verdict } from '../core/record/types.js';
import { runSteps, type Steps } from '../core/steps.js';

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

function* reportModelSteps(read: RunRecordRead, extra: { anchor?: AnchorReceipt }): Steps<ReportModel> {
  const builder = new ReportModelBuilder();
  for (let i = 0; i < read.entries.length; i++) {
    if (i % 1024 === 1023) yield;
    const steps = builder.add(read.entries[i]!);
    if (steps) yield* steps;
  }
  return builder.finish(read, extra);
}

/**
 * The model with the run's anchor receipt, when it is this very record's: a copied or stale anchor.json never lands
 * on another run's certificate.
 */
export function withAnchor(model: ReportModel, anchor: AnchorReceipt | undefined): ReportModel {
  const { anchor: _old, ...rest } = model;
  return anchor && anchor.runId === model.header?.runId ? { ...rest, anchor } : rest;
}

/**
 * The report model built as the record streams by, in record order: each case's entries go into a CaseEntries
 * (measurements reduced as they come) and are analysed when the case's verdict entry arrives, then let go. So a
 * report of a week-long run takes the memory of one case's reduced entries, never the record's.
 */
export class ReportModelBuilder {
  private readonly identities: Record<string, unknown> = {};
  private readonly starts = new Map<string, Record<string, unknown>>();
  private readonly open = new Map<string, { entries: CaseEntries; added: number }>();
  private readonly cases: ReportCase[] = [];
  /** The case between its start and its verdict entries. */
  private current: string | undefined;

  /**
   * `analysed`: cases already analysed from these very entries as they were recorded (certify analyses each case
   * when it ends, from the entries it writes), by case id. Their entries need not be read again: see skips().
   */
  constructor(private readonly analysed: ReadonlyMap<string, CaseAnalysis> = new Map()) {}

  /**
   * Whether the entries of this kind may go unread here: inside a case whose analysis was given, everything but its
   * start and verdict (a record's bulk: its measurements). For scanRunRecord's `skip`.
   */
  skips(kind: string): boolean {
    return this.current !== undefined && this.analysed.has(this.current) && !READ_ALWAYS.has(kind);
  }

  /** Takes the next entry; at a case's verdict, the steps of that case's analysis (run them before the next add). */
  add(e: RecordEntry): Steps<void> | undefined {
    const data = e.data as Record<string, unknown>;
    if (e.kind === 'header') Object.assign(this.identities, (data as unknown as RunHeader).identities ?? {});
    if (e.kind === ENTRY.identity) Object.assign(this.identities, data);
    const caseId = typeof data?.caseId === 'string' ? data.caseId : undefined;
    if (!caseId) return undefined;
    if (e.kind === ENTRY.caseStart) {
      this.starts.set(caseId, data);
      this.current = caseId;
      if (!this.analysed.has(caseId)) this.caseEntries(caseId);
    } else if (e.kind === ENTRY.caseVerdict) {
      this.current = undefined;
      return this.closeCase(caseId, data);
    } else if (this.analysed.has(caseId)) return undefined;
    else {
      const c = this.caseEntries(caseId);
      c.entries.add(e.kind, data);
      c.added++;
    }
    return undefined;
  }

  finish(read: RunRecordScan, extra: { anchor?: AnchorReceipt } = {}): ReportModel {
    const cases = [...this.cases];
    // A case that started but has no verdict was cut off by a crash or Ctrl-C: it shows as ERROR, never PASS.
    for (const [id, start] of this.starts) {
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
    return withAnchor(
      {
        schema: REPORT_SCHEMA,
        runId: read.header?.runId ?? 'unknown',
        outcome,
        integrity: read.integrity,
        integrityProblem: read.problem,
        status: read.end?.status,
        endedAt: read.end?.endedAt,
        recordHash: read.lastHash,
        header: read.header,
        identities: this.identities,
        cases,
        counts,
      },
      extra.anchor,
    );
  }

  private paramsOf(caseId: string): Record<string, unknown> {
    return (this.starts.get(caseId)?.params as Record<string, unknown>) ?? {};
  }

  private caseEntries(caseId: string) {
    let c = this.open.get(caseId);
    if (!c) {
      c = { entries: new CaseEntries(CaseEntries.optionsFor(this.paramsOf(caseId))), added: 0 };
      this.open.set(caseId, c);
    }
    return c;
  }

  private *closeCase(caseId: string, v: Record<string, unknown>): Steps<void> {
    const params = this.paramsOf(caseId);
    const open = this.open.get(caseId);
    this.open.delete(caseId);
    this.cases.push({
      id: caseId,
      title: String(v.title ?? caseId),
      status: String(v.status ?? ''),
      verdict: v.verdict as Verdict,
      reason: v.reason as string | undefined,
      criteria: (v.criteria as CriterionResult[]) ?? [],
      metrics: (v.metrics as Record<string, unknown>) ?? {},
      params,
      analysis:
        this.analysed.get(caseId) ?? (open && open.added > 0 ? yield* analysisSteps(open.entries, params) : undefined),
    });
  }
}

/** Entries a report reads even in a case analysed beforehand. */
const READ_ALWAYS: ReadonlySet<string> = new Set(['header', 'end', ENTRY.identity, ENTRY.caseStart, ENTRY.caseVerdict]);

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
