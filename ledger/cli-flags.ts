/**
 * Flags shared by the `bench ledger *` commands. (They live here rather than in bench-cli/flags.ts only because the
 * ledger work owns this folder; moving them there changes nothing else.) The relayer's private key for a real
 * external chain is read only from $BENCH_RELAYER_KEY, never from a flag: flags land in shell history and in run
 * records' argv.
 */
import { Flags } from '@oclif/core';

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
