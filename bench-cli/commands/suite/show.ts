import { Args } from '@oclif/core';
import { describeCriterion } from '../../../analysis/criteria.js';
import { resolveSuite, type Suite } from '../../../engine/suite.js';
import { BenchCommand } from '../../base-command.js';

export interface SuiteShowResult {
  file: string;
  sha256: string;
  suite: Suite;
}

export default class SuiteShow extends BenchCommand {
  static override summary = 'Show a suite: its cases, required capabilities and criteria with their clauses.';
  static override args = { suite: Args.string({ required: true, description: 'Built-in suite name or YAML path.' }) };

  async run(): Promise<SuiteShowResult> {
    const { args } = await this.parse(SuiteShow);
    const { suite, file, sha256 } = resolveSuite(args.suite);
    this.say(`${suite.name} v${suite.version} — ${suite.title}\n${file}`);
    for (const c of suite.cases) {
      this.say(`\n  ${c.id}: ${c.title}${c.requires.length ? `\n    requires ${c.requires.join(', ')}` : ''}`);
      for (const cr of c.criteria) {
        this.say(`    ${describeCriterion(cr)}${cr.clause ? `   [${cr.clause}]` : ''}`);
        if (cr.source) this.say(`      limit from ${cr.source}`);
      }
    }
    return { file, sha256, suite };
  }
}
