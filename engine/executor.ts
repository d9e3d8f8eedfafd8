import { createHash } from 'node:crypto';
import createDebug from 'debug';
import { CaseEntries } from '../analysis/case-entries.js';
import { type CaseEvaluation, combineVerdicts, evaluateCase, type Metrics, notRun } from '../analysis/criteria.js';
import { isBenchError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
import type { RunStatus, Verdict } from '../core/record/types.js';
import type { RunRecordWriter } from '../core/record/writer.js';
import { CAPABILITY_WHERE, type Capability, type CaseContext, type CasePlan, type Rig } from '../core/rig.js';
import type { LoadedSuite, SuiteCase } from './suite.js';

const debug = createDebug('bench:executor');

/** Observations are buffered and written with one fsync per batch: measurements arrive at high rate. */
const OBSERVATION_BATCH = 512;

export interface CaseEntry {
  kind: string;
  data: Record<string, unknown>;
}

export interface PreparedCase {
  plan: CasePlan;
  /** Ground truth entries (truth.event, truth.session, …) recorded before the rig runs. */
  truth: CaseEntry[];
  /** Wall seconds the rig needs to play the case in real time (hardware rigs); added to the case's time limit. */
  realTimeS?: number;
  /** Set when the rig cannot play this case at all (e.g. several meters on a one-DUT bench): NOT RUN, with why. */
  notRun?: string;
}

export interface ProgressSink {
  caseStarted(caseId: string, title: string): void;
  caseProgress(caseId: string, done: number, total: number, label?: string): void;
  caseFinished(caseId: string, verdict: Verdict): void;
  stop(): void;
}

export interface ExecutorOptions {
  suite: LoadedSuite;
  rig: Rig;
  writer: RunRecordWriter;
  seed: number;
  /** Aborted on Ctrl-C: the current case stops, the record is closed ABORTED (reads as INCOMPLETE). */
  signal: AbortSignal;
  prepareCase(c: SuiteCase, caseSeed: number, params: Record<string, unknown>): Promise<PreparedCase>;
  /**
   * Analysis: metrics of one case from its entries (truth + observations), streamed into a CaseEntries as they were
   * recorded (its measurements reduced, never held whole). Pure; async so it may yield.
   */
  measure(c: SuiteCase, entries: CaseEntries, params: Record<string, unknown>): Metrics | Promise<Metrics>;
  progress?: ProgressSink;
  /**
   * Runs after the rig finished a case and before analysis, e.g. to read the chain back into the record. Its
   * failure is a bench failure (ERROR), never silently ignored.
   */
  collect?(c: SuiteCase, observe: (kind: string, data: Record<string, unknown>) => void): Promise<void>;
  /** Run only these case ids (in suite order). */
  only?: readonly string[];
  /** How long a rig told to stop (Ctrl-C, time limit) may take before the run goes on without it; 10 s default. */
  abortGraceMs?: number;
  /** Sees every case entry as it is recorded (e.g. a live time-series stream). Must not throw. */
  tap?(kind: string, data: Record<string, unknown>): void;
}

export interface CaseOutcome extends CaseEvaluation {
  caseId: string;
  title: string;
  metrics: Metrics;
  status: 'RAN' | 'NOT RUN' | 'TIMEOUT' | 'ERROR' | 'ABORTED';
}

export interface SuiteOutcome {
  status: RunStatus;
  verdict: Verdict;
  cases: CaseOutcome[];
}

/** Each case gets its own seed from the run seed and its id, so a case reproduces alone. */
export function caseSeed(runSeed: number, caseId: string): number {
  return createHash('sha256').update(`${runSeed}:${caseId}`).digest().readUInt32BE(0);
}

class TimeLimitExceeded extends Error {}

export async function runSuite(opts: ExecutorOptions): Promise<SuiteOutcome> {
  const { suite, writer } = opts;
  const outcomes: CaseOutcome[] = [];
  let status: RunStatus = 'COMPLETE';

  for (const c of suite.suite.cases) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    if (opts.signal.aborted) {
      status = 'ABORTED';
      break;
    }
    opts.progress?.caseStarted(c.id, c.title);
    const outcome = await runCase(opts, c);
    outcomes.push(outcome);
    opts.progress?.caseFinished(c.id, outcome.verdict);
    if (outcome.status === 'ABORTED') {
      status = 'ABORTED';
      break;
    }
  }
  opts.progress?.stop();
  const verdict = combineVerdicts(outcomes.map((o) => o.verdict));
  writer.close({ status, verdict, reason: status === 'ABORTED' ? 'interrupted' : undefined });
  debug('suite %s finished %s %s', suite.suite.name, status, verdict);
  return { status, verdict, cases: outcomes };
}

async function runCase(opts: ExecutorOptions, c: SuiteCase): Promise<CaseOutcome> {
  const { writer, rig } = opts;
  const params = { ...opts.suite.suite.parameters, ...c.params };
  const seed = caseSeed(opts.seed, c.id);
  const finish = (evaluation: CaseEvaluation, status: CaseOutcome['status'], metrics: Metrics = {}): CaseOutcome => {
    const outcome: CaseOutcome = { caseId: c.id, title: c.title, metrics, status, ...evaluation };
    writer.append(ENTRY.caseVerdict, {
      caseId: c.id,
      title: c.title,
      status,
      verdict: outcome.verdict,
      reason: outcome.reason,
      metrics,
      criteria: outcome.criteria,
    });
    return outcome;
  };

  const missing = c.requires.filter((cap: Capability) => !rig.capabilities.has(cap));
  writer.append(ENTRY.caseStart, { caseId: c.id, title: c.title, seed, params, requires: c.requires });
  if (missing.length > 0) {
    const where = missing.flatMap((cap) => CAPABILITY_WHERE[cap] ?? []);
    const hint = where.length ? ` (${where.join('; ')})` : '';
    return finish(notRun(c.criteria, `rig ${rig.name} lacks ${missing.join(', ')}${hint}`), 'NOT RUN');
  }

  const entries = new CaseEntries(CaseEntries.optionsFor(params));
  // Each observation is sealed into the record as it arrives and written with its batch (one write, one fsync).
  const flush = () => writer.flush();
  const keep = (kind: string, data: Record<string, unknown>) => {
    const scoped = { caseId: c.id, ...data };
    entries.add(kind, scoped);
    writer.stage(kind, scoped);
    opts.tap?.(kind, scoped);
    if (writer.pending >= OBSERVATION_BATCH) flush();
  };

  const caseAbort = new AbortController();
  let running: Promise<void> | undefined;
  const onRunAbort = () => caseAbort.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onRunAbort, { once: true });
  let limitS = c.timeLimitS;
  const arm = () => setTimeout(() => caseAbort.abort(new TimeLimitExceeded()), limitS * 1000);
  let timer = arm();
  try {
    const prepared = await opts.prepareCase(c, seed, params);
    if (prepared.notRun) return finish(notRun(c.criteria, prepared.notRun), 'NOT RUN');
    if (prepared.realTimeS) {
      clearTimeout(timer);
      limitS = c.timeLimitS + prepared.realTimeS;
      timer = arm();
    }
    for (const t of prepared.truth) keep(t.kind, t.data);
    flush();
    const ctx: CaseContext = {
      caseId: c.id,
      seed,
      signal: caseAbort.signal,
      observe: keep,
      progress: (done, total, label) => opts.progress?.caseProgress(c.id, done, total, label),
    };
    // The race makes a rig that ignores its abort signal unable to hang the run. An abort that came while the case
    // was being prepared counts too (a listener added after it would never hear it, and the case would play whole).
    const aborted = new Promise<never>((_, reject) => {
      if (caseAbort.signal.aborted) reject(caseAbort.signal.reason);
      else caseAbort.signal.addEventListener('abort', () => reject(caseAbort.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    caseAbort.signal.throwIfAborted();
    running = rig.runCase(prepared.plan, ctx);
    await Promise.race([running, aborted]);
    if (opts.collect) await Promise.race([opts.collect(c, keep), aborted]);
    flush();
  } catch (e) {
    // A rig told to stop gets a moment to do so (load off, pilot to A, its temporary files removed) before the run
    // closes it and the process ends; one that ignores its signal cannot hold the run longer than that.
    if (running && caseAbort.signal.aborted) await settleWithin(running, opts.abortGraceMs ?? ABORT_GRACE_MS);
    flush();
    if (opts.signal.aborted) {
      return finish(errorEvaluation(c, 'interrupted by the operator'), 'ABORTED');
    }
    if (e instanceof TimeLimitExceeded) {
      return finish(errorEvaluation(c, `time limit of ${limitS} s exceeded`), 'TIMEOUT');
    }
    const message = isBenchError(e) ? e.message : `internal error: ${(e as Error).message}`;
    writer.append(ENTRY.caseError, { caseId: c.id, message, code: isBenchError(e) ? e.code : 'INTERNAL' });
    // Input errors (a bad scenario file) are not the DUT's fault either; the case could not be measured.
    return finish(errorEvaluation(c, message), 'ERROR');
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', onRunAbort);
  }

  let metrics: Metrics;
  try {
    metrics = await opts.measure(c, entries, params);
  } catch (e) {
    return finish(errorEvaluation(c, `analysis failed: ${(e as Error).message}`), 'ERROR');
  }
  return finish(evaluateCase(c.criteria, metrics), 'RAN', metrics);
}

/** How long an aborted case's rig may take to stop before the run goes on without it. */
const ABORT_GRACE_MS = 10_000;

/** Resolves when `p` settles (either way) or after `ms`, whichever comes first. */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}

function errorEvaluation(c: SuiteCase, reason: string): CaseEvaluation {
  return {
    verdict: 'ERROR',
    reason,
    criteria: c.criteria.map((cr) => ({
      metric: cr.metric,
      op: cr.op,
      limit: cr.limit,
      marginal: cr.marginal,
      unit: cr.unit,
      clause: cr.clause,
      verdict: 'ERROR' as const,
      reason,
    })),
  };
}
