import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPool } from '../../farm/db.js';
import { bench, benchChild } from '../support/cli.js';
import { startLab, type TestLab } from '../support/lab.js';

/**
 * The bench farm under failure, against a real PostgreSQL started here: agents as separate processes on sim rigs,
 * killed, racing for one bench, and the database restarted under them. Every seed must end exactly once.
 */
let lab: TestLab;
let db: pg.Pool;

beforeAll(async () => {
  lab = await startLab();
  // This process reads the lab too (the results, by SQL): its password from the lab's pgpass file.
  process.env.PGPASSFILE = lab.env.PGPASSFILE;
  db = labPool(lab.url);
});
afterAll(async () => {
  await db?.end();
  lab?.down();
});

type Agent = ReturnType<typeof benchChild>;
const agents: Agent[] = [];
function agent(name: string, extra: string[] = []): Agent {
  const a = benchChild(['agent', '--name', name, '--maintenance-interval', '2', ...extra, '--json'], { env: lab.env });
  agents.push(a);
  return a;
}
async function stopAll(): Promise<void> {
  for (const a of agents.splice(0)) if (a.child.exitCode === null) a.child.kill('SIGINT');
}

const status = () => lab.status();

async function until<T>(probe: () => Promise<T | undefined>, what: string, limit = 900): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (i > limit) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Runs stored for one submission's jobs, by seed. */
async function runsOf(submission: string): Promise<Array<{ seed: number; job: string; agent: string }>> {
  const r = await db.query<{ seed: number; job: string; agent: string }>(
    `SELECT r.seed::float8 AS seed, r.job, r.agent FROM bench.runs r JOIN bench.jobs j ON j.id = r.job
     WHERE j.submission = $1 ORDER BY r.seed`,
    [submission],
  );
  return r.rows;
}

async function submit(args: string[]): Promise<{ submission: string; jobs: Array<{ id: string; seed: number }> }> {
  const r = await lab.lab(['submit', '--suite', 'smoke', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}

describe('the bench farm under failure', () => {
  it('three agents run a 30-seed sweep: every seed ends exactly once', async () => {
    for (const n of ['sweep-1', 'sweep-2', 'sweep-3']) agent(n);
    try {
      const s = await submit(['--seeds', '1-30', '--lease', '120']);
      const runs = await until(async () => {
        const r = await runsOf(s.submission);
        return r.length >= 30 ? r : undefined;
      }, '30 runs');
      expect(runs.map((r) => r.seed)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(new Set(runs.map((r) => r.job)).size).toBe(30);
      // All three took part.
      expect(new Set(runs.map((r) => r.agent)).size).toBe(3);
    } finally {
      await stopAll();
    }
  });

  it('an agent SIGKILLed mid-job: its job is run again elsewhere once its lease expires, one result kept', async () => {
    const victim = agent('victim');
    try {
      await until(
        async () => ((await status()).agents.some((a) => a.name === 'victim' && !a.stopped) ? true : undefined),
        'victim',
      );
      const s = await submit(['--seeds', '101-103', '--lease', '10']);
      const held = await until(
        async () => (await status()).agents.find((a) => a.name === 'victim')?.job ?? undefined,
        'a job on the victim',
      );
      victim.child.kill('SIGKILL');
      agent('survivor');
      const runs = await until(async () => {
        const r = await runsOf(s.submission);
        return r.length >= 3 ? r : undefined;
      }, 'three runs');
      expect(runs.map((r) => r.seed)).toEqual([101, 102, 103]);
      const redone = runs.filter((r) => r.job === held);
      expect(redone).toHaveLength(1);
      expect(redone[0]!.agent).toBe('survivor');
      const attempts = await db.query<{ attempts: number }>('SELECT attempts FROM bench.jobs WHERE id = $1', [held]);
      expect(attempts.rows[0]!.attempts).toBe(2);
    } finally {
      await stopAll();
    }
  });

  it('two agents racing for one bench never hold it at once', async () => {
    agent('race-1', ['--bench', 'shared-bench']);
    agent('race-2', ['--bench', 'shared-bench']);
    try {
      const s = await submit(['--seeds', '201-206', '--lease', '120']);
      await until(async () => ((await runsOf(s.submission)).length >= 6 ? true : undefined), 'six runs');
      const spans = (
        await db.query<{ agent: string; from: Date; to: Date }>(
          'SELECT agent, claimed_at AS from, finished_at AS to FROM bench.jobs WHERE submission = $1 ORDER BY claimed_at',
          [s.submission],
        )
      ).rows;
      expect(spans).toHaveLength(6);
      // One agent held the bench throughout; the other waited for it.
      for (let i = 1; i < spans.length; i++)
        expect(spans[i]!.from.getTime()).toBeGreaterThanOrEqual(spans[i - 1]!.to.getTime());
      expect(new Set(spans.map((x) => x.agent)).size).toBe(1);
    } finally {
      await stopAll();
    }
  });

  it('PostgreSQL restarted mid-sweep: agents reconnect and every seed still ends exactly once', async () => {
    agent('restart-1');
    agent('restart-2');
    try {
      const s = await submit(['--seeds', '301-310', '--lease', '20']);
      await until(async () => ((await runsOf(s.submission)).length >= 2 ? true : undefined), 'two runs');
      expect(bench(['lab', 'down', '--dir', lab.dir]).code).toBe(0);
      await sleep(2000);
      const up = bench(['lab', 'up', '--dir', lab.dir, '--json']);
      expect(up.code, up.stderr).toBe(0);
      await db.end();
      db = labPool(lab.url);
      const runs = await until(async () => {
        const r = await runsOf(s.submission);
        return r.length >= 10 ? r : undefined;
      }, 'ten runs after the restart');
      expect(runs.map((r) => r.seed)).toEqual(Array.from({ length: 10 }, (_, i) => 301 + i));
      expect(new Set(runs.map((r) => r.job)).size).toBe(10);
    } finally {
      await stopAll();
    }
  });
});
