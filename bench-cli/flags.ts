import { Flags } from '@oclif/core';

/** Shared flag definitions, so every command spells them the same way. */
export const runsDirFlag = Flags.string({
  description: 'Directory holding run records (default $BENCH_RUNS_DIR or ./runs).',
  env: 'BENCH_RUNS_DIR',
  default: 'runs',
});

export const reportsDirFlag = Flags.string({
  description: 'Directory for reports (default $BENCH_REPORTS_DIR or ./reports).',
  env: 'BENCH_REPORTS_DIR',
  default: 'reports',
});
