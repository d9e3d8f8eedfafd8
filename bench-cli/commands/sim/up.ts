import { Flags } from '@oclif/core';
import { BenchCommand } from '../../base-command.js';

export interface SimUpResult {
  rig: string;
  instruments: Array<{ id: string; dialect: string; path: string; emulatorPath: string; status: string }>;
}

export default class SimUp extends BenchCommand {
  static override summary = 'Serve the coupled instrument emulators of a serial rig on PTYs until Ctrl-C.';
  static override flags = {
    rig: Flags.string({
      default: 'sim-serial',
      description: 'Built-in rig name (sim-serial) or rig YAML file with serial instruments.',
    }),
    'time-scale': Flags.integer({
      default: 1,
      min: 1,
      description: 'Emulated seconds per wall second; certify against it with the same --time-scale.',
    }),
  };

  async run(): Promise<SimUpResult> {
    const { flags } = await this.parse(SimUp);
    const { loadRigFile } = await import('../../../rigs/check.js');
    const { simUp } = await import('../../../rigs/sim-up.js');
    const { builtinRigFile } = await import('../../../engine/rig-provider.js');
    const rig = loadRigFile(builtinRigFile(flags.rig) ?? flags.rig);
    const served = await simUp(rig, { timeScale: flags['time-scale'] });
    for (const i of served.instruments)
      this.say(`${i.id.padEnd(8)} ${i.dialect.padEnd(14)} ${i.status.padEnd(12)} ${i.path}`);
    this.say('serving; Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await served.close();
    return { rig: rig.name, instruments: served.instruments };
  }
}
