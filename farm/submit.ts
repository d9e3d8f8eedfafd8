import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type PgBoss from 'pg-boss';
import { InputError } from '../core/errors.js';
import { resolveSuite } from '../engine/suite.js';
import { parseSeeds } from '../engine/sweep.js';
import { loadMeterConfigFile } from '../meter/config.js';
import { inTransaction } from './db.js';

/** What a job carries to the agent that runs it. */
export interface JobData {
  suite: string;
  seed: number;
  device?: string;
  /** The meter configuration's YAML (fault knobs) for simulated rigs, as submitted. */
  meterConfig?: string;
  /** Only these cases of the suite. */
  cases?: string[];
}

export interface SubmitOptions {
  suite: string;
  seeds: string;
  /** Only these cases of the suite (ids checked against it). */
  cases?: readonly string[];
  device?: string;
  rigTags?: readonly string[];
  priority?: number;
  meterConfigFile?: string;
  /** How long an agent may hold a job before it is given to another (pg-boss expiry: the lease). */
  leaseS?: number;
  /** Retries after a job's lease expired or its run failed to start. */
  retryLimit?: number;
}

export interface Submitted {
  submission: string;
  queue: string;
  requires: string[];
  jobs: Array<{ id: string; seed: number }>;
}

const TAG = /^[a-z0-9][a-z0-9._-]*$/;
/** A suite of the built-in library runs in minutes; a lease this long leaves room for a loaded bench host. */
export const DEFAULT_LEASE_S = 1800;

/**
 * The queue of every job with the same requirements (capabilities the suite's cases need, rig tags asked for): named
 * by their hash, the list itself kept in bench.queues for agents to match against what their rig has.
 */
export function queueFor(requires: readonly string[]): string {
  const key = [...new Set(requires)].sort().join(',');
  return `bench-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/**
 * Checks everything first (suite, seeds, tags, meter configuration), so a bad submission enqueues nothing; then
 * records the submission and its jobs and inserts them into pg-boss in one transaction.
 */
export async function submit(pool: pg.Pool, boss: PgBoss, o: SubmitOptions): Promise<Submitted> {
  const { suite, file } = resolveSuite(o.suite);
  const seeds = parseSeeds(o.seeds);
  const unknownCases = (o.cases ?? []).filter((id) => !suite.cases.some((c) => c.id === id));
  if (unknownCases.length)
    throw new InputError(
      `--case: ${o.suite} has no case ${unknownCases.join(', ')}`,
      unknownCases.map((id) => ({ file: '--case', message: `unknown case ${id}` })),
      [`Its cases: ${suite.cases.map((c) => c.id).join(', ')}.`],
    );
  const cases = o.cases?.length ? suite.cases.filter((c) => o.cases!.includes(c.id)) : suite.cases;
  const tags = [...new Set(o.rigTags ?? [])];
  for (const t of tags)
    if (!TAG.test(t))
      throw new InputError(`--rig-tags: "${t}" is not a tag (lower-case letters, digits, . _ -)`, [
        { file: '--rig-tags', message: `bad tag ${t}` },
      ]);
  if (tags.length) {
    const known = new Set(
      (await pool.query<{ tag: string }>('SELECT DISTINCT unnest(tags) AS tag FROM bench.agents')).rows.map(
        (r) => r.tag,
      ),
    );
    const unknown = tags.filter((t) => !known.has(t));
    if (unknown.length)
      throw new InputError(
        `--rig-tags: no agent of this lab has ${unknown.map((t) => `"${t}"`).join(', ')}: such jobs would wait forever`,
        unknown.map((t) => ({ file: '--rig-tags', message: `unknown tag ${t}` })),
        [`Tags agents have declared: ${[...known].sort().join(', ') || '(none yet)'}.`],
      );
  }
  let meterConfig: string | undefined;
  if (o.meterConfigFile) {
    loadMeterConfigFile(o.meterConfigFile);
    meterConfig = readFileSync(o.meterConfigFile, 'utf8');
  }
  if (o.priority !== undefined && !Number.isInteger(o.priority))
    throw new InputError('--priority must be an integer', [{ file: '--priority', message: 'not an integer' }]);
  const requires = [
    ...new Set(cases.flatMap((c) => c.requires).map((c) => `cap:${c}`)),
    ...tags.map((t) => `tag:${t}`),
  ].sort();
  const queue = queueFor(requires);
  const lease = o.leaseS ?? DEFAULT_LEASE_S;
  const retryLimit = o.retryLimit ?? 3;
  await pool.query('INSERT INTO bench.queues (name, requires) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
    queue,
    requires,
  ]);
  await boss.createQueue(queue, { name: queue, retryLimit, expireInSeconds: lease });
  const submission = randomUUID();
  const jobs = seeds.map((seed) => ({ id: randomUUID(), seed }));
  await inTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO bench.submissions (id, suite, device, rig_tags, priority, meter_config, seeds)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [submission, file ?? o.suite, o.device ?? null, tags, o.priority ?? 0, meterConfig ?? null, seeds],
    );
    for (const j of jobs)
      await client.query(
        'INSERT INTO bench.jobs (id, submission, queue, suite, seed, device) VALUES ($1, $2, $3, $4, $5, $6)',
        [j.id, submission, queue, o.suite, j.seed, o.device ?? null],
      );
    const data = (seed: number): JobData => ({
      suite: o.suite,
      seed,
      ...(o.device && { device: o.device }),
      ...(meterConfig && { meterConfig }),
      ...(o.cases?.length && { cases: [...o.cases] }),
    });
    // pg-boss inserts on this transaction's connection: the jobs exist for agents only if the submission does.
    await boss.insert(
      jobs.map((j) => ({
        id: j.id,
        name: queue,
        data: data(j.seed),
        priority: o.priority ?? 0,
        retryLimit,
        expireInSeconds: lease,
      })),
      { db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) } },
    );
  });
  return { submission, queue, requires, jobs };
}

/**
 * Cancels a submission's jobs that have not finished (waiting, or running: the agent's result is still stored if
 * it lands, the job is not retried). Returns the jobs cancelled.
 */
export async function cancelSubmission(pool: pg.Pool, boss: PgBoss, submission: string): Promise<string[]> {
  // An agent's grants on pg-boss's tables would let it cancel (taking and failing jobs are updates there too), so
  // the admin's right to cancel is checked here.
  const admin = await pool.query<{ ok: boolean }>(
    "SELECT pg_has_role(current_user, 'bench_admin', 'MEMBER') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS ok",
  );
  if (!admin.rows[0]?.ok)
    throw new InputError(
      'the lab database refused this to your user: cancelling needs an admin (bench_admin)',
      [{ file: '--db', message: 'not an admin' }],
      ['A viewer reads; an agent takes jobs and stores results; submitting and cancelling need an admin.'],
    );
  const jobs = (
    await pool.query<{ id: string; queue: string }>(
      `SELECT b.id, b.queue FROM bench.jobs b JOIN pgboss.job j ON j.id = b.id
       WHERE b.submission = $1 AND j.state IN ('created', 'retry', 'active')`,
      [submission],
    )
  ).rows;
  const known = await pool.query('SELECT 1 FROM bench.submissions WHERE id = $1', [submission]);
  if (!known.rowCount)
    throw new InputError(`the lab has no submission ${submission}`, [{ file: '--submission', message: 'unknown' }]);
  for (const queue of new Set(jobs.map((j) => j.queue)))
    await boss.cancel(
      queue,
      jobs.filter((j) => j.queue === queue).map((j) => j.id),
    );
  if (jobs.length)
    await pool.query("UPDATE bench.jobs SET state = 'cancelled', finished_at = now() WHERE id = ANY($1)", [
      jobs.map((j) => j.id),
    ]);
  return jobs.map((j) => j.id);
}
