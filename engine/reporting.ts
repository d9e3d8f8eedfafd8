import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildReportModel, type ReportModel } from '../reports/model.js';
import { REPORT_FILE, type ReportFormat, renderReport } from '../reports/render.js';
import { sha256Hex } from './record/chain.js';
import { loadRun, resolveRunsDir } from './record/store.js';

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

/** Where a run's reports go: --reports-dir, else $BENCH_REPORTS_DIR, else ./reports. */
export function resolveReportsDir(flag?: string): string {
  return resolve(flag ?? process.env.BENCH_REPORTS_DIR ?? 'reports');
}

/** Renders reports from a run record alone and writes each atomically (temp file, then rename). */
export async function writeReports(opts: {
  runsDir?: string;
  reportsDir?: string;
  runId: string;
  formats: readonly ReportFormat[];
}): Promise<ReportsResult> {
  const read = loadRun(resolveRunsDir(opts.runsDir), opts.runId);
  const model = buildReportModel(read);
  const dir = join(resolveReportsDir(opts.reportsDir), opts.runId);
  mkdirSync(dir, { recursive: true });
  const reports: WrittenReport[] = [];
  for (const format of opts.formats) {
    const text = await renderReport(format, model);
    const file = join(dir, REPORT_FILE[format]);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    reports.push({ format, file, sha256: sha256Hex(text) });
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
