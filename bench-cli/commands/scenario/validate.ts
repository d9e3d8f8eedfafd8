import { Args } from '@oclif/core';
import { validateEach } from '../../../core/files/io.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { BenchCommand } from '../../base-command.js';

export default class ScenarioValidate extends BenchCommand {
  static override summary = 'Validate scenario YAML files (schema and profile names); errors name file:line and field.';
  static override strict = false;
  static override args = { file: Args.string({ required: true, description: 'Scenario YAML file(s).' }) };

  async run(): Promise<{ valid: Array<{ file: string; name: string }> }> {
    const { argv } = await this.parse(ScenarioValidate);
    const valid = validateEach(argv as string[], (file) => ({ file, name: loadScenarioFile(file).name }));
    for (const v of valid) this.say(`ok  ${v.file}  (${v.name})`);
    return { valid };
  }
}
