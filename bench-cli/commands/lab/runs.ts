import { Flags } from '@oclif/core';
import { withLab } from '../../../farm/db.js';
import { type LabRun, listRuns } from '../../../farm/results.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabRuns extends BenchCommand {
  static override summary = "The lab's runs, newest first: suite, seed, device, verdict and the record's integrity.";
  static override flags = {
    db: labDbFlag,
    suite: Flags.string({ description: 'Only runs of this suite.' }),
    device: Flags.string({ description: 'Only runs of this device.' }),
    limit: Flags.integer({ description: 'At most this many.', default: 100, min: 1 }),
  };

  async run(): Promise<{ runs: LabRun[] }> {
    const { flags } = await this.parse(LabRuns);
    return withLab(flags.db, async (pool) => {
      const runs = await listRuns(pool, { suite: flags.suite, device: flags.device, limit: flags.limit });
      if (!runs.length) this.say('no runs');
      for (const r of runs)
        this.say(
          `${r.id}  ${r.verdict.padEnd(10)} ${r.integrity.padEnd(10)} ${r.suite} seed ${r.seed}  ${r.device ?? '-'}  ${r.agent ?? '-'}`,
        );
      return { runs };
    });
  }
}
