import { Flags } from '@oclif/core';
import type { RegisterMeterResult } from '../../../ledger/service.js';
import { BenchCommand } from '../../base-command.js';
import { ledgerFlags } from '../../flags.js';

export default class LedgerRegisterMeter extends BenchCommand {
  static override summary =
    "Register a meter's signing address with its host pseudonym and firmware hash (owner only).";
  static override flags = {
    ...ledgerFlags,
    meter: Flags.string({ description: 'Meter signing address (0x…).', required: true }),
    host: Flags.string({ description: 'Host pseudonym (bytes32).', exclusive: ['host-id'] }),
    'host-id': Flags.string({
      description: 'Host account id, hashed with --salt into the pseudonym.',
      dependsOn: ['salt'],
    }),
    salt: Flags.string({ description: 'Pseudonym salt for --host-id.' }),
    firmware: Flags.string({ description: 'Firmware hash (bytes32) the meter runs.', required: true }),
    attest: Flags.boolean({ description: 'Also attest (approve) the firmware hash.', default: false }),
  };

  async run(): Promise<RegisterMeterResult> {
    const { flags } = await this.parse(LedgerRegisterMeter);
    const { ledgerRegisterMeter } = await import('../../../ledger/service.js');
    const r = await ledgerRegisterMeter({
      ledger: flags.ledger,
      deployment: flags.deployment,
      mnemonic: flags.mnemonic,
      meter: flags.meter,
      host: flags.host,
      hostId: flags['host-id'],
      salt: flags.salt,
      firmware: flags.firmware,
      attest: flags.attest,
    });
    this.say(`registered ${r.meter.meter}  host ${r.meter.host}  status ${r.meter.status}  (tx ${r.txHash})`);
    return r;
  }
}
