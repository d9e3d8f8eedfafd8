import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readRunRecord } from '../../../core/record/reader.js';
import { requireSocat } from '../../../rigs/emulators/pty.js';
import { bench, benchAsync, REPO_ROOT } from '../../support/cli.js';
import { descendantsOf, stillRunning } from '../../support/processes.js';

/**
 * Starts a long certification and resolves once its record shows `cases` cases started (a case starts only after
 * the rig opened, so every instrument and emulator of the run is up by then).
 */
async function startCertify(
  runsDir: string,
  reportsDir: string,
  opts: { args?: string[]; cases?: number; env?: Record<string, string> } = {},
): Promise<{ child: ChildProcess; record: string; exit: Promise<number | null>; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin/run.js'),
      'certify',
      '--suite',
      'ev-billing',
      '--runs-dir',
      runsDir,
      '--reports-dir',
      reportsDir,
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (;;) {
    const runs = existsSync(runsDir) ? readdirSync(runsDir) : [];
    if (runs.length === 1) {
      const record = join(runsDir, runs[0]!, 'record.jsonl');
      const started = existsSync(record)
        ? (readFileSync(record, 'utf8').match(/"kind":"case.start"/g)?.length ?? 0)
        : 0;
      if (started >= (opts.cases ?? 2)) return { child, record, exit, stderr: () => stderr };
    }
    if (child.exitCode !== null) throw new Error(`certify exited early with ${child.exitCode}: ${stderr}`);
    await sleep(100);
  }
}

/** `bench sim up` serving the sim-serial emulators under `dir`; resolves with its rig file once it serves. */
async function startSimUp(dir: string, timeScale: number): Promise<{ rigFile: string; stop(): Promise<void> }> {
  const proc = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/run.js'), 'sim', 'up', '--dir', dir, '--time-scale', String(timeScale), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const rigFile = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const doc = JSON.parse(l) as { event: string; rigFile?: string };
      if (doc.event === 'serving') resolve(doc.rigFile as string);
    });
    void exited.then((code) => reject(new Error(`sim up exited before serving (${code}): ${stderr}`)));
  });
  return {
    rigFile,
    stop: async () => {
      proc.kill('SIGINT');
      await exited;
    },
  };
}

describe('interrupted and crashed runs', () => {
  it('Ctrl-C ends the run cleanly: record INCOMPLETE, reports marked INCOMPLETE, exit 1', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'int-runs-'));
    const reports = mkdtempSync(join(tmpdir(), 'int-reports-'));
    const { child, record, exit } = await startCertify(runs, reports);
    child.kill('SIGINT');
    expect(await exit).toBe(1);
    const read = readRunRecord(record);
    expect(read.integrity).toBe('INCOMPLETE');
    expect(read.end?.status).toBe('ABORTED');
    const runId = readdirSync(runs)[0]!;
    const json = JSON.parse(readFileSync(join(reports, runId, 'report.json'), 'utf8'));
    expect(json.outcome).toBe('INCOMPLETE');
    expect(json.outcome).not.toBe('PASS');
  });

  it('SIGKILL mid-run: record INCOMPLETE, bench report renders it INCOMPLETE, a new run does not overwrite it', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'kill-runs-'));
    const reports = mkdtempSync(join(tmpdir(), 'kill-reports-'));
    const { child, record, exit } = await startCertify(runs, reports);
    child.kill('SIGKILL');
    await exit;
    const before = readFileSync(record);
    expect(readRunRecord(record).integrity).toBe('INCOMPLETE');
    const runId = readdirSync(runs)[0]!;
    const r = bench(['report', runId, '--runs-dir', runs, '--reports-dir', reports, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ outcome: string }>().outcome).toBe('INCOMPLETE');
    const next = bench(['certify', '--suite', 'smoke', '--runs-dir', runs, '--reports-dir', reports, '--json']);
    expect(next.code).toBe(0);
    const newRun = next.json<{ runId: string; verdict: string }>();
    expect(newRun.runId).not.toBe(runId);
    expect(readFileSync(record).equals(before)).toBe(true);
    expect(readdirSync(runs).sort()).toEqual([runId, newRun.runId].sort());
  });

  it('bench certify --json prints one JSON result with the verdict, record hash and anchor', () => {
    const runs = mkdtempSync(join(tmpdir(), 'json-runs-'));
    const r = bench([
      'certify',
      '--suite',
      'smoke',
      '--seed',
      '3',
      '--runs-dir',
      runs,
      '--reports-dir',
      join(runs, 'rep'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = r.json<{ verdict: string; recordHash: string; anchor: { txHash: string }; cases: unknown[] }>();
    expect(out.verdict).toBe('PASS');
    expect(out.recordHash).toMatch(/^[0-9a-f]{64}$/);
    expect(out.anchor.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('bad input exits 2 before any run is created', () => {
    const runs = mkdtempSync(join(tmpdir(), 'bad-runs-'));
    expect(bench(['certify', '--suite', 'no-such-suite', '--runs-dir', runs]).code).toBe(2);
    expect(bench(['certify', '--rig', 'no-such-rig', '--runs-dir', runs]).code).toBe(2);
    expect(
      bench(['certify', '--suite', join(REPO_ROOT, 'test/fixtures/suites/broken-suite.yaml'), '--runs-dir', runs]).code,
    ).toBe(2);
    expect(readdirSync(runs)).toEqual([]);
  });
});

/**
 * Ctrl-C on every kind of rig (issue 20.1: on sim-serial and rig files johnny-five's own SIGINT handler ended the
 * process with exit 0, no summary, no reports and five socat processes orphaned): exit 1, the reports written
 * INCOMPLETE (never PASS), `run show` ABORTED, and no process the run started outlives it.
 */
describe('Ctrl-C on a rig with instruments ends the run like on sim', () => {
  const TIME_SCALE = 30;
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  const simSerial = async () => ['--rig', 'sim-serial', '--time-scale', String(TIME_SCALE)];
  // SIGTERM is what a CI runner's timeout or `kill` sends: it must end the run as Ctrl-C does (Node's default for it
  // ends the process at once, orphaning sim-serial's socat).
  const rigs: Array<[NodeJS.Signals, string, () => Promise<string[]>]> = [
    ['SIGINT', 'sim', async () => []],
    ['SIGINT', 'sim-serial', simSerial],
    ['SIGTERM', 'sim-serial', simSerial],
    [
      'SIGINT',
      'a rig file served by bench sim up',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'int-simup-'));
        const sim = await startSimUp(join(dir, 'devices'), TIME_SCALE);
        stops.push(sim.stop);
        // The emulators share the machine's cores with the run (and ganache's start): the stream DUT gets more than
        // the default 1 s to answer identify, as a lab would set for a slow meter.
        const rig = parse(readFileSync(sim.rigFile, 'utf8')) as {
          instruments: Array<{ id: string; timeoutMs?: number }>;
        };
        for (const i of rig.instruments) if (i.id === 'dut-stream') i.timeoutMs = 10_000;
        const rigFile = join(dir, 'rig.yaml');
        writeFileSync(rigFile, stringify(rig));
        return ['--rig', rigFile, '--time-scale', String(TIME_SCALE)];
      },
    ],
  ];
  it.each(rigs)(
    '%s on %s: exit 1, INCOMPLETE reports, run show ABORTED, no child process left',
    async (signal, name, rigArgs) => {
      if (name !== 'sim') requireSocat();
      const args = await rigArgs();
      const runs = mkdtempSync(join(tmpdir(), 'int-rig-runs-'));
      const reports = mkdtempSync(join(tmpdir(), 'int-rig-reports-'));
      // The run's own temporary files (sim-serial's PTY links) go here, to check that none is left behind.
      const tmp = mkdtempSync(join(tmpdir(), 'int-rig-tmp-'));
      const { child, record, exit, stderr } = await startCertify(runs, reports, {
        args,
        cases: name === 'sim' ? 2 : 1,
        env: { TMPDIR: tmp },
      });
      const children = descendantsOf(child.pid as number);
      if (name === 'sim-serial') expect(children.filter((p) => /socat/.test(p.cmd))).toHaveLength(5);
      child.kill(signal);
      expect(await exit).toBe(1);
      expect(stderr()).toContain(`Interrupted (${signal})`);
      expect(children.filter(stillRunning)).toEqual([]);
      expect(readdirSync(tmp).filter((f) => f.startsWith('bench-'))).toEqual([]);

      expect(readRunRecord(record).integrity).toBe('INCOMPLETE');
      const runId = readdirSync(runs)[0]!;
      const json = JSON.parse(readFileSync(join(reports, runId, 'report.json'), 'utf8'));
      expect(json.outcome).toBe('INCOMPLETE');
      expect(readFileSync(join(reports, runId, 'summary.md'), 'utf8')).toMatch(/^# ⛔ INCOMPLETE/);
      expect(readFileSync(join(reports, runId, 'junit.xml'), 'utf8')).toContain('name="outcome" value="INCOMPLETE"');
      const show = await benchAsync(['run', 'show', runId, '--runs-dir', runs, '--json']);
      expect(show.code).toBe(0);
      const shown = show.json<{ status: string; verdict: string; integrity: string }>();
      expect(shown).toMatchObject({ status: 'ABORTED', integrity: 'INCOMPLETE' });
      expect(shown.verdict).not.toBe('PASS');
    },
  );
});
