import { Args, Flags } from '@oclif/core';
import { type ReportsResult, writeReports } from '../../engine/reporting.js';
import { DEFAULT_FORMATS, parseFormats, REPORT_FORMATS } from '../../reports/render.js';
import { BenchCommand } from '../base-command.js';
import { reportsDirFlag, runsDirFlag } from '../flags.js';

export default class Report extends BenchCommand {
  static override summary = 'Re-render the reports of a run from its record alone.';
  static override args = { runId: Args.string({ required: true, description: 'Run id (see `bench run list`).' }) };
  static override flags = {
    format: Flags.string({
      description: `Comma-separated formats: ${REPORT_FORMATS.join(', ')} (pdf: the HTML certificate printed by headless Chromium, written when asked for).`,
      default: DEFAULT_FORMATS.join(','),
    }),
    'runs-dir': runsDirFlag,
    'reports-dir': reportsDirFlag,
  };

  async run(): Promise<ReportsResult> {
    const { args, flags } = await this.parse(Report);
    const result = await writeReports({
      runId: args.runId,
      runsDir: flags['runs-dir'],
      reportsDir: flags['reports-dir'],
      formats: parseFormats(flags.format),
    });
    this.say(
      `${result.outcome}  run ${result.runId} (record ${result.integrity}, hash ${result.recordHash.slice(0, 16)}…)`,
    );
    for (const r of result.reports) this.say(`  ${r.format.padEnd(6)} ${r.file}`);
    return result;
  }
}
