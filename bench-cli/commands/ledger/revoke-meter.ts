import { Flags } from '@oclif/core';
import type { RegisterMeterResult } from '../../../ledger/service.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags } from '../../flags.js';

export default class LedgerRevokeMeter extends BenchCommand {
  static override summary = "Revoke a meter's signing address for good (owner only); it never bills again.";
  static override flags = {
    ...ledgerFlags,
    meter: Flags.string({ description: 'Meter signing address (0x…).', required: true }),
  };

  async run(): Promise<RegisterMeterResult> {
    const { flags } = await this.parse(LedgerRevokeMeter);
    const { ledgerRevokeMeter } = await import('../../../ledger/service.js');
    const r = await ledgerRevokeMeter({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
      meter: flags.meter,
    });
    this.say(`revoked ${r.meter.meter}  status ${r.meter.status}  (tx ${r.txHash})`);
    return r;
  }
}
