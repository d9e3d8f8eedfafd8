import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type PgBoss from 'pg-boss';
import { RigError } from '../core/errors.js';
import { certify } from '../engine/certify.js';
import { BUILTIN_RIG_FILES, rigProvider } from '../engine/rig-provider.js';
import { loadRigFile } from '../rigs/rig-file.js';
import { SIM_CAPABILITIES } from '../rigs/virtual/virtual-rig.js';
import { connectionConfig, labPool, queueClient } from './db.js';
import { uploadRun } from './results.js';
import { MIGRATIONS, schemaVersion } from './schema.js';
import type { JobData } from './submit.js';

export interface AgentOptions {
  url: string;
  /** Built-in rig name or rig YAML file: the bench this agent drives. */
  rig: string;
  tags?: readonly string[];
  /** The agent's name in the lab (default host-pid). */
  name?: string;
  /** The physical bench it drives, held by one agent at a time (default: benchOf the rig). */
  bench?: string;
  /** Where runs and reports are written before upload. */
  workDir?: string;
  /** How often an idle agent looks for work (ms). */
  pollMs?: number;
  heartbeatMs?: number;
  /** pg-boss maintenance (expired leases back to the queue) every this many seconds. */
  maintenanceS?: number;
  /** Exit after this long with no job to take (a batch agent); run until stopped when absent. */
  idleExitS?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
}

export interface AgentSummary {
  name: string;
  bench: string;
  jobs: number;
  stored: number;
}

/** The capabilities a rig offers: the built-in simulated rig's, or the union of a rig file's instruments'. */
export function rigCapabilities(rig: string): string[] {
  if (rig === 'sim') return [...SIM_CAPABILITIES];
  const config = loadRigFile(BUILTIN_RIG_FILES[rig] ?? rig);
  return [...new Set(config.instruments.flatMap((i) => i.capabilities))].sort();
}

/**
 * The physical bench a rig stands for, which one agent at a time may hold: a rig file's bench by its name; the
 * built-in rigs are emulated inside the agent's own process, so each agent's is its own.
 */
export function benchOf(rig: string, agent: string): string {
  if (rig === 'sim' || BUILTIN_RIG_FILES[rig]) return `${rig}@${agent}`;
  return loadRigFile(rig).name;
}

/**
 * `bench agent`: takes jobs whose requirements its rig meets, one at a time, runs each as `bench certify` would,
 * uploads the result and completes the job. It holds its bench with a PostgreSQL advisory lock on a session of its
 * own, so two agents never drive one bench; a job whose agent dies goes back to the queue when its lease expires
 * (pg-boss expiry, checked by every agent's maintenance) and another agent runs it; the result is stored once.
 */
export async function runAgent(o: AgentOptions): Promise<AgentSummary> {
  const name = o.name ?? `${hostname()}-${process.pid}`;
  const log = o.log ?? (() => undefined);
  const bench = o.bench ?? benchOf(o.rig, name);
  const tags = [...new Set(o.tags ?? [])];
  const capabilities = rigCapabilities(o.rig);
  const offers = [...capabilities.map((c) => `cap:${c}`), ...tags.map((t) => `tag:${t}`)];
  const pool = labPool(o.url);
  const summary: AgentSummary = { name, bench, jobs: 0, stored: 0 };
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'bench-agent-'));
  mkdirSync(workDir, { recursive: true });
  const boss = queueClient(o.url, { supervise: true, maintenanceS: o.maintenanceS ?? 30, name: `bench-agent ${name}` });
  boss.on('error', (e) => log(`queue: ${(e as Error).message}`));
  const lock = new BenchLock(o.url, bench, log);
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const version = await schemaVersion(pool);
    if (version < MIGRATIONS.at(-1)!.version)
      throw new RigError(`the lab schema is at version ${version}, this agent needs ${MIGRATIONS.at(-1)!.version}`, {
        device: 'lab database',
        code: 'SCHEMA',
        actions: ['Run `bench lab init --db URL` (an admin) first.'],
      });
    await boss.start();
    await pool.query(
      `INSERT INTO bench.agents (name, bench, rig, tags, capabilities, host, pid)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) DO UPDATE SET bench = $2, rig = $3, tags = $4, capabilities = $5, host = $6, pid = $7,
         started_at = now(), heartbeat_at = now(), current_job = NULL, job_since = NULL, stopped_at = NULL`,
      [name, bench, o.rig, tags, capabilities, hostname(), process.pid],
    );
    heartbeat = setInterval(() => {
      pool.query('UPDATE bench.agents SET heartbeat_at = now() WHERE name = $1', [name]).catch(() => undefined);
    }, o.heartbeatMs ?? 5000);
    log(`agent ${name} on bench ${bench} (${o.rig}); offers ${offers.join(', ')}`);
    let idleSince = Date.now();
    while (!o.signal.aborted) {
      if (o.idleExitS !== undefined && Date.now() - idleSince > o.idleExitS * 1000) break;
      try {
        if (!(await lock.hold(o.signal))) break;
        const job = await nextJob(pool, boss, offers);
        if (!job) {
          await sleep(o.pollMs ?? 1000, undefined, { signal: o.signal }).catch(() => undefined);
          continue;
        }
        summary.jobs++;
        if (await runJob(pool, boss, job, { ...o, name, bench, workDir, log })) summary.stored++;
        idleSince = Date.now();
      } catch (e) {
        // The database went away (a restart) or a query failed: wait, reconnect, go on. A job taken meanwhile comes
        // back to the queue when its lease expires.
        log(`lab: ${(e as Error).message}; retrying`);
        await sleep(o.pollMs ?? 1000, undefined, { signal: o.signal }).catch(() => undefined);
      }
    }
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    await pool
      .query('UPDATE bench.agents SET stopped_at = now(), current_job = NULL WHERE name = $1', [name])
      .catch(() => undefined);
    await boss.stop({ graceful: false, wait: true, close: true }).catch(() => undefined);
    await lock.release();
    await pool.end().catch(() => undefined);
    if (!o.workDir) rmSync(workDir, { recursive: true, force: true });
  }
  return summary;
}

interface TakenJob {
  queue: string;
  id: string;
  data: JobData;
}

/**
 * The next job this agent may run: among the queues whose requirements it offers, the one whose waiting job comes
 * first by priority then age; pg-boss takes it (FOR UPDATE SKIP LOCKED: no other agent gets the same job).
 */
async function nextJob(pool: pg.Pool, boss: PgBoss, offers: readonly string[]): Promise<TakenJob | undefined> {
  const queues = (
    await pool.query<{ name: string }>('SELECT name FROM bench.queues WHERE requires <@ $1::text[]', [offers])
  ).rows.map((r) => r.name);
  if (!queues.length) return undefined;
  const first = await pool.query<{ name: string }>(
    `SELECT name FROM pgboss.job WHERE name = ANY($1) AND state < 'active' AND start_after < now()
     ORDER BY priority DESC, created_on, id LIMIT 1`,
    [queues],
  );
  const queue = first.rows[0]?.name;
  if (!queue) return undefined;
  const [job] = await boss.fetch<JobData>(queue, { batchSize: 1 });
  return job ? { queue, id: job.id, data: job.data } : undefined;
}

/** Runs one job and uploads its result; true when this upload stored it (false: it was stored already). */
async function runJob(
  pool: pg.Pool,
  boss: PgBoss,
  job: TakenJob,
  o: AgentOptions & { name: string; bench: string; workDir: string; log: (l: string) => void },
): Promise<boolean> {
  const done = await pool.query('SELECT id FROM bench.runs WHERE job = $1', [job.id]);
  if (done.rowCount) {
    // Retried after its result landed (its agent died between upload and completion): nothing to run again.
    await boss.complete(job.queue, job.id, { run: done.rows[0].id, alreadyStored: true });
    await pool.query("UPDATE bench.jobs SET state = 'done', finished_at = now() WHERE id = $1", [job.id]);
    return false;
  }
  await pool.query(
    `UPDATE bench.jobs SET state = 'running', agent = $2, bench = $3, claimed_at = now(), attempts = attempts + 1,
       error = NULL WHERE id = $1`,
    [job.id, o.name, o.bench],
  );
  await pool.query('UPDATE bench.agents SET current_job = $2, job_since = now() WHERE name = $1', [o.name, job.id]);
  o.log(`job ${job.id}: ${job.data.suite} seed ${job.data.seed}`);
  const dir = mkdtempSync(join(o.workDir, 'job-'));
  try {
    let meterConfig: string | undefined;
    if (job.data.meterConfig) {
      meterConfig = join(dir, 'meter-config.yaml');
      writeFileSync(meterConfig, job.data.meterConfig);
    }
    const result = await certify(
      {
        suite: job.data.suite,
        rig: o.rig,
        seed: job.data.seed,
        meterConfig,
        runsDir: join(dir, 'runs'),
        reportsDir: join(dir, 'reports'),
        formats: ['json', 'html'],
        only: job.data.cases,
        signal: o.signal,
        argv: ['agent', '--rig', o.rig, '--job', job.id],
      },
      rigProvider,
    );
    if (o.signal.aborted) throw new Error('the agent was stopped during the run');
    const up = await uploadRun(pool, job.id, result, { agent: o.name, device: job.data.device });
    await boss.complete(job.queue, job.id, { run: result.runId, verdict: up.verdict, stored: up.stored });
    await pool.query("UPDATE bench.jobs SET state = 'done', finished_at = now() WHERE id = $1", [job.id]);
    o.log(`job ${job.id}: ${up.verdict}${up.stored ? '' : ' (a result was stored already)'}`);
    return up.stored;
  } catch (e) {
    const message = (e as Error).message;
    o.log(`job ${job.id}: ${message}`);
    await boss.fail(job.queue, job.id, { message }).catch(() => undefined);
    await pool
      .query("UPDATE bench.jobs SET state = 'failed', error = $2, finished_at = now() WHERE id = $1", [job.id, message])
      .catch(() => undefined);
    return false;
  } finally {
    await pool
      .query('UPDATE bench.agents SET current_job = NULL, job_since = NULL WHERE name = $1', [o.name])
      .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The agent's hold on its bench: a PostgreSQL advisory lock on a session of its own, taken before each job and
 * retaken on a new session if the server dropped the old one (a restart). A second agent for the same bench waits.
 */
class BenchLock {
  private client?: pg.Client;
  private waitingLogged = false;

  constructor(
    private readonly url: string,
    private readonly bench: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Holds the bench (waiting while another agent has it); false when stopped before getting it. */
  async hold(signal: AbortSignal): Promise<boolean> {
    if (this.client) {
      try {
        await this.client.query('SELECT 1');
        return true;
      } catch {
        await this.release();
      }
    }
    while (!signal.aborted) {
      const client = new pg.Client({ ...connectionConfig(this.url), application_name: `bench-lock ${this.bench}` });
      client.on('error', () => undefined);
      await client.connect();
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [
        `bench:${this.bench}`,
      ]);
      if (r.rows[0]?.ok) {
        this.client = client;
        this.waitingLogged = false;
        return true;
      }
      await client.end().catch(() => undefined);
      if (!this.waitingLogged) this.log(`bench ${this.bench} is held by another agent: waiting`);
      this.waitingLogged = true;
      await sleep(1000, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
