import { Flags } from '@oclif/core';
import { checkOutputPath } from '../../../core/files/io.js';
import { trainFromScenario } from '../../../engine/meter-train.js';
import { saveSignatures } from '../../../meter/signatures.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { BenchCommand } from '../../base-command.js';
import { seedFlag } from '../../flags.js';

export default class MeterTrain extends BenchCommand {
  static override summary =
    'Learn load signatures from a labelled scenario; use the file as signaturesFile in a meter config.';
  static override flags = {
    scenario: Flags.string({
      required: true,
      description: 'Labelled scenario YAML (its ground truth labels the events).',
    }),
    seed: seedFlag('Seed for random loads of the scenario.'),
    out: Flags.string({ required: true, description: 'Signature file (JSON) to write.' }),
  };

  async run(): Promise<{ file: string; signatures: number; labelledEvents: number }> {
    const { flags } = await this.parse(MeterTrain);
    checkOutputPath('--out', flags.out);
    const { signatures, labelled } = await trainFromScenario(loadScenarioFile(flags.scenario), flags.seed);
    saveSignatures(flags.out, signatures);
    this.say(`learned from ${labelled} labelled events; wrote ${signatures.length} signatures to ${flags.out}`);
    return { file: flags.out, signatures: signatures.length, labelledEvents: labelled };
  }
}
