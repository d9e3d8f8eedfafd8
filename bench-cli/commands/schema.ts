import { Args } from '@oclif/core';
import { jsonSchemaFor, SCHEMA_KINDS } from '../../engine/schemas.js';
import { BenchCommand } from '../base-command.js';

export default class Schema extends BenchCommand {
  static override summary = 'Print the JSON Schema of a data file kind, for editor completion and validation.';
  static override args = {
    kind: Args.string({ required: true, options: [...SCHEMA_KINDS], description: 'Which file kind.' }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(Schema);
    const schema = await jsonSchemaFor(args.kind);
    if (!this.jsonEnabled()) this.log(JSON.stringify(schema, null, 2));
    return schema;
  }
}
