import { afterEach, expect } from 'vitest';

/*
 * Vitest runs a file's synchronous tests back to back inside one macrotask, so a file of CPU-heavy sync tests (the
 * synthesis unit tests: one 45 s stretch on an idle machine) never lets the worker read its RPC answers; vitest's
 * worker gives up on a call after 60 s ("Timeout calling onTaskUpdate") once a loaded machine stretches that run.
 * One turn of the event loop after each test lets pending IPC messages in (setImmediate runs after the poll phase,
 * where they are read), so only a single test holding the loop for 60 s could still trip it.
 */
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

// BENCH_LOOP_PROBE=<ms> prints every stretch in which this worker's event loop did not turn for longer than that:
// how the 45 s stretch above was found (longest since: 9.7 s, one synthesis test).
const probeMs = Number(process.env.BENCH_LOOP_PROBE ?? 0);
if (probeMs > 0) {
  const tickMs = 250;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const stalled = now - last - tickMs;
    if (stalled > probeMs) {
      const state = expect.getState();
      process.stderr.write(
        `[loop-probe] ${Math.round(stalled)} ms without a turn in ${state.testPath ?? '?'} (last test: ${state.currentTestName ?? '-'})\n`,
      );
    }
    last = now;
  }, tickMs).unref();
}
