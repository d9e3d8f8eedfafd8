import { Args, Flags } from '@oclif/core';
import { importAcnSessions, importReddHouse } from '../../../profiles/importers.js';
import { BenchCommand } from '../../base-command.js';

export interface ScenarioImportResult {
  file?: string;
  name: string;
  houses: number;
  sessions: number;
  events: number;
}

export default class ScenarioImport extends BenchCommand {
  static override summary =
    'Import a scenario from public data: ACN-Data sessions JSON (EV sessions) or a REDD/UK-DALE low-frequency house folder.';
  static override args = {
    source: Args.string({ required: true, description: 'ACN-Data sessions JSON file, or a REDD house folder.' }),
  };
  static override flags = {
    format: Flags.string({ required: true, options: ['acn', 'redd'], description: 'Format of the source.' }),
    'on-threshold': Flags.integer({
      default: 15,
      min: 1,
      description: 'redd: a channel above this many watts is on.',
    }),
    out: Flags.string({ description: 'Write the scenario YAML here (default: stdout).' }),
  };

  async run(): Promise<ScenarioImportResult> {
    const { args, flags } = await this.parse(ScenarioImport);
    const s =
      flags.format === 'acn'
        ? importAcnSessions(args.source)
        : importReddHouse(args.source, { onThresholdW: flags['on-threshold'] });
    return { name: s.name, ...(await this.writeScenario(s, 1, flags.out)) };
  }
}
