import { defineConfig } from 'vitest/config';

// Tests that play scenarios in scaled real time through PTYs (`*.realtime.test.ts`) measure timing: they run in
// a pass of their own, one file at a time, so a CPU-heavy neighbour cannot skew them (scripts/test-all.sh).
const realtime = process.env.BENCH_REALTIME === '1';

export default defineConfig({
  test: {
    include: realtime ? ['test/**/*.realtime.test.ts'] : ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/**/*.device.test.ts', ...(realtime ? [] : ['test/**/*.realtime.test.ts'])],
    // Integration tests start real servers and chains; a hang is caught by this generous ceiling, never by
    // wall-clock assertions inside tests.
    testTimeout: 600_000,
    hookTimeout: 300_000,
    setupFiles: ['test/support/turn-event-loop.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: realtime ? 1 : 2, minForks: 1 } },
    reporters: ['default'],
  },
});
