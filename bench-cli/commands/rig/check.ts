import { Args, Flags } from '@oclif/core';
import { ExitCode } from '../../../core/errors.js';
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
    error?: { code: string; message: string };
  }>;
  /** Present when an instrument failed (exit 3): the same error a failing command prints under --json. */
  error?: Record<string, unknown>;
}

export default class RigCheck extends BenchCommand {
  static override summary = 'Ping every instrument of a rig; print identity, capabilities and round-trip latency.';
  static override description =
    'Every instrument is checked, even after one fails; any failure (wrong identity, no answer, cannot open) exits 3 naming the instrument.';
  static override args = {
    rig: Args.string({
      required: true,
      description: 'Rig YAML file or built-in rig name (sim-serial, sim-ocpp, sim-ocpp16).',
    }),
  };
  static override flags = {
    pings: Flags.integer({ default: 20, min: 1, description: 'Queries per instrument for the latency figures.' }),
  };

  async run(): Promise<RigCheckResult> {
    const { args, flags } = await this.parse(RigCheck);
    const { loadRigFile } = await import('../../../rigs/rig-file.js');
    const { checkRig, checkFailure } = await import('../../../rigs/rig-check.js');
    const { builtinRigFile } = await import('../../../engine/rig-provider.js');
    const rig = loadRigFile(builtinRigFile(args.rig) ?? args.rig);
    const instruments = await checkRig(rig, flags.pings);
    const w = Math.max(...instruments.map((i) => i.id.length));
    for (const i of instruments) {
      const lat = i.latency ? `  p50 ${i.latency.p50Ms?.toFixed(2)} ms p99 ${i.latency.p99Ms?.toFixed(2)} ms` : '';
      this.say(
        `${i.id.padEnd(w)} ${i.role.padEnd(9)} ${i.status.padEnd(12)} ${i.identity ?? i.error?.message ?? '-'}  [${i.capabilities.join(', ')}]  ${i.transport}${lat}`,
      );
    }
    const failure = checkFailure(instruments, args.rig);
    // Human output has printed every instrument above; the failure goes to stderr with exit 3. Under --json the
    // instruments would be lost behind the error document, so the result carries the error and the exit code is set.
    if (failure && !this.jsonEnabled()) throw failure;
    if (failure) process.exitCode = ExitCode.RIG;
    return { rig: rig.name, instruments, ...(failure && { error: failure.toJSON() }) };
  }
}
