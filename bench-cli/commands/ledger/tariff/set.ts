import { Args } from '@oclif/core';
import type { TariffVersionJson } from '../../../../billing/tariff-file.js';
import { BenchCommand } from '../../../base-command.js';
import { ledgerFlags } from '../../../flags.js';

export default class LedgerTariffSet extends BenchCommand {
  static override summary = 'Publish a new tariff version from a YAML file (owner only).';
  static override description =
    'The file has bandPrices (micro-units per kWh), schedule (7 rows, Monday first, of 24 band indexes), ' +
    'evIncentive, marketPrice, utcOffsetSeconds and validFrom.';
  static override args = { file: Args.string({ required: true, description: 'Tariff YAML file.' }) };
  static override flags = { ...ledgerFlags };

  async run(): Promise<TariffVersionJson & { txHash: string }> {
    const { args, flags } = await this.parse(LedgerTariffSet);
    const { ledgerTariffSet } = await import('../../../../ledger/service.js');
    const t = await ledgerTariffSet({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
      file: args.file,
    });
    this.say(`tariff version ${t.version} published (tx ${t.txHash})`);
    return t;
  }
}
