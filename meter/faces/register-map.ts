/**
 * Eastron SDM630-style input registers (function 04): each quantity is an IEEE-754 float32, big-endian, over two
 * 16-bit registers. Addresses from the SDM630 Modbus protocol sheet (and DESIGN §5; total import/export kvarh are
 * parameters 39/40, 30077/30079, at 0x004C/0x004E); the event counter block at
 * 0x0200 is the reference meter's own extension.
 */
export interface LiveValues {
  voltage: number;
  current: number;
  activePower: number;
  reactivePower: number;
  powerFactor: number;
  frequency: number;
  importKWh: number;
  exportKWh: number;
  importKVarh: number;
  exportKVarh: number;
  events: number;
  billingRecords: number;
}

export const SDM630_INPUT_REGISTERS: ReadonlyArray<{
  address: number;
  name: string;
  unit: string;
  value: (v: LiveValues) => number;
}> = [
  { address: 0x0000, name: 'Phase 1 line to neutral volts', unit: 'V', value: (v) => v.voltage },
  { address: 0x0006, name: 'Phase 1 current', unit: 'A', value: (v) => v.current },
  { address: 0x000c, name: 'Phase 1 active power', unit: 'W', value: (v) => v.activePower },
  { address: 0x0018, name: 'Phase 1 reactive power', unit: 'var', value: (v) => v.reactivePower },
  { address: 0x001e, name: 'Phase 1 power factor', unit: '1', value: (v) => v.powerFactor },
  { address: 0x0034, name: 'Total system power', unit: 'W', value: (v) => v.activePower },
  { address: 0x0046, name: 'Frequency of supply voltages', unit: 'Hz', value: (v) => v.frequency },
  { address: 0x0048, name: 'Import active energy', unit: 'kWh', value: (v) => v.importKWh },
  { address: 0x004a, name: 'Export active energy', unit: 'kWh', value: (v) => v.exportKWh },
  { address: 0x004c, name: 'Import reactive energy', unit: 'kvarh', value: (v) => v.importKVarh },
  { address: 0x004e, name: 'Export reactive energy', unit: 'kvarh', value: (v) => v.exportKVarh },
  { address: 0x0200, name: 'Detected switch events (reference meter)', unit: 'count', value: (v) => v.events },
  { address: 0x0202, name: 'Billing records issued (reference meter)', unit: 'count', value: (v) => v.billingRecords },
];

/** Register words of the map for the current values: address → 16-bit word. */
export function registerWords(v: LiveValues): Map<number, number> {
  const words = new Map<number, number>();
  const buf = Buffer.alloc(4);
  for (const r of SDM630_INPUT_REGISTERS) {
    buf.writeFloatBE(r.value(v));
    words.set(r.address, buf.readUInt16BE(0));
    words.set(r.address + 1, buf.readUInt16BE(2));
  }
  return words;
}

export function newLiveValues(): LiveValues {
  return {
    voltage: 0,
    current: 0,
    activePower: 0,
    reactivePower: 0,
    powerFactor: 0,
    frequency: 50,
    importKWh: 0,
    exportKWh: 0,
    importKVarh: 0,
    exportKVarh: 0,
    events: 0,
    billingRecords: 0,
  };
}
