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

export interface HostData {
  setups: LaneSetup[];
  /** The case-wide index of each of this worker's lanes. */
  lanes: number[];
  windowTurns: number;
  flushTurns: number;
}

export type HostMessage =
  | { type: 'items'; batch: Array<{ lane: number; items: LaneItem[] }> }
  | { type: 'end' }
  | { type: 'error'; message: string; stack?: string };

export type MainMessage =
  | { type: 'credit'; turns: number }
  | { type: 'reply'; id: number; result?: unknown; error?: string };

/** Turns a worker may run ahead of what the main thread has recorded, and how often it sends what it has. */
const WINDOW_TURNS = 64;
const FLUSH_TURNS = 8;
const CREDIT_TURNS = 16;

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

/**
 * Plays the case's lanes on `workers` threads (lane i on worker i mod workers) and records their outputs on this
 * thread in the single-thread rig's order: turn by turn, each lane's block in lane order, each block's outputs in
 * the order the lane made them. Submissions are made from here in that same order and answered back, so the ledger
 * sees the same sequence of records. The entries, metrics, verdicts and billing records are therefore those of a
 * single-thread run; only the wall time differs.
 */
export async function runLanesInWorkers(setups: LaneSetup[], workers: number, hooks: LaneRunHooks): Promise<void> {
  const count = Math.max(1, Math.min(workers, setups.length));
  const queues: LaneItem[][] = setups.map(() => []);
  const heads = setups.map(() => 0);
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const threads = Array.from({ length: count }, (_, w) => {
    const lanes = setups.map((_, i) => i).filter((i) => i % count === w);
    const data: HostData = {
      setups: lanes.map((i) => setups[i]!),
      lanes,
      windowTurns: WINDOW_TURNS,
      flushTurns: FLUSH_TURNS,
    };
    const worker = new Worker(HOST, { workerData: data });
    worker.on('message', (m: HostMessage) => {
      if (m.type === 'items') for (const b of m.batch) queues[b.lane]!.push(...b.items);
      else if (m.type === 'error')
        failure ??= new RigError(`simulated meter failed: ${m.message}`, { device: 'sim', cause: m.stack });
      wake?.();
    });
    worker.on('error', (e) => {
      failure ??= new RigError(`simulated meter thread failed: ${e.message}`, { device: 'sim', cause: e });
      wake?.();
    });
    worker.on('exit', (code) => {
      if (code !== 0) failure ??= new RigError(`simulated meter thread exited with ${code}`, { device: 'sim' });
      wake?.();
    });
    return worker;
  });
  const workerOf = (lane: number) => threads[lane % count]!;
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
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
  };
  const onAbort = () => wake?.();
  hooks.signal.addEventListener('abort', onAbort, { once: true });
  try {
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
            workerOf(lane).postMessage(reply);
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
      if (++turns % CREDIT_TURNS === 0) for (const t of threads) t.postMessage({ type: 'credit', turns: CREDIT_TURNS });
    }
  } finally {
    hooks.signal.removeEventListener('abort', onAbort);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}
