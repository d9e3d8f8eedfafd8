import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import createDebug from 'debug';
import { ExitCode, type ExitCodeValue, InputError } from '../core/errors.js';
import { resolveRunsDir } from '../core/record/store.js';
import type { Verdict } from '../core/record/types.js';
import type { CaseSummary, CertifyOptions, CertifyResult, RigProvider } from './certify.js';
import { resolveSuite } from './suite.js';

const debug = createDebug('bench:sweep');

/** More seeds than this in one sweep is a typo (`1-1000000`), not a certification plan. */
export const MAX_SWEEP_SEEDS = 10_000;
/** Seeds feed a 32-bit derivation per case; larger values would only alias smaller ones. */
const MAX_SEED = 0xffff_ffff;

/**
 * Parses a seed list: single seeds and inclusive ranges, comma-separated (`1-100`, `1,5,9`, `1-10,20`). Every
 * problem is an input error naming the flag and the offending part; a seed given twice is one too.
 */
export function parseSeeds(text: string, flag = '--seeds'): number[] {
  const bad = (message: string) =>
    new InputError(
      `${flag} ${JSON.stringify(text)}: ${message}`,
      [{ file: flag, message }],
      [`Give seeds and ranges separated by commas, e.g. ${flag} 1-100 or ${flag} 1,5,9 or ${flag} 1-10,20.`],
    );
  const seeds: number[] = [];
  const seen = new Set<number>();
  const add = (seed: number) => {
    if (seen.has(seed)) throw bad(`seed ${seed} is listed twice`);
    seen.add(seed);
    seeds.push(seed);
    if (seeds.length > MAX_SWEEP_SEEDS) throw bad(`more than ${MAX_SWEEP_SEEDS} seeds`);
  };
  const seedOf = (part: string, s: string) => {
    if (!/^\d+$/.test(s)) throw bad(`"${part}" is not a seed (a non-negative integer) or a range a-b`);
    const n = Number(s);
    if (n > MAX_SEED) throw bad(`seed ${s} is larger than ${MAX_SEED}`);
    return n;
  };
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw bad('an empty entry (two commas, or a comma at an end)');
    const range = /^(\S+?)\s*-\s*(\S+)$/.exec(part);
    if (!range) {
      add(seedOf(part, part));
      continue;
    }
    const from = seedOf(part, range[1]!);
    const to = seedOf(part, range[2]!);
    if (to < from) throw bad(`range "${part}" runs backwards (write ${to}-${from})`);
    if (to - from >= MAX_SWEEP_SEEDS) throw bad(`more than ${MAX_SWEEP_SEEDS} seeds`);
    for (let s = from; s <= to; s++) add(s);
  }
  return seeds;
}

/** What the sweep tells its progress display; the CLI draws a bar, tests may count. */
export interface SweepProgress {
  start(seeds: number, casesPerSeed: number, jobs: number): void;
  caseFinished(seed: number, caseId: string, verdict: Verdict): void;
  seedFinished(seed: number, outcome: Verdict | 'ERROR', done: number): void;
  stop(): void;
}

export interface SweepOptions extends Omit<CertifyOptions, 'seed' | 'progress'> {
  seeds: readonly number[];
  /** Runs side by side; default: the machine's available parallelism (built-in sim rig and embedded ledger only). */
  jobs?: number;
  progress?: SweepProgress;
}

export interface SeedRun {
  seed: number;
  runId: string;
  status: CertifyResult['status'];
  verdict: Verdict;
  exitCode: number;
  recordHash?: string;
  /** The JSON report's hash anchored on the run's ledger (complete runs with a JSON report). */
  anchor?: CertifyResult['anchor'];
  /** Cases that did not pass, with their failed criteria. */
  failedCases: CaseSummary[];
}

export interface SeedError {
  seed: number;
  /** A run id when the run was created before the error (its record is closed ABORTED). */
  runId?: string;
  message: string;
  exitCode: number;
}

export interface CasePassRate {
  id: string;
  title: string;
  runs: number;
  passed: number;
  /** passed / runs (PASS and MARGINAL pass). */
  passRate: number;
  failingSeeds: number[];
}

export interface SweepResult {
  suite: string;
  rig: string;
  seeds: number[];
  jobs: number;
  wallS: number;
  interrupted: boolean;
  runs: SeedRun[];
  errors: SeedError[];
  /** Seeds never started (interrupt, or an input error every seed would hit). */
  notRun: number[];
  cases: CasePassRate[];
  /** Seeds whose run did not pass. */
  failingSeeds: number[];
  /** Where the runs' records are (one per seed). */
  runsDir: string;
  exitCode: number;
}

/** Parent → worker: run one seed. */
export interface SweepJob {
  type: 'run';
  seed: number;
  options: Omit<CertifyOptions, 'seed' | 'signal' | 'progress'>;
}

/** Worker → parent. */
export type SweepMessage =
  | { type: 'case'; seed: number; caseId: string; verdict: Verdict }
  | { type: 'done'; seed: number; result: CertifyResult }
  | { type: 'error'; seed: number; message: string; exitCode: number; runId?: string };

const PASSING = new Set<Verdict>(['PASS', 'MARGINAL']);
const WORKER = fileURLToPath(new URL('./sweep-worker.js', import.meta.url));

/**
 * `bench certify --seeds`: one certification per seed, each its own run record, in child processes side by side
 * (each run holds a ledger and a CPU-bound simulation, so processes, not one event loop). Input problems surface
 * before any child starts; a FAIL is a result, a child's crash or infrastructure error is an error of that seed.
 */
export async function sweep(opts: SweepOptions, provider: RigProvider): Promise<SweepResult> {
  if (opts.seeds.length === 0) throw new InputError('--seeds: no seeds given', [{ file: '--seeds', message: 'empty' }]);
  const suite = resolveSuite(opts.suite);
  const rigInfo = await provider.describe(opts.rig, { meterConfig: opts.meterConfig, timeScale: opts.timeScale });
  // Only the virtual rig with its own embedded ledger can run several times at once: a rig file is one physical
  // setup, and runs on one external chain would race for the same accounts' nonces.
  const shareable = !rigInfo.file && !opts.ledger;
  if (opts.jobs !== undefined && opts.jobs > 1 && !shareable) {
    const why = rigInfo.file
      ? `rig ${rigInfo.name} is one physical setup`
      : `runs would share the ledger ${opts.ledger}`;
    throw new InputError(`--jobs ${opts.jobs}: ${why}; its seeds run one after another`, [
      { file: '--jobs', message: why },
    ]);
  }
  const jobs = Math.max(1, Math.min(opts.seeds.length, shareable ? (opts.jobs ?? availableParallelism()) : 1));
  const casesPerSeed = suite.suite.cases.filter((c) => !opts.only || opts.only.includes(c.id)).length;
  const { signal, progress, seeds, jobs: _jobs, ...certifyOptions } = opts;
  const started = performance.now();
  progress?.start(seeds.length, casesPerSeed, jobs);

  const queue = [...seeds];
  const runs: SeedRun[] = [];
  const errors: SeedError[] = [];
  const titles = new Map(suite.suite.cases.map((c) => [c.id, c.title]));
  const caseVerdicts = new Map<string, Map<number, Verdict>>();
  let stopping = signal.aborted;
  let done = 0;
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    stopping = true;
    // Ctrl-C on a terminal reaches the children too; forwarding makes a programmatic abort stop them as well.
    for (const child of children) child.kill('SIGINT');
  };
  signal.addEventListener('abort', onAbort);

  const noteVerdict = (caseId: string, seed: number, verdict: Verdict) => {
    const bySeed = caseVerdicts.get(caseId) ?? new Map<number, Verdict>();
    bySeed.set(seed, verdict);
    caseVerdicts.set(caseId, bySeed);
  };
  const finish = (seed: number, outcome: Verdict | 'ERROR') => {
    done++;
    progress?.seedFinished(seed, outcome, done);
  };

  /** One child process taking seeds off the queue until it is empty or the sweep stops. */
  const lane = () =>
    new Promise<void>((resolve) => {
      const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
      children.add(child);
      let current: number | undefined;
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (s: string) => {
        // Kept for the error of a child that dies; its debug output is the child's own business otherwise.
        stderr = (stderr + s).slice(-4000);
      });
      const next = () => {
        const seed = stopping ? undefined : queue.shift();
        if (seed === undefined) {
          current = undefined;
          child.disconnect();
          return;
        }
        current = seed;
        child.send({ type: 'run', seed, options: certifyOptions } satisfies SweepJob);
      };
      child.on('message', (m: SweepMessage) => {
        if (m.type === 'case') {
          noteVerdict(m.caseId, m.seed, m.verdict);
          progress?.caseFinished(m.seed, m.caseId, m.verdict);
          return;
        }
        if (m.type === 'done') {
          const r = m.result;
          for (const c of r.cases) noteVerdict(c.id, m.seed, c.verdict);
          runs.push({
            seed: m.seed,
            runId: r.runId,
            status: r.status,
            verdict: r.verdict,
            exitCode: r.exitCode,
            recordHash: r.recordHash,
            anchor: r.anchor,
            failedCases: r.cases.filter((c) => !PASSING.has(c.verdict)),
          });
          finish(m.seed, r.verdict);
        } else {
          errors.push({ seed: m.seed, runId: m.runId, message: m.message, exitCode: m.exitCode });
          // Every other seed would hit the same bad input; infrastructure errors may be one seed's bad luck.
          if (m.exitCode === ExitCode.INPUT) stopping = true;
          finish(m.seed, 'ERROR');
        }
        next();
      });
      child.on('exit', (code, sig) => {
        children.delete(child);
        if (current !== undefined) {
          debug('worker for seed %d exited %s: %s', current, code ?? sig, stderr);
          errors.push({
            seed: current,
            message: `the run's process ended (${sig ?? `exit ${code}`}) before it reported: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`,
            exitCode: ExitCode.RIG,
          });
          finish(current, 'ERROR');
          current = undefined;
          // The seeds left still run, in a fresh process.
          if (!stopping && queue.length > 0) {
            lane().then(resolve);
            return;
          }
        }
        resolve();
      });
      next();
    });

  try {
    await Promise.all(Array.from({ length: jobs }, () => lane()));
  } finally {
    signal.removeEventListener('abort', onAbort);
    progress?.stop();
  }

  runs.sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
  errors.sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
  const finished = new Set([...runs.map((r) => r.seed), ...errors.map((e) => e.seed)]);
  const cases: CasePassRate[] = [...caseVerdicts]
    .sort(([a], [b]) => order(suite.suite.cases, a) - order(suite.suite.cases, b))
    .map(([id, bySeed]) => {
      const verdicts = [...bySeed];
      const passed = verdicts.filter(([, v]) => PASSING.has(v)).length;
      return {
        id,
        title: titles.get(id) ?? id,
        runs: verdicts.length,
        passed,
        passRate: verdicts.length ? passed / verdicts.length : 0,
        failingSeeds: verdicts
          .filter(([, v]) => !PASSING.has(v))
          .map(([s]) => s)
          .sort((a, b) => a - b),
      };
    });
  const failingSeeds = runs.filter((r) => !PASSING.has(r.verdict) || r.status !== 'COMPLETE').map((r) => r.seed);
  const interrupted = signal.aborted;
  return {
    suite: suite.suite.name,
    rig: rigInfo.name,
    seeds: [...seeds],
    jobs,
    wallS: (performance.now() - started) / 1000,
    interrupted,
    runs,
    errors,
    notRun: seeds.filter((s) => !finished.has(s)),
    cases,
    failingSeeds,
    runsDir: resolveRunsDir(opts.runsDir),
    exitCode: sweepExitCode(runs, errors, interrupted),
  };
}

function order(cases: ReadonlyArray<{ id: string }>, id: string): number {
  const i = cases.findIndex((c) => c.id === id);
  return i < 0 ? cases.length : i;
}

/**
 * An input error every seed hit is the user's (2); any seed that could not be measured makes the sweep's answer
 * incomplete, an infrastructure error (3); else 1 if any seed failed or the sweep was interrupted, 0 when all passed.
 */
function sweepExitCode(runs: readonly SeedRun[], errors: readonly SeedError[], interrupted: boolean): ExitCodeValue {
  if (errors.some((e) => e.exitCode === ExitCode.INPUT)) return ExitCode.INPUT;
  if (errors.length > 0 || runs.some((r) => r.exitCode === ExitCode.RIG)) return ExitCode.RIG;
  if (interrupted || runs.some((r) => r.exitCode !== ExitCode.PASS)) return ExitCode.FAIL;
  return ExitCode.PASS;
}
