import { Args } from '@oclif/core';
import { type GroundTruth, groundTruth } from '../../../profiles/ground-truth.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { BenchCommand } from '../../base-command.js';
import { seedFlag } from '../../flags.js';

export default class ScenarioShow extends BenchCommand {
  static override summary = "Show a scenario's ground truth: switch events, energies and expected billing sessions.";
  static override args = { file: Args.string({ required: true, description: 'Scenario YAML file.' }) };
  static override flags = { seed: seedFlag('Seed for random loads.') };

  async run(): Promise<Omit<GroundTruth, 'runs'>> {
    const { args, flags } = await this.parse(ScenarioShow);
    const { runs: _runs, ...truth } = groundTruth(loadScenarioFile(args.file), flags.seed);
    this.say(`${truth.events.length} switch events, ${truth.sessions.length} EV sessions over ${truth.durationS} s`);
    for (const s of truth.sessions) {
      this.say(
        `  ${s.sessionId}: ${s.evId} at ${s.meterId} plugged ${s.plugIn}–${s.unplug} s, charging ${s.start}–${s.end} s, ${s.importWh.toFixed(0)} Wh in, ${s.exportWh.toFixed(0)} Wh out, cost ${s.cost.toFixed(2)} → ${s.payerContractId}${s.roaming ? ' (roaming)' : ''}${s.authorised ? '' : ' (unauthorised)'}`,
      );
    }
    return truth;
  }
}
