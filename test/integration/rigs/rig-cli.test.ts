import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readRunRecord } from '../../../core/record/reader.js';
import { createRun, RECORD_FILE } from '../../../core/record/store.js';
import { BenchPhysics } from '../../../rigs/emulators/physics.js';
import { openPtyPair, type PtyPair, requireSocat } from '../../../rigs/emulators/pty.js';
import { ScpiLoadEmulator } from '../../../rigs/emulators/scpi-load-emulator.js';
import { serveLinesOnSerial } from '../../../rigs/emulators/serve-line.js';
import { loadRigFile } from '../../../rigs/rig-file.js';
import { type RigConfig, rigSchema } from '../../../rigs/schema.js';
import { simUp } from '../../../rigs/sim-up.js';
import { benchAsync, REPO_ROOT } from '../../support/cli.js';
import { testHeader } from '../../support/header.js';

/**
 * `bench rig check`, `bench certify --rig` and `bench sim up` as a user runs them: the built CLI in a child process
 * against emulators on real socat PTYs (served by this test process, or by `sim up` itself).
 */

interface CheckJson {
  rig: string;
  instruments: Array<{
    id: string;
    status: string;
    identity?: string;
    capabilities: string[];
    transport: string;
    latency?: { count: number };
    error?: { code: string; device: string; message: string };
  }>;
  error?: { code: string; device: string; message: string; exitCode: number };
}

let dir: string;
const closers: Array<() => Promise<void>> = [];

function rigFile(name: string, instruments: unknown[]): string {
  const file = join(dir, `${name}.yaml`);
  // Parsed first so a typo in this test is a schema error here, not a puzzling CLI failure.
  rigSchema.parse({ name, instruments });
  writeFileSync(file, stringify({ name, instruments }));
  return file;
}

const serial = (path: string, baudRate: number) => ({ kind: 'serial', path, baudRate });

describe('bench rig check and bench certify --rig against emulators on PTYs', () => {
  let good: string;
  let goodRig: RigConfig;
  let impostorPath: string;
  let silentPath: string;

  beforeAll(async () => {
    requireSocat();
    dir = mkdtempSync(join(tmpdir(), 'bench-rig-cli-'));
    good = rigFile('bench-good', [
      {
        id: 'load',
        role: 'load',
        dialect: 'chroma-63800',
        transport: serial(join(dir, 'load'), 115200),
        capabilities: ['load.setpoints'],
      },
      {
        id: 'dut',
        role: 'dut',
        dialect: 'sdm630',
        transport: serial(join(dir, 'dut'), 9600),
        capabilities: ['meter.measurements'],
      },
      {
        id: 'optical',
        role: 'reference',
        dialect: 'iec62056-21',
        transport: serial(join(dir, 'optical'), 300),
        capabilities: ['meter.measurements'],
      },
      {
        id: 'board',
        role: 'io',
        dialect: 'firmata',
        transport: serial(join(dir, 'board'), 57600),
        capabilities: ['pulse.count', 'relay.switch'],
      },
      {
        id: 'dut-stream',
        role: 'dut',
        dialect: 'jsonl',
        transport: serial(join(dir, 'dut-stream'), 115200),
        capabilities: ['meter.events', 'meter.billing'],
      },
    ]);
    goodRig = loadRigFile(good);
    const served = await simUp(goodRig);
    closers.push(served.close);

    // A load that is not the rig file's: another maker's *IDN? answer.
    const impostor = new ScpiLoadEmulator(new BenchPhysics(1000, performance.now()));
    impostor.identity = 'KEYSIGHT,AC6804B,MY56001234,A.01.02';
    impostorPath = join(dir, 'impostor');
    const pair: PtyPair = await openPtyPair({ a: `${impostorPath}.emu`, b: impostorPath });
    const line = await serveLinesOnSerial(`${impostorPath}.emu`, impostor);
    closers.push(line.close, pair.close);

    // A line with nothing behind it: the instrument is switched off.
    silentPath = join(dir, 'silent');
    const silent = await openPtyPair({ a: `${silentPath}.far`, b: silentPath });
    closers.push(silent.close);
  });

  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every instrument right: exit 0, identities and capabilities printed for each', async () => {
    const r = await benchAsync(['rig', 'check', good, '--pings', '5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    const line = (id: string) => lines.find((l) => l.startsWith(`${id} `)) ?? '';
    expect(line('load')).toMatch(/ ok +CHROMA,63804,EMU0001,1\.00 +\[load\.setpoints\]/);
    expect(line('dut')).toMatch(/ ok +Modbus sdm630 unit 1, 230\.0 V +\[meter\.measurements\]/);
    expect(line('optical')).toMatch(
      / ok +IEC 62056-21 BEN EMU62056 @ 9600 Bd, 1\.8\.0 = \d+\.\d+ kWh +\[meter\.measurements\]/,
    );
    expect(line('board')).toMatch(/ ok +BenchFirmataEmu\.ino 2\.4 +\[pulse\.count, relay\.switch\]/);
    expect(line('dut-stream')).toMatch(/ ok +\S.* \(0x[0-9a-fA-F]{40}\) +\[meter\.events, meter\.billing\]/);
    for (const l of lines) expect(l).toContain(`serial:${dir}/`);
  });

  it('--json: one document with each instrument’s identity, declared capabilities and latency', async () => {
    const r = await benchAsync(['rig', 'check', good, '--pings', '5', '--json']);
    expect(r.code).toBe(0);
    const out = r.json<CheckJson>();
    expect(out.rig).toBe('bench-good');
    expect(out.error).toBeUndefined();
    expect(out.instruments.map((i) => [i.id, i.status])).toEqual(goodRig.instruments.map((i) => [i.id, 'ok']));
    for (const [k, i] of out.instruments.entries()) {
      expect(i.capabilities).toEqual(goodRig.instruments[k]?.capabilities);
      expect(i.identity).toBeTruthy();
    }
    const byId = Object.fromEntries(out.instruments.map((i) => [i.id, i]));
    expect(byId.load?.latency?.count).toBe(5);
    expect(byId.dut?.latency?.count).toBe(5);
    expect(byId.optical?.latency?.count).toBe(3);
    expect(byId['dut-stream']?.latency?.count).toBe(5);
  });

  /** A rig whose load port answers another maker's identity, beside the right Modbus DUT. */
  const impostorRig = (name: string) =>
    rigFile(name, [
      {
        id: 'load',
        role: 'load',
        dialect: 'chroma-63800',
        transport: serial(impostorPath, 115200),
        capabilities: ['load.setpoints'],
      },
      {
        id: 'dut',
        role: 'dut',
        dialect: 'sdm630',
        transport: serial(join(dir, 'dut'), 9600),
        capabilities: ['meter.measurements'],
      },
    ]);

  it('a load answering another identity: exit 3 naming it, the other instruments still checked', async () => {
    const file = impostorRig('bench-impostor');
    const r = await benchAsync(['rig', 'check', file, '--pings', '3']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^Error: load: unexpected identity "KEYSIGHT,AC6804B,MY56001234,A\.01\.02" for dialect chroma-63800\n/,
    );
    expect(r.stderr).toContain('→ Is load the instrument the rig file means?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(/^load +load +failed +load: unexpected identity/m);
    expect(r.stdout).toMatch(/^dut +dut +ok +Modbus sdm630 unit 1/m);

    const j = await benchAsync(['rig', 'check', file, '--pings', '3', '--json']);
    expect(j.code).toBe(3);
    const out = j.json<CheckJson>();
    expect(out.error).toMatchObject({ code: 'IDENTITY', device: 'load', exitCode: 3 });
    expect(out.instruments.map((i) => [i.id, i.status, i.error?.code])).toEqual([
      ['load', 'failed', 'IDENTITY'],
      ['dut', 'ok', undefined],
    ]);
  });

  it('a rig file declaring a dialect the instrument does not speak: exit 3 naming it', async () => {
    // A JSONL billing stream declared where the SCPI load is: the load never answers identify.
    const file = rigFile('bench-misdeclared', [
      {
        id: 'meter-stream',
        role: 'dut',
        dialect: 'jsonl',
        transport: serial(join(dir, 'load'), 115200),
        capabilities: ['meter.events', 'meter.billing'],
        timeoutMs: 300,
      },
    ]);
    const r = await benchAsync(['rig', 'check', file, '--json']);
    expect(r.code).toBe(3);
    expect(r.json<CheckJson>().error).toMatchObject({
      code: 'IDENTITY',
      device: 'meter-stream',
      message: expect.stringMatching(/^meter-stream: the meter did not answer identify/),
    });
  });

  it('instruments that are not there or never answer: exit 3 naming each', async () => {
    const file = rigFile('bench-dark', [
      {
        id: 'load',
        role: 'load',
        dialect: 'chroma-63800',
        transport: serial(silentPath, 115200),
        capabilities: ['load.setpoints'],
        timeoutMs: 300,
      },
      {
        id: 'dut',
        role: 'dut',
        dialect: 'sdm630',
        transport: serial(join(dir, 'unplugged-adapter'), 9600),
        capabilities: ['meter.measurements'],
      },
    ]);
    const r = await benchAsync(['rig', 'check', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^Error: load, dut: 2 instruments failed the check: load: no answer within 300 ms \[TIMEOUT\]; dut: no device at .*unplugged-adapter \[NO_DEVICE\]\n/,
    );
    const j = (await benchAsync(['rig', 'check', file, '--json'])).json<CheckJson>();
    expect(j.instruments.map((i) => [i.id, i.status, i.error?.code, i.error?.device])).toEqual([
      ['load', 'failed', 'TIMEOUT', 'load'],
      // Nothing at the path: said as such (and what to start), not the driver's raw open error.
      ['dut', 'failed', 'NO_DEVICE', 'dut'],
    ]);
    // One silent instrument alone: its own error, exit 3.
    const one = rigFile('bench-silent', [
      {
        id: 'load',
        role: 'load',
        dialect: 'chroma-63800',
        transport: serial(silentPath, 115200),
        capabilities: ['load.setpoints'],
        timeoutMs: 300,
      },
    ]);
    const s = await benchAsync(['rig', 'check', one]);
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/^Error: load: no answer within 300 ms\n/);
  });

  it('certify --rig with the wrong load: exit 3 naming it, earlier runs untouched, the new record ends ABORTED', async () => {
    const file = impostorRig('bench-impostor-certify');
    const runs = join(dir, 'runs');
    const reports = join(dir, 'reports');
    mkdirSync(runs);
    const earlier = createRun(runs, testHeader());
    earlier.writer.append('case.verdict', { caseId: 'c1', verdict: 'PASS' });
    earlier.writer.close({ status: 'COMPLETE', verdict: 'PASS' });
    const earlierBytes = readFileSync(earlier.writer.file);

    const r = await benchAsync([
      'certify',
      '--rig',
      file,
      '--suite',
      'smoke',
      '--runs-dir',
      runs,
      '--reports-dir',
      reports,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/Error: load: unexpected identity "KEYSIGHT,AC6804B,MY56001234,A\.01\.02"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    expect(readFileSync(earlier.writer.file)).toEqual(earlierBytes);
    const ids = readdirSync(runs).sort();
    expect(ids).toHaveLength(2);
    const aborted = ids.find((id) => id !== earlier.runId) as string;
    const rec = readRunRecord(join(runs, aborted, RECORD_FILE));
    // The chain holds (no TAMPERED line); the run is marked so it can never read as a verdict.
    expect(rec.integrity).toBe('INCOMPLETE');
    expect(rec.problem?.reason).toBe('the run ended ABORTED');
    expect(rec.end).toMatchObject({ status: 'ABORTED', verdict: 'ERROR' });
    expect(rec.end?.reason).toMatch(/^load: unexpected identity/);
    expect(rec.entries.some((e) => e.kind === 'case.verdict')).toBe(false);
    expect(existsSync(reports) ? readdirSync(reports) : []).toEqual([]);
  });
});

/** Every process whose command line mentions `path` (socat serving a PTY link there, say). */
function processesUsing(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(path)) found.push(`${pid}: ${cmd}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe('bench sim up as a command', () => {
  let simDir: string;
  let child: ChildProcess | undefined;

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(simDir, { recursive: true, force: true });
  });

  it('prints the device paths and its rig file (--json lines), rig check passes on them, SIGINT stops it cleanly', async () => {
    requireSocat();
    simDir = mkdtempSync(join(tmpdir(), 'bench-sim-up-'));
    const devices = join(simDir, 'devices');
    const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin/run.js'), 'sim', 'up', '--dir', devices, '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const lines: Array<Record<string, unknown>> = [];
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    const serving = new Promise<Record<string, unknown>>((resolve, reject) => {
      rl.on('line', (l) => {
        const doc = JSON.parse(l) as Record<string, unknown>;
        lines.push(doc);
        if (doc.event === 'serving') resolve(doc);
      });
      void exited.then((e) => reject(new Error(`sim up exited before serving (${JSON.stringify(e)}): ${stderr}`)));
    });
    const ready = await serving;

    const served = lines.filter((l) => l.event === 'instrument') as Array<{
      event: string;
      id: string;
      path: string;
      status: string;
    }>;
    expect(served.map((i) => [i.id, i.status])).toEqual([
      ['load', 'served'],
      ['dut', 'served'],
      ['reference', 'served'],
      ['board', 'served'],
      ['dut-stream', 'served'],
    ]);
    for (const i of served) {
      expect(i.path.startsWith(`${devices}/`)).toBe(true);
      expect(lstatSync(i.path).isSymbolicLink()).toBe(true);
    }
    expect(ready).toEqual({ event: 'serving', rig: 'sim-serial', rigFile: join(devices, 'rig.yaml') });

    const check = await benchAsync(['rig', 'check', ready.rigFile as string, '--pings', '3', '--json']);
    expect(check.code).toBe(0);
    const out = check.json<CheckJson>();
    expect(out.instruments.map((i) => [i.id, i.status])).toEqual(served.map((i) => [i.id, 'ok']));
    for (const [k, i] of out.instruments.entries()) expect(i.transport).toContain(served[k]?.path);

    proc.kill('SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    expect(lines.at(-1)).toEqual({
      event: 'stopped',
      rig: 'sim-serial',
      rigFile: ready.rigFile,
      instruments: served.map(({ event: _event, ...i }) => i),
    });
    for (const i of served) {
      expect(existsSync(i.path)).toBe(false);
      expect(existsSync(`${i.path}.emu`)).toBe(false);
    }
    expect(existsSync(join(devices, 'rig.yaml'))).toBe(false);
    expect(processesUsing(devices)).toEqual([]);
  });
});
