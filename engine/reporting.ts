import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { CaseAnalysis } from '../analysis/case-analysis.js';
import { InputError } from '../core/errors.js';
import { sha256Hex } from '../core/record/chain.js';
import { scanRunRecord } from '../core/record/reader.js';
import { resolveRunsDir, runRecordPath } from '../core/record/store.js';
import { ANCHOR_RECEIPT_FORMAT, type AnchorReceipt, type ReportModel, ReportModelBuilder } from '../reports/model.js';
import { isTextFormat, REPORT_FILE, type ReportFormat, renderReport } from '../reports/render.js';
import { printPdf } from './pdf.js';

/** The anchor's receipt beside the record: which transaction put the JSON report's hash on which chain. */
export const ANCHOR_FILE = 'anchor.json';

const anchorReceiptSchema = z
  .object({
    format: z.literal(ANCHOR_RECEIPT_FORMAT),
    runId: z.string(),
    report: z.string(),
    reportSha256: z.string().regex(/^[0-9a-f]{64}$/),
    verdictCode: z.number().int(),
    chainId: z.string().regex(/^\d+$/),
    ledger: z.enum(['embedded', 'external']),
    url: z.string().optional(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    block: z.number().int().min(0),
  })
  .strict();

export function writeAnchorReceipt(runDir: string, receipt: AnchorReceipt): void {
  const file = join(runDir, ANCHOR_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(receipt, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The run's anchor receipt, if the run was anchored. */
export function readAnchorReceipt(runDir: string): AnchorReceipt | undefined {
  const file = join(runDir, ANCHOR_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file} is not JSON: ${(e as Error).message}`, [{ file, message: 'not JSON' }]);
  }
  const r = anchorReceiptSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => ({ file, field: i.path.join('.'), message: i.message }));
    throw new InputError(
      `${file} is not an anchor receipt:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`,
      problems,
    );
  }
  return r.data as AnchorReceipt;
}

export interface WrittenReport {
  format: ReportFormat;
  file: string;
  sha256: string;
}

export interface ReportsResult {
  runId: string;
  outcome: ReportModel['outcome'];
  integrity: ReportModel['integrity'];
  recordHash: string;
  dir: string;
  reports: WrittenReport[];
}

/** The folder inside a run's directory that holds its reports when no reports directory is named. */
export const RUN_REPORTS_FOLDER = 'reports';

/**
 * Where one run's reports go: `<reports-dir>/<run-id>` when a reports directory is named (--reports-dir or
 * $BENCH_REPORTS_DIR), else inside the run's own directory, `<runs-dir>/<run-id>/reports`. Run output then lives
 * under one root and never lands among the sources (`reports/` is also the renderers' source folder).
 */
export function reportsDirFor(runsDir: string, runId: string, reportsDir = process.env.BENCH_REPORTS_DIR): string {
  return reportsDir ? resolve(reportsDir, runId) : join(resolveRunsDir(runsDir), runId, RUN_REPORTS_FOLDER);
}

/**
 * The report model of a run from its record alone, with the anchor receipt beside it. The record streams through its
 * hash check into the model: a long run's record (hundreds of MB for a week) is never held whole, and its analysis
 * turns the event loop, so certify keeps serving Ctrl-C and progress. `analysed`: cases certify analysed from the
 * entries it recorded, by case id; their lines are checked but not parsed or analysed again (the same analysis of the
 * same entries: `bench report` of the record renders the same reports).
 */
export async function readReportModel(
  runsDir: string | undefined,
  runId: string,
  analysed?: ReadonlyMap<string, CaseAnalysis>,
): Promise<ReportModel> {
  const dir = resolveRunsDir(runsDir);
  const builder = new ReportModelBuilder(analysed);
  const read = await scanRunRecord(runRecordPath(dir, runId), (e) => builder.add(e), {
    skip: (kind) => builder.skips(kind),
  });
  return builder.finish(read, { anchor: readAnchorReceipt(join(dir, runId)) });
}

/**
 * Renders reports from a run record alone (or from its model, read once by the caller with readReportModel) and
 * writes each atomically (temp file, then rename).
 */
export async function writeReports(opts: {
  runsDir?: string;
  reportsDir?: string;
  runId: string;
  formats: readonly ReportFormat[];
  model?: ReportModel;
}): Promise<ReportsResult> {
  const runsDir = resolveRunsDir(opts.runsDir);
  const model = opts.model ?? (await readReportModel(runsDir, opts.runId));
  const dir = reportsDirFor(runsDir, opts.runId, opts.reportsDir);
  mkdirSync(dir, { recursive: true });
  const reports: WrittenReport[] = [];
  for (const format of opts.formats) {
    const bytes = isTextFormat(format)
      ? Buffer.from(await renderReport(format, model))
      : await printPdf(await renderReport('html', model));
    const file = join(dir, REPORT_FILE[format]);
    writeFileSync(`${file}.tmp`, bytes);
    renameSync(`${file}.tmp`, file);
    reports.push({ format, file, sha256: sha256Hex(bytes) });
  }
  return {
    runId: opts.runId,
    outcome: model.outcome,
    integrity: model.integrity,
    recordHash: model.recordHash,
    dir,
    reports,
  };
}
