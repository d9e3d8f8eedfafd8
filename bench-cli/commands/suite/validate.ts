import { Args } from '@oclif/core';
import { type SuiteSummary, validateSuiteFiles } from '../../../engine/suites-service.js';
import { BenchCommand } from '../../base-command.js';

export interface SuiteValidateResult {
  valid: SuiteSummary[];
}

export default class SuiteValidate extends BenchCommand {
  static override summary = 'Validate suite YAML files; errors name file:line:column and the field.';
  static override strict = false;
  static override args = { file: Args.string({ required: true, description: 'Suite YAML file(s).' }) };

  async run(): Promise<SuiteValidateResult> {
    const { argv } = await this.parse(SuiteValidate);
    const valid = validateSuiteFiles(argv as string[]);
    for (const s of valid) this.say(`ok  ${s.file}  (${s.name} v${s.version}, ${s.cases} cases)`);
    return { valid };
  }
}
