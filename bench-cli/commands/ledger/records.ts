import { Flags } from '@oclif/core';
import type { LedgerRecordsResult } from '../../../ledger/service.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags } from '../../flags.js';

export default class LedgerRecords extends BenchCommand {
  static override summary =
    'List billing records on the ledger (eth_getLogs by block range; resumable with --from-block).';
  static override flags = {
    ...ledgerFlags,
    meter: Flags.string({ description: 'Only this meter (signing address).' }),
    'from-block': Flags.integer({ description: 'First block (default: the deployment block).', min: 0 }),
    'to-block': Flags.integer({ description: 'Last block (default: latest).', min: 0 }),
  };

  async run(): Promise<LedgerRecordsResult> {
    const { flags } = await this.parse(LedgerRecords);
    const { ledgerRecords } = await import('../../../ledger/service.js');
    const r = await ledgerRecords({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
      meter: flags.meter,
      fromBlock: flags['from-block'],
      toBlock: flags['to-block'],
    });
    for (const l of r.records) {
      const x = l.record;
      this.say(
        `#${l.blockNumber} ${x.meter} seq ${x.seq}  ${x.start}..${x.end}  import ${x.importMilliWh} mWh  export ${x.exportMilliWh} mWh  cost ${x.costMicro} µ  tariff v${x.tariffVersion}${l.batch ? `  batch ${l.batch.index + 1}/${l.batch.count}` : ''}`,
      );
    }
    this.say(
      `${r.records.length} records in blocks ${r.fromBlock}..${r.toBlock}; continue with --from-block ${r.nextBlock}`,
    );
    return r;
  }
}
