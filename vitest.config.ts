import { defineConfig } from 'vitest/config';

// Tests that play scenarios in scaled real time through PTYs (`*.realtime.test.ts`) measure timing: they run in
// a pass of their own (scripts/test-all.sh), so the CPU-heavy main pass cannot skew them. Two of their files run
// side by side: a real-time case mostly waits on its clock (the smoke suite on sim-serial: 125 s of wall time, 26 s
// of CPU), so two leave the cores mostly idle.
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
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
