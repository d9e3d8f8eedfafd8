import type { LedgerDeployResult } from '../../../ledger/service.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags } from '../../flags.js';

export default class LedgerDeploy extends BenchCommand {
  static override summary =
    'Deploy the ledger contracts (registries, billing ledger, report anchor) and save their addresses.';
  static override description =
    'On an external chain (--ledger URL) the addresses are written to --deployment (default ' +
    './.bench/ledger-<chainId>.json), which the other ledger commands read. Without --ledger the contracts go to a ' +
    'throw-away embedded chain.';
  static override flags = { ...ledgerFlags };

  async run(): Promise<LedgerDeployResult> {
    const { flags } = await this.parse(LedgerDeploy);
    const { ledgerDeploy } = await import('../../../ledger/service.js');
    const r = await ledgerDeploy({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
    });
    this.say(
      `deployed on chain ${r.chainId} at block ${r.deployment.deployedAtBlock}${r.ephemeral ? ' (embedded, not kept)' : ''}`,
    );
    for (const [name, address] of Object.entries(r.deployment.contracts)) this.say(`  ${name.padEnd(15)} ${address}`);
    if (r.deploymentFile) this.say(`addresses saved to ${r.deploymentFile}`);
    return r;
  }
}
