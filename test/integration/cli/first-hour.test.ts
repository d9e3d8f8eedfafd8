import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createRun } from '../../../core/record/store.js';
import { benchAsync, REPO_ROOT } from '../../support/cli.js';
import { testHeader } from '../../support/header.js';

/** Issue 20, "a new user's first hour": what a first-time user types, through the built CLI. */

const tmp = () => mkdtempSync(join(tmpdir(), 'first-hour-'));

interface Session {
  at: string;
  plugIn: number;
  unplug: number;
}

describe('scenario generator: one EV is in one place at a time', () => {
  it("the README's example over seeds 1-10: no EV plugged in twice at once, travel time between houses; validate accepts", async () => {
    const dir = tmp();
    const files = Array.from({ length: 10 }, (_, i) => join(dir, `day-${i + 1}.yaml`));
    const runs = await Promise.all(
      files.map((out, i) =>
        benchAsync([
          'scenario',
          'generate',
          '--houses',
          '2',
          '--ev-visits',
          '3',
          '--days',
          '1',
          '--seed',
          `${i + 1}`,
          '--out',
          out,
        ]),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    let visits = 0;
    for (const f of files) {
      const s = parse(readFileSync(f, 'utf8')) as { evs: Array<{ id: string; home: string; sessions: Session[] }> };
      for (const ev of s.evs) {
        for (let k = 1; k < ev.sessions.length; k++) {
          const a = ev.sessions[k - 1]!;
          const b = ev.sessions[k]!;
          // 15 min between houses (the generator's stated travel assumption); sessions at one house only in turn.
          expect(b.plugIn, `${f} ${ev.id} session ${k}`).toBeGreaterThanOrEqual(a.unplug + (a.at === b.at ? 0 : 900));
        }
        visits += ev.sessions.filter((x) => x.at !== ev.home).length;
      }
    }
    // Clashing visits are moved, not dropped, when the day has room for them.
    expect(visits).toBe(30);
    const v = await benchAsync(['scenario', 'validate', ...files]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('scenario validate rejects an EV plugged in at two places at once, naming file:line of the later session', async () => {
    const file = join(tmp(), 'twice.yaml');
    writeFileSync(
      file,
      [
        'name: twice',
        'start: "2026-03-02T00:00:00Z"',
        'durationS: 86400',
        'houses:',
        '  - { id: house-1, contract: C-1 }',
        '  - { id: house-2, contract: C-2 }',
        'evs:',
        '  - id: ev-1',
        '    owner: C-1',
        '    home: house-1',
        '    profile: ev-1ph-7.4kw',
        '    sessions:',
        '      - { at: house-1, plugIn: 60000, unplug: 70000 }',
        '      - { at: house-2, plugIn: 40000, unplug: 61000 }',
        '',
      ].join('\n'),
    );
    const r = await benchAsync(['scenario', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:13:32 evs[0].sessions[0].plugIn: ev-1 is still plugged in at house-2`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** A suite of one smoke-like case whose scenario is `scenario` (a path or an inline object as YAML text). */
function suiteWith(dir: string, scenario: string): string {
  const file = join(dir, 'suite.yaml');
  writeFileSync(
    file,
    [
      'name: one-case',
      'version: 1',
      'title: One case',
      'cases:',
      '  - id: only',
      '    title: The only case',
      `    scenario: ${scenario}`,
      '    criteria:',
      '      - { metric: detection.recall, op: ">=", limit: 1, unit: "1" }',
      '      - { metric: billing.missing, op: "==", limit: 0, unit: count }',
      '',
    ].join('\n'),
  );
  return file;
}

/** Runs `bench certify` into fresh runs/reports folders; `runs` lists what it left there. */
async function certify(args: string[]) {
  const dir = tmp();
  const runsDir = join(dir, 'runs');
  const r = await benchAsync(['certify', ...args, '--runs-dir', runsDir, '--reports-dir', join(dir, 'reports')]);
  return { ...r, runs: existsSync(runsDir) ? readdirSync(runsDir) : [] };
}

describe('bad input is refused before a run exists, naming the file or flag', () => {
  it('a suite case pointing at a missing scenario: suite validate and certify exit 2 naming suite file:line, no run', async () => {
    const dir = tmp();
    const suite = suiteWith(dir, 'scenarios/nope.yaml');
    const v = await benchAsync(['suite', 'validate', suite]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(
      `${suite}:7:15 cases[0].scenario: scenario file ${join(dir, 'scenarios/nope.yaml')} not found`,
    );
    const c = await certify(['--suite', suite]);
    expect(c.code).toBe(2);
    expect(c.runs).toEqual([]);
    // Said once, not once per criterion.
    expect(c.stderr.split('nope.yaml').length - 1).toBe(1);
  });

  it("a suite case pointing at a scenario with negative or reversed times: refused at the scenario file's lines", async () => {
    const dir = tmp();
    const scenario = join(dir, 'reversed.yaml');
    writeFileSync(
      scenario,
      [
        'name: reversed',
        'start: "2026-03-02T00:00:00Z"',
        'durationS: 3600',
        'houses:',
        '  - { id: house-1, contract: C-1, loads: [{ id: k-1, profile: kettle, on: -5 }] }',
        'evs:',
        '  - id: ev-1',
        '    owner: C-1',
        '    profile: ev-1ph-7.4kw',
        '    sessions:',
        '      - { at: house-1, plugIn: 2000, unplug: 1000 }',
        '',
      ].join('\n'),
    );
    const suite = suiteWith(dir, 'reversed.yaml');
    const v = await benchAsync(['suite', 'validate', suite]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(`${suite}:7:15 cases[0].scenario: scenario ${scenario} is not valid`);
    expect(v.stderr).toContain(`${scenario}:5:75 houses[0].loads[0].on:`);
    expect(v.stderr).toContain(`${scenario}:11:46 evs[0].sessions[0].unplug: unplug must be after plugIn`);
    const c = await certify(['--suite', suite]);
    expect(c.code).toBe(2);
    expect(c.runs).toEqual([]);
  });

  it('an inline scenario with an unknown profile is refused at its line in the suite', async () => {
    const dir = tmp();
    const suite = suiteWith(
      dir,
      '{ name: inline, start: "2026-03-02T00:00:00Z", durationS: 600, houses: [{ id: h-1, contract: C-1, loads: [{ id: x-1, profile: kettel, on: 10 }] }] }',
    );
    const v = await benchAsync(['suite', 'validate', suite]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(
      /suite\.yaml:7:\d+ cases\[0\]\.scenario\.houses\[0\]\.loads\[0\]\.profile: unknown profile kettel/,
    );
  });

  it('a missing or misspelt --meter-config exits 2 naming the file (and line), no ABORTED run left', async () => {
    const dir = tmp();
    const missing = await certify(['--suite', 'smoke', '--meter-config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir, 'nope.yaml')}: file not found`);
    expect(missing.runs).toEqual([]);
    const typo = join(dir, 'meter.yaml');
    writeFileSync(typo, 'faults:\n  gainErorPct: 3\n');
    const r = await certify(['--suite', 'smoke', '--meter-config', typo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${typo}:2:3 faults.gainErorPct: unknown field "gainErorPct"`);
    expect(r.runs).toEqual([]);
  });

  it('--tsdb notaurl, --ledger notaurl and --case nope exit 2 naming the flag, no run left', async () => {
    const tsdb = await certify(['--suite', 'smoke', '--tsdb', 'notaurl']);
    expect(tsdb.code).toBe(2);
    expect(tsdb.stderr).toContain('--tsdb notaurl: not an http(s) URL');
    expect(tsdb.runs).toEqual([]);
    const ledger = await certify(['--suite', 'smoke', '--ledger', 'localhost:8545']);
    expect(ledger.code).toBe(2);
    expect(ledger.stderr).toContain('--ledger localhost:8545: not an http(s) URL');
    expect(ledger.runs).toEqual([]);
    const kase = await certify(['--suite', 'smoke', '--case', 'nope']);
    expect(kase.code).toBe(2);
    expect(kase.stderr).toContain('--case nope: no such case in suite smoke');
    expect(kase.stderr).toContain('ev-and-kettle');
    expect(kase.runs).toEqual([]);
  });

  it('--rig ./missing.yaml says file not found', async () => {
    const r = await certify(['--suite', 'smoke', '--rig', './missing.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rig ./missing.yaml: file not found');
    expect(r.stderr).not.toContain('unknown rig');
    expect(r.runs).toEqual([]);
  });

  it('a directory given as a file, and --out into a missing folder: exit 2 naming the path, no raw EISDIR/ENOENT', async () => {
    const dir = tmp();
    const v = await benchAsync(['scenario', 'validate', dir]);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(`${dir} is a directory`);
    const suite = await benchAsync(['suite', 'validate', dir]);
    expect(suite.code).toBe(2);
    expect(suite.stderr).toContain(`${dir} is a directory`);
    const out = join(dir, 'missing', 'day.yaml');
    const g = await benchAsync(['scenario', 'generate', '--out', out]);
    expect(g.code).toBe(2);
    expect(g.stderr).toContain(`--out ${out}: folder ${join(dir, 'missing')} does not exist`);
    const d = await benchAsync(['scenario', 'generate', '--out', dir]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`--out ${dir} is a directory`);
    for (const r of [v, suite, g, d]) expect(r.stderr).not.toMatch(/EISDIR|ENOENT/);
  });

  it('profile import with its two files swapped names the file that is not JSON', async () => {
    const plaid = join(REPO_ROOT, 'test/fixtures/profiles/plaid');
    const r = await benchAsync([
      'profile',
      'import',
      '--format',
      'plaid',
      join(plaid, 'meta.json'),
      '--meta',
      join(plaid, '1.csv'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`${join(plaid, '1.csv').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:\\d+: not JSON`),
    );
    expect(r.stderr).toContain('--meta');
  });

  it('profile validate a b c reports every bad file, not only the first', async () => {
    const dir = tmp();
    const files = ['a', 'b', 'c'].map((n) => join(dir, `${n}.yaml`));
    writeFileSync(files[0]!, 'name: a\ncolour: red\n');
    writeFileSync(files[1]!, readFileSync(join(REPO_ROOT, 'profiles/library/kettle.yaml'), 'utf8'));
    writeFileSync(files[2]!, 'name: c\nstates: 3\n');
    const r = await benchAsync(['profile', 'validate', ...files]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('2 of 3 files are not valid');
    expect(r.stderr).toContain(`${files[0]}:2:1 colour: unknown field "colour"`);
    expect(r.stderr).toContain(`${files[2]}:2:9 states:`);
    expect(r.stderr).not.toContain(`${files[1]} is not valid`);
  });

  it('a seed beyond 32 bits is refused (it was recorded as 1e20)', async () => {
    const g = await benchAsync(['scenario', 'generate', '--seed', '99999999999999999999']);
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('4294967295');
    const c = await certify(['--suite', 'smoke', '--seed', '99999999999999999999']);
    expect(c.code).toBe(2);
    expect(c.runs).toEqual([]);
  });
});

describe('an emulated bench served by bench sim up', () => {
  it('a second sim up on the same devices is refused and leaves the first serving; certify at another --time-scale and rig check after stop say what to do', async () => {
    const dir = tmp();
    const proc = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin/run.js'), 'sim', 'up', '--dir', dir, '--time-scale', '30', '--json'],
      { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (x: string) => {
      stderr += x;
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const paths: string[] = [];
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: proc.stdout }).on('line', (l) => {
          const doc = JSON.parse(l) as { event: string; path?: string };
          if (doc.event === 'instrument' && doc.path) paths.push(doc.path);
          if (doc.event === 'serving') resolve();
        });
        void exited.then(() => reject(new Error(`sim up exited before serving: ${stderr}`)));
      });
      const rigFile = join(dir, 'rig.yaml');
      const rigText = readFileSync(rigFile, 'utf8');
      const links = paths.map((p) => lstatSync(p).ino);

      const second = await benchAsync(['sim', 'up', '--dir', dir]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`${paths[0]}`);
      expect(second.stderr).toContain('already served');
      expect(second.stderr).toContain('--dir');
      // The first one's device links (to its live PTYs) and rig file are untouched.
      expect(readFileSync(rigFile, 'utf8')).toBe(rigText);
      expect(paths.map((p) => lstatSync(p).ino)).toEqual(links);
      for (const p of paths) expect(existsSync(p), p).toBe(true);

      const c = await certify(['--rig', rigFile, '--suite', 'smoke']);
      expect(c.code).toBe(2);
      expect(c.stderr).toContain('is served by `bench sim up --time-scale 30`; this run asked for --time-scale 1');
      expect(c.stderr).toContain('Certify with --time-scale 30');
      expect(c.runs).toEqual([]);

      copyFileSync(rigFile, join(dir, 'copy.yaml'));
      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      const after = await benchAsync(['rig', 'check', join(dir, 'copy.yaml')]);
      expect(after.code).toBe(3);
      expect(after.stderr).toContain(`5 instruments have no device: load: no device at ${paths[0]}`);
      expect(after.stderr).toContain('bench sim up');
      expect(after.stderr).not.toContain('ENOENT');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});

describe('run list is fast and never trusts a stale verdict', () => {
  it('caches each verified record by its bytes: a byte changed in place with size and mtime restored still reads TAMPERED; run show exits 1 on it', async () => {
    const dir = tmp();
    const { writer, runId } = createRun(dir, testHeader());
    for (let k = 0; k < 200; k++) writer.append('case.verdict', { caseId: `c${k}`, verdict: 'PASS' });
    writer.close({ status: 'COMPLETE', verdict: 'PASS' });
    const list = async () =>
      (await benchAsync(['run', 'list', '--runs-dir', dir, '--json'])).json<{
        runs: Array<{ runId: string; integrity: string; verdict?: string }>;
      }>().runs;
    expect(await list()).toMatchObject([{ runId, integrity: 'OK', verdict: 'PASS' }]);
    const cacheFile = join(dir, runId, 'verify-cache.json');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as { summary: { verdict: string } };
    // The cache is what the next list reads (a summary edited in it shows), as long as the record's bytes match.
    writeFileSync(cacheFile, JSON.stringify({ ...cache, summary: { ...cache.summary, suite: 'from-cache' } }));
    expect((await list())[0]).toMatchObject({ integrity: 'OK', suite: 'from-cache' });

    const record = join(dir, runId, 'record.jsonl');
    const { mtime, atime, size } = statSync(record);
    const text = readFileSync(record, 'utf8');
    const at = text.indexOf('"c100"');
    writeFileSync(record, `${text.slice(0, at)}"c1O0"${text.slice(at + 6)}`);
    utimesSync(record, atime, mtime);
    expect(statSync(record).size).toBe(size);
    // utimes takes seconds as a double, so the restored mtime can differ below a millisecond.
    expect(statSync(record).mtimeMs).toBeCloseTo(mtime.getTime(), 0);
    expect(await list()).toMatchObject([{ runId, integrity: 'TAMPERED' }]);
    const show = await benchAsync(['run', 'show', runId, '--runs-dir', dir]);
    expect(show.code).toBe(1);
    expect(show.stdout).toContain('integrity TAMPERED (line 102');
  });
});

describe('first steps say what happened', () => {
  it('a MARGINAL case names the metric that was marginal, its value and both bands', async () => {
    const dir = tmp();
    const suite = join(dir, 'marginal.yaml');
    writeFileSync(
      suite,
      [
        'name: marginal',
        'version: 1',
        'title: A PASS band no meter can reach',
        'cases:',
        '  - id: tight',
        '    title: Smoke day with a PASS band above 100 % recall',
        `    scenario: ${join(REPO_ROOT, 'suites/scenarios/smoke.yaml')}`,
        '    criteria:',
        '      - { metric: detection.recall, op: ">=", limit: 0.5, marginal: 1.01, unit: "1" }',
        '',
      ].join('\n'),
    );
    const r = await certify(['--suite', suite]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/MARGINAL +tight +marginal: detection\.recall=1 \(PASS >= 1\.01, limit 0\.5\)/);
  });

  it('scenario generate --json without --out carries the scenario itself', async () => {
    const r = await benchAsync(['scenario', 'generate', '--houses', '2', '--ev-visits', '1', '--seed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{
      scenario?: { name: string; houses: unknown[]; evs: unknown[] };
      houses: number;
      file?: string;
    }>();
    expect(doc.file).toBeUndefined();
    expect(doc.scenario?.name).toBe('generated-2h-1d-1v-s3');
    expect(doc.scenario?.houses).toHaveLength(doc.houses);
    // It is the scenario the YAML output holds.
    const yaml = await benchAsync(['scenario', 'generate', '--houses', '2', '--ev-visits', '1', '--seed', '3']);
    expect(parse(yaml.stdout)).toEqual(doc.scenario);
  });
});
