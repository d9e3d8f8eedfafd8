import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readRunRecord } from '../../../core/record/reader.js';
import { RECORD_FILE } from '../../../core/record/store.js';
import type { SweepResult } from '../../../engine/sweep.js';
import { benchAsync, benchOnTty, REPO_ROOT } from '../../support/cli.js';

const BAR = /[█░]/;

function dirs() {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
  return { dir, runs: join(dir, 'runs'), reports: join(dir, 'reports') };
}

function records(runs: string) {
  return readdirSync(runs).map((id) => ({ id, read: readRunRecord(join(runs, id, RECORD_FILE)) }));
}

describe('bench certify --seeds: a seed sweep', () => {
  it('runs every seed as its own run record and reports a pass rate per case (--json)', async () => {
    const d = dirs();
    const r = await benchAsync([
      'certify',
      '--suite',
      'smoke',
      '--seeds',
      '3,5-6',
      '--jobs',
      '2',
      '--format',
      'json',
      '--runs-dir',
      d.runs,
      '--reports-dir',
      d.reports,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.json<SweepResult>();
    expect(out).toMatchObject({ suite: 'smoke', seeds: [3, 5, 6], jobs: 2, failingSeeds: [], errors: [], notRun: [] });
    expect(out.runs.map((x) => x.seed)).toEqual([3, 5, 6]);
    expect(out.cases).toEqual([
      { id: 'ev-and-kettle', title: expect.any(String), runs: 3, passed: 3, passRate: 1, failingSeeds: [] },
    ]);
    expect(out.wallS).toBeGreaterThan(0);
    // One record per seed, each whole and carrying its own seed.
    const recs = records(d.runs);
    expect(recs.map((x) => x.id).sort()).toEqual(out.runs.map((x) => x.runId).sort());
    expect(new Set(recs.map((x) => x.id)).size).toBe(3);
    for (const { read } of recs) expect(read.integrity).toBe('OK');
    expect(recs.map(({ read }) => read.header?.seeds.run).sort()).toEqual([3, 5, 6]);
  });

  it('a faulty meter fails every seed: exit 1, the bar on a terminal, the summary names seeds and criteria', async () => {
    const d = dirs();
    const config = join(d.dir, 'duplicates.yaml');
    writeFileSync(config, JSON.stringify({ faults: { duplicateSubmission: true } }));
    const r = await benchOnTty([
      'certify',
      '--suite',
      'smoke',
      '--seeds',
      '1-2',
      '--meter-config',
      config,
      '--format',
      'json',
      '--runs-dir',
      d.runs,
      '--reports-dir',
      d.reports,
    ]);
    expect(r.code).toBe(1);
    expect(r.screen).toMatch(BAR);
    expect(r.screen).toMatch(/seeds 2\/2 \|[█░]+\| 100% cases, 2 failed/);
    const screen = r.screen.replace(/\r/g, '');
    expect(screen).toMatch(/FAIL {2}0 of 2 seeds passed {2}smoke on sim, seeds 1-2, \d+ jobs?, [\d.]+ s wall/);
    expect(screen).toMatch(/ev-and-kettle +0\/2 +0 % {2}failing seeds 1-2/);
    for (const seed of [1, 2]) {
      expect(screen).toMatch(
        new RegExp(`seed ${seed} {2}FAIL {2}run \\S+\\n +FAIL +ev-and-kettle: billing\\.duplicates=1 \\(== 0\\)`),
      );
    }
    expect(records(d.runs)).toHaveLength(2);
  });

  it.each([
    ['3-1', 'range "3-1" runs backwards'],
    ['1,x', '"x" is not a seed'],
    ['1.5', '"1.5" is not a seed'],
    ['1,,2', 'an empty entry'],
    ['1-3,2', 'seed 2 is listed twice'],
  ])('--seeds %s is an input error naming the flag, before any run', async (seeds, message) => {
    const d = dirs();
    const r = await benchAsync(['certify', '--suite', 'smoke', '--seeds', seeds, '--runs-dir', d.runs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--seeds "${seeds}": ${message}`);
    expect(existsSync(d.runs)).toBe(false);
  });

  it('--seeds and --seed together, or --jobs on a rig that is one physical setup, are input errors', async () => {
    const both = await benchAsync(['certify', '--seeds', '1-2', '--seed', '3']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--seed=3 cannot also be provided when using --seeds');
    const rig = await benchAsync(['certify', '--rig', 'sim-serial', '--seeds', '1-2', '--jobs', '2']);
    expect(rig.code).toBe(2);
    expect(rig.stderr).toContain('--jobs 2: rig');
  });

  it('Ctrl-C stops every run of the sweep: records INCOMPLETE, no child left, no further seed, exit 1', async () => {
    const d = dirs();
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin/run.js'), 'certify', '--seeds', '1-6', '--jobs', '2', '--format', 'json'].concat([
        '--runs-dir',
        d.runs,
        '--reports-dir',
        d.reports,
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Both runs are inside a case before the interrupt.
    for (;;) {
      const started = existsSync(d.runs)
        ? readdirSync(d.runs).filter((id) => {
            const f = join(d.runs, id, RECORD_FILE);
            return existsSync(f) && readFileSync(f, 'utf8').includes('"kind":"case.start"');
          })
        : [];
      if (started.length === 2) break;
      if (child.exitCode !== null) throw new Error(`the sweep exited early with ${child.exitCode}`);
      await sleep(100);
    }
    const workers = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
    expect(workers).toHaveLength(2);
    child.kill('SIGINT');
    expect(await exit).toBe(1);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    const recs = records(d.runs);
    expect(recs).toHaveLength(2);
    for (const { read } of recs) {
      expect(read.integrity).toBe('INCOMPLETE');
      expect(read.end?.status).toBe('ABORTED');
    }
    expect(stdout).toMatch(/\(interrupted\)/);
    expect(stdout).toMatch(/not run: seeds 3-6/);
  });
});
