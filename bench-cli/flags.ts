import { Flags } from '@oclif/core';

/** Shared flag definitions, so every command spells them the same way. */
export const runsDirFlag = Flags.string({
  description: 'Directory holding run records (default $BENCH_RUNS_DIR or ./runs).',
  env: 'BENCH_RUNS_DIR',
  default: 'runs',
});

export const reportsDirFlag = Flags.string({
  description:
    "Directory for reports, one folder per run under it (default: the run's own <runs-dir>/<run-id>/reports).",
  env: 'BENCH_REPORTS_DIR',
});

/**
 * The largest seed: seeds feed pure-rand as 32-bit integers (core/random.ts), so a larger one would silently run
 * as another seed (and 99999999999999999999 was recorded as 1e20).
 */
export const MAX_SEED = 2 ** 32 - 1;

/** `--seed`: a whole number 0..MAX_SEED. */
export const seedFlag = (description: string) => Flags.integer({ default: 1, min: 0, max: MAX_SEED, description });

/**
 * Flags shared by the `bench ledger *` commands. The relayer's private key for a real external chain is read only
 * from $BENCH_RELAYER_KEY, never from a flag: flags land in shell history and in run records' argv.
 */
export const ledgerFlags = {
  ledger: Flags.string({
    description:
      'JSON-RPC URL of an external EVM chain (default: an embedded in-process Ganache, chainId 1337). A relayer key for a chain without unlocked accounts comes from $BENCH_RELAYER_KEY.',
    env: 'BENCH_LEDGER',
  }),
  deployment: Flags.string({
    description: 'Deployment file with the contract addresses (default ./.bench/ledger-<chainId>.json).',
  }),
  mnemonic: Flags.string({
    description: 'BIP-39 mnemonic of the accounts (account 0 = relayer and owner). Never printed.',
    env: 'BENCH_LEDGER_MNEMONIC',
  }),
};

/**
 * `--db` of the lab commands and `bench agent`: the lab database's URL (else $BENCH_LAB_DB, read in farm/db.ts so
 * a password there is accepted and one in the flag refused).
 */
export const labDbFlag = Flags.string({
  description:
    'Lab database URL, postgres://user@host:port/db (default $BENCH_LAB_DB). The password comes from PGPASSFILE or PGPASSWORD, never from this flag.',
});
