import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readRunRecord } from '../../../engine/record/reader.js';
import { bench, REPO_ROOT } from '../../support/cli.js';

/** Starts a long certification and resolves once its record shows the second case running. */
async function startCertify(
  runsDir: string,
  reportsDir: string,
): Promise<{ child: ChildProcess; record: string; exit: Promise<number | null> }> {
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
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (;;) {
    const runs = existsSync(runsDir) ? readdirSync(runsDir) : [];
    if (runs.length === 1) {
      const record = join(runsDir, runs[0]!, 'record.jsonl');
      if (existsSync(record) && (readFileSync(record, 'utf8').match(/"kind":"case.start"/g)?.length ?? 0) >= 2) {
        return { child, record, exit };
      }
    }
    if (child.exitCode !== null) throw new Error(`certify exited early with ${child.exitCode}`);
    await sleep(100);
  }
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
