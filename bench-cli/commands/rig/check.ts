import { Args, Flags } from '@oclif/core';
import { BenchCommand } from '../../base-command.js';

export interface RigCheckResult {
  rig: string;
  instruments: Array<{
    id: string;
    role: string;
    dialect: string;
    transport: string;
    capabilities: string[];
    status: string;
    identity?: string;
    latency?: { count: number; p50Ms?: number; p99Ms?: number };
  }>;
}

export default class RigCheck extends BenchCommand {
  static override summary = 'Ping every instrument of a rig; print identity, capabilities and round-trip latency.';
  static override args = {
    rig: Args.string({ required: true, description: 'Rig YAML file or built-in rig name (sim-serial).' }),
  };
  static override flags = {
    pings: Flags.integer({ default: 20, min: 1, description: 'Queries per instrument for the latency figures.' }),
  };

  async run(): Promise<RigCheckResult> {
    const { args, flags } = await this.parse(RigCheck);
    const { loadRigFile, checkRig } = await import('../../../rigs/check.js');
    const { builtinRigFile } = await import('../../../engine/rig-provider.js');
    const rig = loadRigFile(builtinRigFile(args.rig) ?? args.rig);
    const instruments = await checkRig(rig, flags.pings);
    for (const i of instruments) {
      const lat = i.latency ? `  p50 ${i.latency.p50Ms?.toFixed(2)} ms p99 ${i.latency.p99Ms?.toFixed(2)} ms` : '';
      this.say(
        `${i.id.padEnd(8)} ${i.role.padEnd(9)} ${i.status.padEnd(10)} ${i.identity ?? '-'}  [${i.capabilities.join(', ')}]  ${i.transport}${lat}`,
      );
    }
    return { rig: rig.name, instruments };
  }
}
