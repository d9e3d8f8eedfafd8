import type pg from 'pg';

export interface LabStatus {
  /** Per queue (a set of requirements): jobs waiting and running, and the oldest waiting job's age. */
  queues: Array<{
    queue: string;
    tags: string[];
    capabilities: string[];
    waiting: number;
    active: number;
    oldestWaitingS: number | null;
  }>;
  agents: Array<{
    name: string;
    bench: string;
    rig: string;
    tags: string[];
    job: string | null;
    /** Seconds it has held its current job. */
    jobForS: number | null;
    heartbeatAgeS: number;
    stopped: boolean;
  }>;
  waiting: Array<{ id: string; suite: string; seed: number; priority: number; ageS: number; state: string }>;
  /** Jobs that failed for good (retries used up), with the reason. */
  failed: Array<{ id: string; suite: string; seed: number; reason: string | null; attempts: number }>;
  runs: number;
}

const AGE = (col: string) => `extract(epoch FROM now() - ${col})::float8`;

/** What the lab is doing: queue depth per tag set, which agent holds which bench and since when, waiting and failed. */
export async function labStatus(pool: pg.Pool): Promise<LabStatus> {
  const queues = (
    await pool.query(
      `SELECT q.name AS queue, q.requires,
         count(j.id) FILTER (WHERE j.state IN ('created', 'retry'))::int AS waiting,
         count(j.id) FILTER (WHERE j.state = 'active')::int AS active,
         ${AGE("min(j.created_on) FILTER (WHERE j.state IN ('created', 'retry'))")} AS "oldestWaitingS"
       FROM bench.queues q LEFT JOIN pgboss.job j ON j.name = q.name
       GROUP BY q.name, q.requires ORDER BY q.name`,
    )
  ).rows.map((r: { queue: string; requires: string[]; waiting: number; active: number; oldestWaitingS: number }) => ({
    queue: r.queue,
    tags: r.requires.filter((x) => x.startsWith('tag:')).map((x) => x.slice(4)),
    capabilities: r.requires.filter((x) => x.startsWith('cap:')).map((x) => x.slice(4)),
    waiting: r.waiting,
    active: r.active,
    oldestWaitingS: r.oldestWaitingS,
  }));
  const agents = (
    await pool.query(
      `SELECT name, bench, rig, tags, current_job AS job, ${AGE('job_since')} AS "jobForS",
         ${AGE('heartbeat_at')} AS "heartbeatAgeS", stopped_at IS NOT NULL AS stopped
       FROM bench.agents ORDER BY name`,
    )
  ).rows;
  const waiting = (
    await pool.query(
      `SELECT b.id, b.suite, b.seed::float8 AS seed, j.priority, ${AGE('j.created_on')} AS "ageS", j.state::text AS state
       FROM bench.jobs b JOIN pgboss.job j ON j.id = b.id
       WHERE j.state IN ('created', 'retry') ORDER BY j.priority DESC, j.created_on LIMIT 50`,
    )
  ).rows;
  const failed = (
    await pool.query(
      `SELECT b.id, b.suite, b.seed::float8 AS seed, coalesce(b.error, j.output->>'message') AS reason, b.attempts
       FROM bench.jobs b JOIN pgboss.job j ON j.id = b.id
       WHERE j.state = 'failed' ORDER BY b.finished_at DESC NULLS LAST LIMIT 50`,
    )
  ).rows;
  const runs = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM bench.runs')).rows[0]?.n ?? 0;
  return { queues, agents, waiting, failed, runs };
}
