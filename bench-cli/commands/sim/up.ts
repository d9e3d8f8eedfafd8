import { Flags } from '@oclif/core';
import { BenchCommand } from '../../base-command.js';

interface ServedLine {
  id: string;
  dialect: string;
  path: string;
  emulatorPath: string;
  status: string;
}

/**
 * Under --json, sim up prints JSON Lines while it runs: one `instrument` line per instrument and a `serving` line
 * once every emulator answers, then (after Ctrl-C) this result as the last line.
 */
export interface SimUpResult {
  event: 'stopped';
  rig: string;
  /** The rig file whose paths are served: what `bench rig check` and `bench certify --rig` take. */
  rigFile: string;
  instruments: ServedLine[];
}

export default class SimUp extends BenchCommand {
  static override summary = 'Serve the coupled instrument emulators of a serial rig on PTYs until Ctrl-C.';
  static override description =
    'Prints the device paths and the rig file to check or certify against (`bench rig check <rig file>`). With --dir the devices live under that directory and the rig file is written there as rig.yaml (removed on stop). Under --json it prints JSON Lines: {"event":"instrument",…} per instrument, {"event":"serving",…} when ready, and {"event":"stopped",…} on Ctrl-C.';
  static override examples = [
    '<%= config.bin %> sim up',
    '<%= config.bin %> sim up --dir /tmp/bench-a --time-scale 30 --json',
  ];
  static override flags = {
    rig: Flags.string({
      default: 'sim-serial',
      description:
        'Built-in rig name (sim-serial, sim-ocpp, sim-ocpp16) or rig YAML file with serial or station instruments.',
    }),
    dir: Flags.string({
      description:
        "Serve the rig's serial devices under this directory (same names) and write the rig file there as rig.yaml, so several emulated benches can run side by side.",
    }),
    'time-scale': Flags.integer({
      default: 1,
      min: 1,
      description: 'Emulated seconds per wall second; certify against it with the same --time-scale.',
    }),
  };

  /** One compact JSON document per line, so a reader can follow the lines while the command runs. */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`);
  }

  async run(): Promise<SimUpResult> {
    const { flags } = await this.parse(SimUp);
    const { mkdirSync, rmSync, writeFileSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const { stringify } = await import('yaml');
    const { loadRigFile } = await import('../../../rigs/rig-file.js');
    const { assertPathsFree, simUp, withSerialPathsUnder } = await import('../../../rigs/sim-up.js');
    const { builtinRigFile } = await import('../../../engine/rig-provider.js');
    const { withServedTimeScale } = await import('../../../rigs/schema.js');
    let rigFile = resolve(builtinRigFile(flags.rig) ?? flags.rig);
    let rig = loadRigFile(rigFile);
    let written: string | undefined;
    if (flags.dir) {
      const dir = resolve(flags.dir);
      mkdirSync(dir, { recursive: true });
      rig = withServedTimeScale(withSerialPathsUnder(rig, dir), flags['time-scale']);
      // Before rig.yaml is written: a second sim up on the same folder must leave the first one's file alone.
      assertPathsFree(rig);
      written = join(dir, 'rig.yaml');
      writeFileSync(written, stringify(rig));
      rigFile = written;
    }
    let served: Awaited<ReturnType<typeof simUp>>;
    try {
      served = await simUp(rig, { timeScale: flags['time-scale'] });
    } catch (e) {
      if (written) rmSync(written, { force: true });
      throw e;
    }
    const instruments: ServedLine[] = served.instruments.map(({ id, dialect, path, emulatorPath, status }) => ({
      id,
      dialect,
      path,
      emulatorPath,
      status,
    }));
    if (this.jsonEnabled()) {
      for (const i of instruments) this.logJson({ event: 'instrument', ...i });
      this.logJson({ event: 'serving', rig: rig.name, rigFile });
    }
    for (const i of instruments)
      this.say(`${i.id.padEnd(10)} ${i.dialect.padEnd(14)} ${i.status.padEnd(12)} ${i.path}`);
    this.say(`rig file ${rigFile}  (bench rig check ${rigFile})`);
    this.say('serving; Ctrl-C to stop');
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await served.close();
    if (written) rmSync(written, { force: true });
    return { event: 'stopped', rig: rig.name, rigFile, instruments };
  }
}
