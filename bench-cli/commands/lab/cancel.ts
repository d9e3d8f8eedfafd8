import { Flags } from '@oclif/core';
import { withLabQueue } from '../../../farm/db.js';
import { cancelSubmission } from '../../../farm/submit.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabCancel extends BenchCommand {
  static override summary = "Cancel a submission's unfinished jobs (an admin's).";
  static override flags = {
    db: labDbFlag,
    submission: Flags.string({ description: 'Submission id (printed by `lab submit`).', required: true }),
  };

  async run(): Promise<{ cancelled: string[] }> {
    const { flags } = await this.parse(LabCancel);
    return withLabQueue(flags.db, async (pool, boss) => {
      const cancelled = await cancelSubmission(pool, boss, flags.submission);
      this.say(`cancelled ${cancelled.length} job(s)`);
      return { cancelled };
    });
  }
}
