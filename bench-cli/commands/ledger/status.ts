import type { LedgerStatusResult } from '../../../ledger/service.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags } from '../../flags.js';

export default class LedgerStatus extends BenchCommand {
  static override summary =
    'Show the chain, the relayer account, the contracts, registered meters and the tariff version.';
  static override flags = { ...ledgerFlags };

  async run(): Promise<LedgerStatusResult> {
    const { flags } = await this.parse(LedgerStatus);
    const { ledgerStatus } = await import('../../../ledger/service.js');
    const s = await ledgerStatus({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
    });
    this.say(`chain ${s.chainId}${s.url ? ` at ${s.url}` : ' (embedded, fresh)'}  block ${s.blockNumber}`);
    this.say(`relayer ${s.relayer.address}  balance ${s.relayer.balanceEth} ETH`);
    for (const [name, address] of Object.entries(s.contracts)) this.say(`  ${name.padEnd(15)} ${address}`);
    this.say(`meters registered ${s.meters}  tariff version ${s.tariffVersion}`);
    return s;
  }
}
