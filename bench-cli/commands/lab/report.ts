import { Args, Flags } from '@oclif/core';
import type { ReportsResult } from '../../../engine/reporting.js';
import { withLab } from '../../../farm/db.js';
import { labReport } from '../../../farm/results.js';
import { DEFAULT_FORMATS, parseFormats, REPORT_FORMATS } from '../../../reports/render.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabReport extends BenchCommand {
  static override summary =
    "Re-render a lab run's reports from the database, with the same renderers as `bench report`.";
  static override args = { run: Args.string({ description: 'Run id (from `bench lab runs`).', required: true }) };
  static override flags = {
    db: labDbFlag,
    format: Flags.string({
      description: `Comma-separated formats: ${REPORT_FORMATS.join(', ')}.`,
      default: DEFAULT_FORMATS.join(','),
    }),
    'reports-dir': Flags.string({
      description: 'Directory for the reports (one folder per run).',
      default: 'lab-reports',
    }),
  };

  async run(): Promise<ReportsResult> {
    const { args, flags } = await this.parse(LabReport);
    return withLab(flags.db, async (pool) => {
      const r = await labReport(pool, args.run, {
        formats: parseFormats(flags.format),
        reportsDir: flags['reports-dir'],
      });
      this.say(`${r.outcome}  run ${r.runId} (record ${r.integrity})`);
      for (const f of r.reports) this.say(`  ${f.format.padEnd(6)} ${f.file}`);
      return r;
    });
  }
}
