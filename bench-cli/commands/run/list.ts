import { Flags } from '@oclif/core';
import { listRuns, type RunSummary } from '../../../engine/runs.js';
import { BenchCommand } from '../../base-command.js';
import { runsDirFlag } from '../../flags.js';

export interface RunListResult {
  runsDir: string;
  runs: RunSummary[];
}

export default class RunList extends BenchCommand {
  static override summary = 'List run records, newest first, with their integrity and verdict.';
  static override flags = {
    'runs-dir': runsDirFlag,
    limit: Flags.integer({ description: 'Show at most this many runs.', default: 50, min: 1 }),
  };

  async run(): Promise<RunListResult> {
    const { flags } = await this.parse(RunList);
    const result = await listRuns(flags['runs-dir'], flags.limit);
    if (result.runs.length === 0) this.say(`no runs in ${result.runsDir}`);
    for (const r of result.runs) {
      this.say(
        `${r.runId}  ${r.integrity.padEnd(10)} ${(r.verdict ?? '-').padEnd(8)} ${r.suite ?? '-'}  ${r.rig ?? '-'}`,
      );
    }
    return result;
  }
}
