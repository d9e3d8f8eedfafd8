import { Args, Flags } from '@oclif/core';
import { type CompareResult, compare } from '../../engine/compare.js';
import { renderCompareMarkdown } from '../../reports/compare.js';
import { BenchCommand } from '../base-command.js';
import { runsDirFlag } from '../flags.js';

export default class Compare extends BenchCommand {
  static override summary = 'Compare runs: verdict changes and metric deltas against the first run (the baseline).';
  static override strict = false;
  static override args = { runs: Args.string({ required: true, description: 'Run ids; the first is the baseline.' }) };
  static override flags = {
    'runs-dir': runsDirFlag,
    out: Flags.string({ description: 'Write compare.md and compare.html into this directory.' }),
  };

  async run(): Promise<CompareResult> {
    const { argv, flags } = await this.parse(Compare);
    const result = await compare({ runIds: argv as string[], runsDir: flags['runs-dir'], outDir: flags.out });
    this.say(renderCompareMarkdown(result));
    for (const f of result.files) this.say(`wrote ${f}`);
    if (result.regressions > 0) process.exitCode = 1;
    return result;
  }
}
