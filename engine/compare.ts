import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { resolveRunsDir } from '../core/record/store.js';
import { compareRuns, type RunComparison, renderCompareHtml, renderCompareMarkdown } from '../reports/compare.js';
import type { ReportModel } from '../reports/model.js';
import { readReportModel } from './reporting.js';

export interface CompareResult extends RunComparison {
  files: string[];
}

export async function compare(opts: { runIds: string[]; runsDir?: string; outDir?: string }): Promise<CompareResult> {
  if (opts.runIds.length < 2) {
    throw new InputError('compare needs at least two runs', [], ['Pass a baseline run id and one or more run ids.']);
  }
  const runsDir = resolveRunsDir(opts.runsDir);
  // One record at a time, streamed through its hash check: only each run's analysis is kept, never its entries.
  const models: ReportModel[] = [];
  for (const id of opts.runIds) models.push(await readReportModel(runsDir, id));
  const comparison = compareRuns(models);
  const files: string[] = [];
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    const md = join(opts.outDir, 'compare.md');
    const html = join(opts.outDir, 'compare.html');
    writeFileSync(md, renderCompareMarkdown(comparison));
    writeFileSync(html, await renderCompareHtml(comparison, models));
    files.push(md, html);
  }
  return { ...comparison, files };
}
