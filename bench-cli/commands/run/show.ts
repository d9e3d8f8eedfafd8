import { Args } from '@oclif/core';
import { ExitCode } from '../../../core/errors.js';
import { type RunDetail, showRun } from '../../../engine/runs.js';
import { BenchCommand } from '../../base-command.js';
import { runsDirFlag } from '../../flags.js';

export default class RunShow extends BenchCommand {
  static override summary = 'Show one run: header, integrity of its hash chain, cases and verdicts.';
  static override args = { runId: Args.string({ required: true, description: 'Run id (see `bench run list`).' }) };
  static override flags = { 'runs-dir': runsDirFlag };

  async run(): Promise<RunDetail> {
    const { args, flags } = await this.parse(RunShow);
    const detail = await showRun(flags['runs-dir'], args.runId);
    this.say(
      `run ${detail.runId}  integrity ${detail.integrity}${detail.problem ? ` (line ${detail.problem.line}: ${detail.problem.reason})` : ''}`,
    );
    this.say(
      `record ${detail.file}\nlast hash ${detail.lastHash}\nstatus ${detail.status ?? 'no end entry'}  verdict ${detail.verdict ?? '-'}`,
    );
    for (const c of detail.cases) this.say(`  ${c.verdict.padEnd(8)} ${c.id}${c.reason ? `  (${c.reason})` : ''}`);
    // A record that fails its own hash chain cannot be trusted for anything: a failed check, like a FAIL verdict.
    // (INCOMPLETE is a true account of a run cut short, shown with exit 0.)
    if (detail.integrity === 'TAMPERED') process.exitCode = ExitCode.FAIL;
    return detail;
  }
}
