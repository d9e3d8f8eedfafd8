import { Flags } from '@oclif/core';
import { generateScenario } from '../../../profiles/generate.js';
import { BenchCommand } from '../../base-command.js';
import { seedFlag } from '../../flags.js';

export default class ScenarioGenerate extends BenchCommand {
  static override summary = 'Generate a seeded multi-house scenario with EV sessions at home and at neighbours.';
  static override flags = {
    houses: Flags.integer({ default: 2, min: 1, max: 200, description: 'Number of houses (meters).' }),
    'ev-visits': Flags.integer({ default: 1, min: 0, max: 1000, description: "EV sessions at a neighbour's meter." }),
    days: Flags.integer({ default: 1, min: 1, max: 31, description: 'Days to cover.' }),
    seed: seedFlag('Seed of every random choice.'),
    'session-energy': Flags.boolean({
      default: false,
      description: 'Draw each session’s energy (log-normal, median 9 kWh): the EV stops charging when it has it.',
    }),
    unauthorised: Flags.integer({
      default: 0,
      min: 0,
      description: 'How many of the EV visits present no token (billed to the host as unattributed).',
    }),
    pv: Flags.integer({ default: 0, min: 0, description: 'Houses with a 3 kW PV inverter exporting around midday.' }),
    'heat-pumps': Flags.integer({ default: 0, min: 0, description: 'Houses running a heat pump a few times a day.' }),
    v2g: Flags.integer({ default: 0, min: 0, description: 'EVs with a bidirectional charger that export (V2H/V2G).' }),
    smart: Flags.integer({
      default: 0,
      min: 0,
      description: 'EVs that follow the TOU tariff (smart charging: pause in the peak band).',
    }),
    out: Flags.string({ description: 'Write the scenario YAML here (default: stdout).' }),
  };

  async run(): ReturnType<BenchCommand['writeScenario']> {
    const { flags } = await this.parse(ScenarioGenerate);
    const s = generateScenario({
      houses: flags.houses,
      evVisits: flags['ev-visits'],
      days: flags.days,
      seed: flags.seed,
      sessionEnergy: flags['session-energy'],
      unauthorised: flags.unauthorised,
      pv: flags.pv,
      heatPumps: flags['heat-pumps'],
      v2g: flags.v2g,
      smart: flags.smart,
    });
    return this.writeScenario(s, flags.seed, flags.out);
  }
}
