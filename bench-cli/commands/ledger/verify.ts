import { Args, Flags } from '@oclif/core';
import type { VerifyRunResult } from '../../../ledger/verify-run.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags, runsDirFlag } from '../../flags.js';

export default class LedgerVerify extends BenchCommand {
  static override summary = "Verify a run's billing records against the ledger (exit 1 when any record fails).";
  static override description =
    "Reads the run record's `obs.meter.billing` entries ({ meterId, signed: { record, signature } }). With --ledger " +
    'URL (or for a run that used an external ledger, its URL) the records are looked up on that chain, in the ' +
    "run's own blocks; for a run on the embedded chain they are replayed on a fresh one with the run's tariff " +
    'versions and meter registrations. Reports missing, duplicate, forged, out-of-sequence, tampered and ' +
    'mismatching records.';
  static override args = { runId: Args.string({ required: true, description: 'Run id (see `bench run list`).' }) };
  static override flags = {
    ...ledgerFlags,
    'runs-dir': runsDirFlag,
    'from-block': Flags.integer({
      description:
        "First block to read (default: the run's first block on its own contracts, else the deployment block).",
      min: 0,
    }),
    'to-block': Flags.integer({
      description:
        'Last block to read (default: the last block the run read back on its own contracts, else the latest).',
      min: 0,
    }),
  };

  async run(): Promise<VerifyRunResult> {
    const { args, flags } = await this.parse(LedgerVerify);
    const { loadRunWithout, resolveRunsDir } = await import('../../../core/record/store.js');
    const { HIGH_RATE_KINDS } = await import('../../../core/record/entries.js');
    const { verifyRunLedger } = await import('../../../ledger/verify-run.js');
    const run = await loadRunWithout(resolveRunsDir(flags['runs-dir']), args.runId, HIGH_RATE_KINDS);
    const r = await verifyRunLedger({
      runId: args.runId,
      entries: run.entries,
      header: run.header,
      ledger: flags.ledger,
      deploymentFile: flags.deployment,
      fromBlock: flags['from-block'],
      toBlock: flags['to-block'],
      mnemonic: flags.mnemonic,
    });
    this.say(
      `run ${r.runId}: ${r.mode === 'replay' ? 'replayed on an embedded chain' : `chain ${r.chainId} at ${r.url}`}, blocks ${r.fromBlock}..${r.toBlock}`,
    );
    const c = r.counts;
    this.say(`observed ${c.observed}  landed ${c.landed}  verified ${c.verified}`);
    for (const m of r.malformed) this.say(`  MALFORMED entry ${m.entry}: ${m.reason}`);
    for (const i of r.issues)
      this.say(`  ${i.kind.toUpperCase().padEnd(16)} ${i.meter}${i.seq ? ` #${i.seq}` : ''}  ${i.message}`);
    const ok = r.ok && r.malformed.length === 0;
    this.say(ok ? 'PASS: every record verified' : `FAIL: ${r.issues.length + r.malformed.length} problems`);
    this.exitWithVerdict(ok ? 'PASS' : 'FAIL');
    return r;
  }
}
