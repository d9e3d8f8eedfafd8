import { Flags } from '@oclif/core';
import { withLab } from '../../../farm/db.js';
import { type Trend, trend } from '../../../farm/trend.js';
import { fmt } from '../../../reports/model.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabTrend extends BenchCommand {
  static override summary =
    "A device's metric across its firmware versions, with regressions flagged (exit 1 when there is one).";
  static override examples = [
    '<%= config.bin %> lab trend --device vendor-a --metric energy.ev_error_pct_max --suite ev-billing',
  ];
  static override flags = {
    db: labDbFlag,
    device: Flags.string({ description: 'The device (as submitted with --device).', required: true }),
    metric: Flags.string({ description: 'Metric name, e.g. detection.f1.', required: true }),
    suite: Flags.string({ description: 'Only runs of this suite.' }),
    case: Flags.string({ description: 'Only this case.' }),
  };

  async run(): Promise<Trend> {
    const { flags } = await this.parse(LabTrend);
    return withLab(flags.db, async (pool) => {
      const t = await trend(pool, {
        device: flags.device,
        metric: flags.metric,
        suite: flags.suite,
        caseId: flags.case,
      });
      this.say(`${t.device}  ${t.metric}${t.better ? ` (${t.better} is better)` : ''}`);
      for (const p of t.points)
        this.say(
          `  ${p.firmware.padEnd(12)} runs ${p.runs}  passed ${p.passed}  mean ${fmt(p.mean ?? undefined)}  [${fmt(p.min ?? undefined)}, ${fmt(p.max ?? undefined)}]${p.regression ? `  REGRESSION: ${p.why}` : ''}`,
        );
      if (t.regressions) process.exitCode = 1;
      return t;
    });
  }
}
