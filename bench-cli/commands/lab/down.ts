import { Flags } from '@oclif/core';
import { labDown } from '../../../farm/cluster.js';
import { BenchCommand } from '../../base-command.js';

export default class LabDown extends BenchCommand {
  static override summary = "Stop a one-machine lab's PostgreSQL cluster (its data stays).";
  static override flags = {
    dir: Flags.string({ description: 'Directory of the cluster.', default: '.bench/lab' }),
  };

  async run(): Promise<{ stopped: boolean }> {
    const { flags } = await this.parse(LabDown);
    const stopped = labDown(flags.dir);
    this.say(stopped ? 'stopped' : 'not running');
    return { stopped };
  }
}
