import type pg from 'pg';
import { queueClient } from './db.js';

/**
 * The lab schema as numbered migrations, applied in order and recorded in bench.migrations (one transaction
 * each): `bench lab init` on a database that has some of them applies the rest. A migration, once released, is
 * never edited; a change is a new one.
 */
export const LAB_ROLES = ['admin', 'agent', 'viewer'] as const;
export type LabRole = (typeof LAB_ROLES)[number];

export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'jobs, agents, runs and their results',
    sql: `
      CREATE TABLE bench.submissions (
        id uuid PRIMARY KEY,
        suite text NOT NULL,
        device text,
        rig_tags text[] NOT NULL DEFAULT '{}',
        priority integer NOT NULL DEFAULT 0,
        meter_config text,
        seeds integer[] NOT NULL,
        submitted_by text NOT NULL DEFAULT current_user,
        submitted_at timestamptz NOT NULL DEFAULT now()
      );
      -- A job queue per set of requirements (the suite's capabilities and the rig tags asked for): an agent serves
      -- the queues whose requirements its rig has.
      CREATE TABLE bench.queues (
        name text PRIMARY KEY,
        requires text[] NOT NULL
      );
      CREATE TABLE bench.jobs (
        id uuid PRIMARY KEY,
        submission uuid NOT NULL REFERENCES bench.submissions(id),
        queue text NOT NULL REFERENCES bench.queues(name),
        suite text NOT NULL,
        seed bigint NOT NULL,
        device text,
        state text NOT NULL DEFAULT 'queued',
        agent text,
        bench text,
        claimed_at timestamptz,
        finished_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        error text
      );
      CREATE INDEX jobs_state ON bench.jobs(state);
      CREATE TABLE bench.agents (
        name text PRIMARY KEY,
        bench text NOT NULL,
        rig text NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        capabilities text[] NOT NULL DEFAULT '{}',
        host text,
        pid integer,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        current_job uuid,
        job_since timestamptz,
        stopped_at timestamptz
      );
      -- One result per job and per record: a job retried after its agent died never leaves two.
      CREATE TABLE bench.runs (
        id text PRIMARY KEY,
        job uuid UNIQUE REFERENCES bench.jobs(id),
        record_hash text UNIQUE,
        suite text NOT NULL,
        seed bigint NOT NULL,
        device text,
        firmware text,
        rig text NOT NULL,
        agent text,
        status text NOT NULL,
        verdict text NOT NULL,
        integrity text NOT NULL,
        exit_code integer NOT NULL,
        record_gz bytea NOT NULL,
        -- The report anchor's receipt (its transaction on the ledger), when the run anchored one.
        anchor text,
        uploaded_by text NOT NULL DEFAULT current_user,
        uploaded_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE bench.cases (
        run text NOT NULL REFERENCES bench.runs(id) ON DELETE CASCADE,
        case_id text NOT NULL,
        status text NOT NULL,
        verdict text NOT NULL,
        PRIMARY KEY (run, case_id)
      );
      CREATE TABLE bench.metrics (
        run text NOT NULL REFERENCES bench.runs(id) ON DELETE CASCADE,
        case_id text NOT NULL,
        metric text NOT NULL,
        value double precision,
        PRIMARY KEY (run, case_id, metric)
      );
      -- Report files by content (sha256): the same bytes are stored once.
      CREATE TABLE bench.files (
        sha256 text PRIMARY KEY,
        content bytea NOT NULL
      );
      CREATE TABLE bench.reports (
        run text NOT NULL REFERENCES bench.runs(id) ON DELETE CASCADE,
        name text NOT NULL,
        sha256 text NOT NULL REFERENCES bench.files(sha256),
        PRIMARY KEY (run, name)
      );
    `,
  },
  {
    version: 2,
    name: 'roles: admin, agent, viewer',
    // Group roles a lab's login roles join (`bench lab user add`): a viewer reads; an agent takes jobs and writes
    // results under its own name (row-level security on runs); an admin submits and cancels. pg-boss's tables are
    // granted too (its schema exists by now: `lab init` creates it first). Partitions pg-boss adds per queue are
    // reached through the parent table's grants.
    sql: `
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_admin') THEN CREATE ROLE bench_admin NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_agent') THEN CREATE ROLE bench_agent NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_viewer') THEN CREATE ROLE bench_viewer NOLOGIN; END IF;
      END $$;
      GRANT USAGE ON SCHEMA bench, pgboss TO bench_admin, bench_agent, bench_viewer;
      GRANT SELECT ON ALL TABLES IN SCHEMA bench, pgboss TO bench_viewer, bench_agent;
      GRANT ALL ON ALL TABLES IN SCHEMA bench, pgboss TO bench_admin;
      GRANT CREATE ON SCHEMA pgboss TO bench_admin;
      -- A new queue is a partition of pgboss.job, which only the table's owner may attach.
      ALTER TABLE pgboss.job OWNER TO bench_admin;
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgboss TO bench_admin;
      -- Taking, completing and failing a job (pg-boss fails by delete and insert), and expiring leases.
      GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgboss TO bench_agent;
      GRANT INSERT, UPDATE ON bench.agents TO bench_agent;
      GRANT UPDATE (state, agent, bench, claimed_at, finished_at, attempts, error) ON bench.jobs TO bench_agent;
      GRANT INSERT ON bench.runs, bench.cases, bench.metrics, bench.files, bench.reports TO bench_agent;
      ALTER TABLE bench.runs ENABLE ROW LEVEL SECURITY;
      CREATE POLICY runs_read ON bench.runs FOR SELECT USING (true);
      CREATE POLICY runs_agent ON bench.runs FOR INSERT TO bench_agent WITH CHECK (uploaded_by = current_user);
      CREATE POLICY runs_admin ON bench.runs FOR ALL TO bench_admin USING (true) WITH CHECK (true);
    `,
  },
];

/** Applies the migrations the database lacks; returns the versions applied now. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    // One `lab init` at a time: a second one waits here, then finds everything applied.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['bench.migrations']);
    await client.query('CREATE SCHEMA IF NOT EXISTS bench');
    await client.query(
      'CREATE TABLE IF NOT EXISTS bench.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM bench.migrations')).rows.map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO bench.migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      applied.push(m.version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['bench.migrations']).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** The newest migration the database has (0 for none). */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('bench.migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const r = await pool.query<{ v: number | null }>('SELECT max(version) AS v FROM bench.migrations');
  return r.rows[0]?.v ?? 0;
}

/** pg-boss's own schema (pgboss.*), created or migrated by pg-boss itself. */
export async function migrateQueue(connectionString: string): Promise<void> {
  const boss = queueClient(connectionString, { migrate: true });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}
