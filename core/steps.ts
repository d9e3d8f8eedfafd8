import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long pure computations are written as generators whose `yield`s mark points where other work may run. The same
 * steps then run either straight through (synchronous callers: golden tests, `bench compare`) or with a turn of the
 * event loop whenever TURN_MS of work went by (certify and `bench report` inside a process that must stay
 * responsive: Ctrl-C, progress bars, a test runner's RPC). Both give the same result; yields are cheap, so steps
 * may yield often.
 */
export type Steps<T> = Generator<void, T, void>;

/** Longest stretch of synchronous work between two turns of the event loop in runStepsYielding. */
export const TURN_MS = 50;

export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export async function runStepsYielding<T>(steps: Steps<T>): Promise<T> {
  let lastTurn = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - lastTurn > TURN_MS) {
      await nextTurn();
      lastTurn = performance.now();
    }
  }
}
