import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SignedBillingRecordJson } from '../../billing/record-json.js';
import { RigError } from '../../core/errors.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import type { LaneSetup, Observe } from './lane.js';

/** One output of a lane, in the order the lane made it: an observation, a record to submit, a block's end, the end. */
export type LaneItem =
  | ['o', string, Record<string, unknown>]
  | ['s', number, SignedBillingRecordJson]
  | ['b', number]
  | ['d'];

/** One case's share for one worker: its lanes' setups and their case-wide indexes. */
export interface CaseJob {
  setups: LaneSetup[];
  lanes: number[];
  windowTurns: number;
  flushTurns: number;
}

export type HostMessage =
  | { type: 'items'; batch: Array<{ lane: number; items: LaneItem[] }> }
  | { type: 'end' }
  | { type: 'error'; message: string; stack?: string };

export type MainMessage =
  | { type: 'case'; job: CaseJob }
  | { type: 'credit'; turns: number }
  | { type: 'reply'; id: number; result?: unknown; error?: string };

/** Turns a worker may run ahead of what the main thread has recorded, and how often it sends what it has. */
const WINDOW_TURNS = 1024;
const FLUSH_TURNS = 16;
const CREDIT_TURNS = 64;

const HOST = fileURLToPath(new URL('./lane-host.js', import.meta.url));

/**
 * Whether lanes can run in worker threads here: the host script is the built JavaScript beside this module. Run
 * from the TypeScript sources (unit tests), there is none and the lanes run on the calling thread, with the same
 * result.
 */
export function laneWorkersAvailable(): boolean {
  return existsSync(HOST);
}

export interface LaneRunHooks {
  observe: Observe;
  /** The ledger relay of lane i. */
  forwarder(lane: number): LedgerForwarder;
  /** Scenario seconds lane i just played. */
  progress(lane: number, seconds: number): void;
  signal: AbortSignal;
  /** Called between lanes' blocks; may await a turn of the event loop. */
  turn(): Promise<void>;
}

/** What the pool's threads report to the case being played. */
interface CaseListener {
  message(m: HostMessage): void;
  failed(e: Error): void;
}

/**
 * The worker threads that play the sim rig's lanes, started on first use and kept for the run (a suite of short
 * cases would otherwise pay each thread's start-up per case), ended by close(). A case that fails or is aborted
 * ends them; the next case starts new ones.
 */
export class LaneWorkerPool {
  private threads: Worker[] = [];
  private listener: CaseListener | undefined;

  /**
   * Plays the case's lanes on `workers` threads (lane i on thread i mod n, n = min(workers, lanes)) and records their outputs on this thread
   * in the single-thread rig's order: turn by turn, each lane's block in lane order, each block's outputs in the
   * order the lane made them. Submissions are made from here in that same order and answered back, so the ledger
   * sees the same sequence of records. The entries, metrics, verdicts and billing records are therefore those of a
   * single-thread run; only the wall time differs.
   */
  async run(setups: LaneSetup[], workers: number, hooks: LaneRunHooks): Promise<void> {
    const count = Math.max(1, Math.min(workers, setups.length));
    while (this.threads.length < count) this.threads.push(this.spawn());
    const threads = this.threads.slice(0, count);
    // Held while a case plays (the main thread may have nothing else pending while it waits for them).
    for (const t of threads) t.ref();
    const queues: LaneItem[][] = setups.map(() => []);
    const heads = setups.map(() => 0);
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let ended = 0;
    this.listener = {
      message: (m) => {
        if (m.type === 'items') for (const b of m.batch) queues[b.lane]!.push(...b.items);
        else if (m.type === 'end') ended++;
        else failure ??= new RigError(`simulated meter failed: ${m.message}`, { device: 'sim', cause: m.stack });
        wake?.();
      },
      failed: (e) => {
        failure ??= e;
        wake?.();
      },
    };
    /** Resolves at the threads' next message, failure or exit, or at an abort. */
    const nextNews = async () => {
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    };
    const onAbort = () => wake?.();
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    const next = async (lane: number): Promise<LaneItem> => {
      for (;;) {
        if (failure) throw failure;
        if (hooks.signal.aborted) throw new RigError('case aborted', { device: 'sim' });
        const q = queues[lane]!;
        if (heads[lane]! < q.length) {
          const item = q[heads[lane]!]!;
          heads[lane]!++;
          // Drop what was consumed now and then, so a long case's queue does not hold its whole past.
          if (heads[lane]! > 4096) {
            q.splice(0, heads[lane]!);
            heads[lane] = 0;
          }
          return item;
        }
        await nextNews();
      }
    };
    let ok = false;
    try {
      threads.forEach((t, w) => {
        const lanes = setups.map((_, i) => i).filter((i) => i % count === w);
        const job: CaseJob = {
          setups: lanes.map((i) => setups[i]!),
          lanes,
          windowTurns: WINDOW_TURNS,
          flushTurns: FLUSH_TURNS,
        };
        t.postMessage({ type: 'case', job } satisfies MainMessage);
      });
      const finished = setups.map(() => false);
      let turns = 0;
      for (let open = setups.length; open > 0; ) {
        for (let lane = 0; lane < setups.length; lane++) {
          if (finished[lane]) continue;
          for (;;) {
            const item = await next(lane);
            if (item[0] === 'o') hooks.observe(item[1], item[2]);
            else if (item[0] === 's') {
              const [, id, signed] = item;
              const reply: MainMessage = await hooks
                .forwarder(lane)
                .submit(signed)
                .then(
                  (result) => ({ type: 'reply' as const, id, result }),
                  (e: Error) => ({ type: 'reply' as const, id, error: e.message }),
                );
              threads[lane % count]!.postMessage(reply);
            } else if (item[0] === 'b') {
              hooks.progress(lane, item[1]);
              break;
            } else {
              finished[lane] = true;
              open--;
              break;
            }
          }
          await hooks.turn();
        }
        if (++turns % CREDIT_TURNS === 0)
          for (const t of threads) t.postMessage({ type: 'credit', turns: CREDIT_TURNS } satisfies MainMessage);
      }
      // Every thread has closed its lanes (their stores) before the case's work folder goes.
      while (ended < count) {
        if (failure) throw failure;
        await nextNews();
      }
      ok = true;
    } finally {
      hooks.signal.removeEventListener('abort', onAbort);
      this.listener = undefined;
      for (const t of threads) t.unref();
      if (!ok) await this.close();
    }
  }

  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(HOST);
    worker.on('message', (m: HostMessage) => this.listener?.message(m));
    worker.on('error', (e) =>
      this.listener?.failed(new RigError(`simulated meter thread failed: ${e.message}`, { device: 'sim', cause: e })),
    );
    worker.on('exit', (code) => {
      this.threads = this.threads.filter((t) => t !== worker);
      this.listener?.failed(new RigError(`simulated meter thread exited with ${code}`, { device: 'sim' }));
    });
    // An idle pool must not keep the process alive.
    worker.unref();
    return worker;
  }
}
