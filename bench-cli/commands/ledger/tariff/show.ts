import { Flags } from '@oclif/core';
import type { TariffVersionJson } from '../../../../billing/tariff-file.js';
import { BenchCommand } from '../../../base-command.js';
import { ledgerFlags } from '../../../flags.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export default class LedgerTariffShow extends BenchCommand {
  static override summary = 'Show a tariff version (default: the current one).';
  static override flags = { ...ledgerFlags, version: Flags.integer({ description: 'Tariff version.', min: 1 }) };

  async run(): Promise<TariffVersionJson> {
    const { flags } = await this.parse(LedgerTariffShow);
    const { ledgerTariffShow } = await import('../../../../ledger/service.js');
    const t = await ledgerTariffShow({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
      version: flags.version,
    });
    this.say(`tariff version ${t.version}  (valid from ${t.validFrom}, UTC offset ${t.utcOffsetSeconds} s)`);
    this.say(`bands (µ/kWh): ${t.bandPrices.map((p, i) => `${i}=${p}`).join('  ')}`);
    this.say(`EV incentive ${t.evIncentive} µ/kWh  market price ${t.marketPrice} µ/kWh`);
    this.say(`hour     ${Array.from({ length: 24 }, (_, h) => String(h).padStart(2)).join(' ')}`);
    for (const [d, row] of t.schedule.entries()) {
      this.say(`${DAYS[d]}      ${row.map((b) => String(b).padStart(2)).join(' ')}`);
    }
    return t;
  }
}
