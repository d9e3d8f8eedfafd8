import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../core/version.js';
import { labDown, labUp } from '../farm/cluster.js';
import { labPool } from '../farm/db.js';
import { migrate, migrateQueue } from '../farm/schema.js';

const BIN = join(PACKAGE_ROOT, 'bin/run.js');
const JOBS = 6;
const SUITE = 'smoke';

/**
 * The bench farm's cost, side by side in one run on a fresh local lab: the same suite and seeds as direct
 * `bench certify` processes one after the other, through the lab with one agent, and with two agents. Throughput
 * is jobs per minute from submission to the last result stored; the lab's overhead per job is its one-agent time
 * per job over the direct run's.
 */
export async function benchLab() {
  const root = mkdtempSync(join(tmpdir(), 'bench-perf-lab-'));
  chmodSync(root, 0o755);
  const lab = await labUp({ dir: join(root, 'lab') });
  process.env.PGPASSFILE = lab.passFile;
  const env = { ...process.env, PGPASSFILE: lab.passFile, BENCH_LAB_DB: lab.url };
  const pool = labPool(lab.url);
  try {
    await migrateQueue(lab.url);
    await migrate(pool);
    const runs = join(root, 'runs');
    const t0 = performance.now();
    for (let seed = 1; seed <= JOBS; seed++)
      execFileSync(
        process.execPath,
        [BIN, 'certify', '--suite', SUITE, '--seed', String(seed), '--format', 'json', '--runs-dir', runs],
        {
          stdio: 'ignore',
        },
      );
    const directMs = (performance.now() - t0) / JOBS;

    const throughLab = async (agents: number, firstSeed: number) => {
      const t = performance.now();
      execFileSync(
        process.execPath,
        [BIN, 'lab', 'submit', '--suite', SUITE, '--seeds', `${firstSeed}-${firstSeed + JOBS - 1}`],
        { env, stdio: 'ignore' },
      );
      const children: ChildProcess[] = Array.from({ length: agents }, (_, i) =>
        spawn(process.execPath, [BIN, 'agent', '--name', `perf-${agents}-${i}`], { env, stdio: 'ignore' }),
      );
      try {
        for (;;) {
          const n = await pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM bench.runs WHERE seed >= $1 AND seed < $2',
            [firstSeed, firstSeed + JOBS],
          );
          if ((n.rows[0]?.n ?? 0) >= JOBS) break;
          await sleep(100);
        }
        return performance.now() - t;
      } finally {
        for (const c of children) c.kill('SIGINT');
        await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
      }
    };
    const one = await throughLab(1, 1001);
    const two = await throughLab(2, 2001);
    const r = {
      jobs: JOBS,
      directPerJobMs: directMs,
      oneAgentPerJobMs: one / JOBS,
      twoAgentsPerJobMs: two / JOBS,
      oneAgentJobsPerMin: (JOBS / one) * 60_000,
      twoAgentsJobsPerMin: (JOBS / two) * 60_000,
      labOverDirect: one / JOBS / directMs,
      twoOverOneAgent: two / one,
    };
    console.log(
      `${SUITE} × ${JOBS}: direct \`bench certify\` ${r.directPerJobMs.toFixed(0)} ms/job; lab with 1 agent ${r.oneAgentPerJobMs.toFixed(0)} ms/job ` +
        `(${r.oneAgentJobsPerMin.toFixed(1)} jobs/min, ÷ direct = ${r.labOverDirect.toFixed(2)}), with 2 agents ${r.twoAgentsPerJobMs.toFixed(0)} ms/job ` +
        `(${r.twoAgentsJobsPerMin.toFixed(1)} jobs/min, ÷ 1 agent = ${r.twoOverOneAgent.toFixed(2)}) on this machine's cores`,
    );
    return r;
  } finally {
    await pool.end();
    labDown(lab.dir);
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchLab();
