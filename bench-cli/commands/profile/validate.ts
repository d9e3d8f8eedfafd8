import { Args } from '@oclif/core';
import { validateEach } from '../../../core/files/io.js';
import { loadProfileFile } from '../../../profiles/library.js';
import { BenchCommand } from '../../base-command.js';

export default class ProfileValidate extends BenchCommand {
  static override summary = 'Validate profile YAML files; errors name file:line:column and the field.';
  static override strict = false;
  static override args = { file: Args.string({ required: true, description: 'Profile YAML file(s).' }) };

  async run(): Promise<{ valid: Array<{ file: string; name: string }> }> {
    const { argv } = await this.parse(ProfileValidate);
    const valid = validateEach(argv as string[], (file) => ({ file, name: loadProfileFile(file).name }));
    for (const v of valid) this.say(`ok  ${v.file}  (${v.name})`);
    return { valid };
  }
}
