import { listSuites, type SuiteSummary } from '../../../engine/suites-service.js';
import { BenchCommand } from '../../base-command.js';

export interface SuiteListResult {
  suites: SuiteSummary[];
}

export default class SuiteList extends BenchCommand {
  static override summary = 'List the built-in certification suites.';

  async run(): Promise<SuiteListResult> {
    await this.parse(SuiteList);
    const suites = listSuites();
    for (const s of suites)
      this.say(`${s.name.padEnd(22)} v${s.version}  ${String(s.cases).padStart(2)} cases  ${s.title}`);
    return { suites };
  }
}
