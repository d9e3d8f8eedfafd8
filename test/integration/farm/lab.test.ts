import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabRun } from '../../../farm/results.js';
import type { LabStatus } from '../../../farm/status.js';
import { benchAsync, benchChild } from '../../support/cli.js';
import { startLab, type TestLab } from '../../support/lab.js';

/** Polls `bench lab status --json` until `done` holds (each poll a CLI run, as an operator's watch would be). */
async function until(lab: TestLab, done: (s: LabStatus) => boolean, what: string): Promise<LabStatus> {
  for (let i = 0; ; i++) {
    const s = await lab.status();
    if (done(s)) return s;
    if (i > 600) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
    await sleep(500);
  }
}

describe('a lab on PostgreSQL through the built CLI: up, init, submit, two agents, status, runs, show', () => {
  let lab: TestLab;
  beforeAll(async () => {
    lab = await startLab();
  });
  afterAll(() => lab?.down());

  it('two agents share a sweep, a tagged job goes to the agent with the tag, each seed ends once', async () => {
    const agent = (name: string, tags?: string) =>
      benchChild(['agent', '--name', name, ...(tags ? ['--tags', tags] : []), '--json'], { env: lab.env });
    const a = agent('agent-a', 'bench-a');
    const b = agent('agent-b');
    try {
      await until(lab, (s) => s.agents.filter((x) => !x.stopped).length === 2, 'both agents');

      // Bad submissions are refused with the reason, and nothing is queued.
      for (const [args, message] of [
        [['--suite', 'no-such-suite'], /no built-in suite named no-such-suite/],
        [['--suite', 'smoke', '--seeds', '5-2'], /runs backwards/],
        [['--suite', 'smoke', '--rig-tags', 'bench-z'], /no agent of this lab has "bench-z"/],
      ] as const) {
        const r = await lab.lab(['submit', ...args]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect((await lab.status()).waiting).toEqual([]);

      const sweep = await lab.lab(['submit', '--suite', 'smoke', '--seeds', '1-4', '--device', 'dut-1', '--json']);
      expect(sweep.code, sweep.stderr).toBe(0);
      expect(sweep.json<{ jobs: unknown[] }>().jobs).toHaveLength(4);
      const tagged = await lab.lab(['submit', '--suite', 'smoke', '--seeds', '5', '--rig-tags', 'bench-a', '--json']);
      expect(tagged.code, tagged.stderr).toBe(0);

      const done = await until(lab, (s) => s.runs === 5 && s.agents.every((x) => x.job === null), 'five runs');
      expect(done.failed).toEqual([]);
      expect(done.queues.flatMap((q) => [q.waiting, q.active])).toEqual(done.queues.flatMap(() => [0, 0]));
      expect(done.queues.map((q) => q.tags).sort()).toEqual([[], ['bench-a']]);
    } finally {
      a.child.kill('SIGINT');
      b.child.kill('SIGINT');
    }
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const jobs = ra.json<{ jobs: number }>().jobs + rb.json<{ jobs: number }>().jobs;
    expect(jobs).toBe(5);

    const runs = await lab.lab(['runs', '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    const list = runs.json<{ runs: LabRun[] }>().runs;
    expect(list.map((r) => r.seed).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(list.every((r) => r.verdict === 'PASS' && r.integrity === 'OK' && r.suite === 'smoke')).toBe(true);
    expect(list.filter((r) => r.device === 'dut-1')).toHaveLength(4);
    // The job asking for bench-a ran on the agent that has it.
    expect(list.find((r) => r.seed === 5)?.agent).toBe('agent-a');

    const show = await lab.lab(['show', list[0]!.id, '--json']);
    expect(show.code, show.stderr).toBe(0);
    const shown = show.json<{ storedIntegrity: string; cases: unknown[]; reports: Array<{ name: string }> }>();
    expect(shown.storedIntegrity).toBe('OK');
    expect(shown.cases.length).toBeGreaterThan(0);
    expect(shown.reports.map((r) => r.name).sort()).toEqual(['report.html', 'report.json']);

    expect((await lab.status()).agents.every((x) => x.stopped)).toBe(true);
  });

  it('trend across firmware versions flags the regression; compare tabulates devices; report re-renders from the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-lab-trend-'));
    const config = (name: string, yaml: string) => {
      writeFileSync(join(dir, name), yaml);
      return join(dir, name);
    };
    const fw1 = config('fw1.yaml', 'firmwareVersion: 1.0.0\n');
    // The next firmware reads 3 % high: the energy error grows past the class limit.
    const fw2 = config('fw2.yaml', 'firmwareVersion: 1.1.0\nfaults: { gainErrorPct: 3 }\n');
    const fwB = config('fwb.yaml', 'firmwareVersion: 2.0.0\n');
    const a = benchChild(['agent', '--name', 'trend-a', '--json'], { env: lab.env });
    const b = benchChild(['agent', '--name', 'trend-b', '--json'], { env: lab.env });
    try {
      for (const [device, file] of [
        ['vendor-a', fw1],
        ['vendor-a', fw2],
        ['vendor-b', fwB],
      ] as const) {
        const r = await lab.lab([
          'submit',
          '--suite',
          'ev-billing',
          '--case',
          'ev-at-home',
          '--seeds',
          '1-3',
          '--device',
          device,
          '--meter-config',
          file,
        ]);
        expect(r.code, r.stderr).toBe(0);
        // Firmware versions are tested in order: the next one once this one's runs are in.
        await until(lab, (s) => s.waiting.length === 0 && s.agents.every((x) => x.job === null), `${device} runs`);
      }
      await until(lab, (s) => s.runs === 14, 'fourteen runs');
    } finally {
      a.child.kill('SIGINT');
      b.child.kill('SIGINT');
    }
    await Promise.all([a.result, b.result]);

    const t = await lab.lab(['trend', '--device', 'vendor-a', '--metric', 'energy.ev_error_pct_max', '--json']);
    expect(t.code).toBe(1);
    const tr = t.json<{
      better: string;
      points: Array<{ firmware: string; runs: number; passed: number; mean: number; regression: boolean }>;
    }>();
    expect(tr.better).toBe('lower');
    expect(tr.points.map((p) => [p.firmware, p.runs, p.regression])).toEqual([
      ['1.0.0', 3, false],
      ['1.1.0', 3, true],
    ]);
    expect(tr.points[0]!.passed).toBe(3);
    expect(tr.points[1]!.passed).toBe(0);
    expect(tr.points[1]!.mean).toBeGreaterThan(2.5);

    const out = join(dir, 'procurement');
    const c = await lab.lab([
      'compare',
      '--suite',
      'ev-billing',
      '--devices',
      'vendor-a,vendor-b',
      '--out',
      out,
      '--json',
    ]);
    expect(c.code, c.stderr).toBe(0);
    const table = c.json<{ rows: Array<{ device: string; runs: number; passed: number; firmware: string[] }> }>();
    expect(table.rows.map((r) => [r.device, r.runs, r.passed, r.firmware])).toEqual([
      ['vendor-a', 6, 3, ['1.0.0', '1.1.0']],
      ['vendor-b', 3, 3, ['2.0.0']],
    ]);
    const html = readFileSync(join(out, 'procurement.html'), 'utf8');
    expect(html).toContain('<th>vendor-b</th>');
    expect(html).toMatch(/class="best">3\/3 \(100 %\)/);
    const unknown = await lab.lab(['compare', '--suite', 'ev-billing', '--devices', 'vendor-a,vendor-z']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no ev-billing runs for vendor-z');

    const runs = (await lab.lab(['runs', '--device', 'vendor-b', '--json'])).json<{ runs: LabRun[] }>().runs;
    const shown = (await lab.lab(['show', runs[0]!.id, '--json'])).json<{
      reports: Array<{ name: string; sha256: string }>;
    }>();
    const rep = await lab.lab([
      'report',
      runs[0]!.id,
      '--format',
      'json,html',
      '--reports-dir',
      join(dir, 'reports'),
      '--json',
    ]);
    expect(rep.code, rep.stderr).toBe(0);
    const written = rep.json<{
      outcome: string;
      integrity: string;
      reports: Array<{ format: string; file: string; sha256: string }>;
    }>();
    expect(written.integrity).toBe('OK');
    expect(written.outcome).toBe('PASS');
    for (const f of written.reports) expect(existsSync(f.file)).toBe(true);
    // The same renderers on the same record: the JSON report is the one the agent uploaded, byte for byte.
    expect(written.reports.find((f) => f.format === 'json')?.sha256).toBe(
      shown.reports.find((f) => f.name === 'report.json')?.sha256,
    );
  });

  it('users by role: a viewer reads only, an agent takes jobs and stores its own results, an admin submits and cancels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-lab-users-'));
    const as = (name: string) => ({
      env: { PGPASSFILE: join(dir, `${name}.pgpass`), BENCH_LAB_DB: lab.url.replace('//bench@', `//${name}@`) },
    });
    for (const [name, role] of [
      ['viewer_one', 'viewer'],
      ['agent_one', 'agent'],
      ['admin_one', 'admin'],
    ] as const) {
      const r = await lab.lab(['user', name, '--role', role, '--pass-file', join(dir, `${name}.pgpass`), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/password"?\s*:/i);
    }
    const viewerRuns = await benchAsync(['lab', 'runs', '--json'], as('viewer_one'));
    expect(viewerRuns.code, viewerRuns.stderr).toBe(0);
    for (const who of ['viewer_one', 'agent_one']) {
      const refused = await benchAsync(['lab', 'submit', '--suite', 'smoke', '--seeds', '40'], as(who));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/refused this to your user: permission denied/);
    }
    const sub = await benchAsync(['lab', 'submit', '--suite', 'smoke', '--seeds', '41-42', '--json'], as('admin_one'));
    expect(sub.code, sub.stderr).toBe(0);
    const agentRun = await benchAsync(['agent', '--name', 'agent-one', '--idle-exit', '3', '--json'], as('agent_one'));
    expect(agentRun.code, agentRun.stderr).toBe(0);
    expect(agentRun.json<{ stored: number }>().stored, agentRun.stderr).toBe(2);
    const mine = (await lab.lab(['runs', '--json'])).json<{ runs: LabRun[] }>().runs.filter((r) => r.seed >= 41);
    expect(mine.map((r) => [r.seed, r.uploadedBy]).sort()).toEqual([
      [41, 'agent_one'],
      [42, 'agent_one'],
    ]);
    // Cancelling: an admin's; waiting jobs leave the queue.
    const later = await benchAsync(
      ['lab', 'submit', '--suite', 'smoke', '--seeds', '43-45', '--json'],
      as('admin_one'),
    );
    const submission = later.json<{ submission: string }>().submission;
    const byAgent = await benchAsync(['lab', 'cancel', '--submission', submission], as('agent_one'));
    expect(byAgent.code).toBe(2);
    const cancel = await benchAsync(['lab', 'cancel', '--submission', submission, '--json'], as('admin_one'));
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.json<{ cancelled: string[] }>().cancelled).toHaveLength(3);
    expect((await lab.status()).waiting).toEqual([]);
  });

  it('a password in --db is refused; the URL without it reads the pgpass file', async () => {
    const withPassword = lab.url.replace('bench@', 'bench:secret@');
    const r = await lab.lab(['runs', '--db', withPassword]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--db carries a password/);
    expect(r.stderr).not.toContain('secret');
    const ok = await lab.lab(['runs', '--db', lab.url, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
