import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabRun } from '../../../farm/results.js';
import type { LabStatus } from '../../../farm/status.js';
import { benchChild } from '../../support/cli.js';
import { startLab, type TestLab } from '../../support/lab.js';

/** Polls `bench lab status --json` until `done` holds (each poll a CLI run, as an operator's watch would be). */
async function until(lab: TestLab, done: (s: LabStatus) => boolean, what: string): Promise<LabStatus> {
  for (let i = 0; ; i++) {
    const r = await lab.lab(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<LabStatus>();
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
      const before = await lab.lab(['status', '--json']);
      expect(before.json<LabStatus>().waiting).toEqual([]);

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

    const after = await lab.lab(['status', '--json']);
    expect(after.json<LabStatus>().agents.every((x) => x.stopped)).toBe(true);
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
