import { SDM630_INPUT, SDM630_MAX_READ_REGISTERS, sdm630Address } from '../../protocols/sdm630.js';

/**
 * Modbus meter register maps as DATA: the quantities the bench polls, by name, each a float32 big-endian over two
 * words, and the most registers the meter answers in one read (the driver reads contiguous quantities in blocks of
 * up to that many).
 */
export interface RegisterMap {
  name: string;
  functionCode: 4 | 3;
  maxReadRegisters: number;
  registers: Record<string, { address: number; unit: string }>;
  /**
   * A polyphase meter's per-phase quantities, `l1.voltage` … `l3.exportKVarh` (read on a three-phase bench), and
   * the system totals beside them; not part of `readAll`.
   */
  phaseRegisters?: Record<string, { address: number; unit: string }>;
}

/** What the bench reads of each phase of a polyphase meter. */
export const PHASE_QUANTITIES = [
  'voltage',
  'current',
  'activePower',
  'reactivePower',
  'powerFactor',
  'importKWh',
  'exportKWh',
  'importKVarh',
  'exportKVarh',
] as const;

/** The SDM630's addresses come from its published map (protocols/sdm630.ts), by quantity. */
const sdm630 = (quantity: string, unit: string) => ({ address: sdm630Address(quantity), unit });

export const REGISTER_MAPS: Record<string, RegisterMap> = {
  sdm630: {
    name: 'sdm630',
    functionCode: 4,
    maxReadRegisters: SDM630_MAX_READ_REGISTERS,
    registers: {
      voltage: sdm630('l1.voltage', 'V'),
      current: sdm630('l1.current', 'A'),
      activePower: sdm630('l1.activePower', 'W'),
      reactivePower: sdm630('l1.reactivePower', 'var'),
      powerFactor: sdm630('l1.powerFactor', '1'),
      totalPower: sdm630('sys.activePower', 'W'),
      frequency: sdm630('sys.frequency', 'Hz'),
      importKWh: sdm630('sys.importKWh', 'kWh'),
      exportKWh: sdm630('sys.exportKWh', 'kWh'),
      importKVarh: sdm630('sys.importKVarh', 'kvarh'),
      exportKVarh: sdm630('sys.exportKVarh', 'kvarh'),
    },
    phaseRegisters: Object.fromEntries(
      [
        ...[1, 2, 3].flatMap((l) => PHASE_QUANTITIES.map((q) => `l${l}.${q}`)),
        'sys.reactivePower',
        'sys.powerFactor',
      ].map((quantity) => {
        const { address, unit } = SDM630_INPUT.find((p) => p.quantity === quantity)!;
        return [quantity, { address, unit }];
      }),
    ),
  },
};
