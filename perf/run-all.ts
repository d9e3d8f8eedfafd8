/**
 * `npm run bench:perf`: every benchmark in one process run, each printing its own measurements and ratios taken
 * side by side in the same run (never against a number measured elsewhere). Select some with
 * `npm run bench:perf -- ledger meter`.
 */
const BENCHMARKS: Record<string, () => Promise<unknown>> = {
  cli: async () => (await import('./cli.js')).benchCli(),
  profiles: async () => (await import('./profiles.js')).benchSynthesis(),
  meter: async () => (await import('./meter.js')).benchMeter(),
  'three-phase': async () => (await import('./three-phase.js')).benchThreePhase(),
  ledger: async () => (await import('./ledger.js')).benchLedger(),
  rigs: async () => (await import('./rigs.js')).benchRigs(),
  certify: async () => (await import('./certify.js')).benchCertify(),
  ocpp: async () => (await import('./ocpp.js')).benchOcpp(),
  lab: async () => (await import('./lab.js')).benchLab(),
};

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(BENCHMARKS);
const results: Record<string, unknown> = {};
let failed = 0;
for (const name of names) {
  const run = BENCHMARKS[name];
  if (!run) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n=== ${name} ===`);
  try {
    results[name] = await run();
  } catch (e) {
    failed++;
    console.error(`benchmark ${name} failed: ${(e as Error).stack ?? e}`);
  }
}
console.log(`\n=== summary ===\n${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}`);
if (failed) process.exitCode = 1;
