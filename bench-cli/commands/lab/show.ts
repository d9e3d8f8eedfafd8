import { Args } from '@oclif/core';
import { withLab } from '../../../farm/db.js';
import { showRun } from '../../../farm/results.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabShow extends BenchCommand {
  static override summary =
    "One run from the lab database: its cases, metrics and reports, the stored record's chain checked again.";
  static override args = { run: Args.string({ description: 'Run id (from `bench lab runs`).', required: true }) };
  static override flags = { db: labDbFlag };

  async run(): Promise<Awaited<ReturnType<typeof showRun>>> {
    const { args, flags } = await this.parse(LabShow);
    return withLab(flags.db, async (pool) => {
      const r = await showRun(pool, args.run);
      this.say(
        `${r.id}  ${r.suite} seed ${r.seed}  ${r.verdict}  record ${r.storedIntegrity}  (${r.agent ?? '-'}, ${r.rig})`,
      );
      for (const c of r.cases) this.say(`  ${c.caseId.padEnd(32)} ${c.verdict}`);
      for (const f of r.reports) this.say(`  report ${f.name}  sha256 ${f.sha256}`);
      return r;
    });
  }
}
