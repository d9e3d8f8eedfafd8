/** Modbus meter register maps as DATA. SDM630-style: input registers (FC04), float32 big-endian over two words. */
export interface RegisterMap {
  name: string;
  functionCode: 4 | 3;
  registers: Record<string, { address: number; unit: string }>;
}

export const REGISTER_MAPS: Record<string, RegisterMap> = {
  sdm630: {
    name: 'sdm630',
    functionCode: 4,
    registers: {
      voltage: { address: 0x0000, unit: 'V' },
      current: { address: 0x0006, unit: 'A' },
      activePower: { address: 0x000c, unit: 'W' },
      reactivePower: { address: 0x0018, unit: 'var' },
      powerFactor: { address: 0x001e, unit: '1' },
      totalPower: { address: 0x0034, unit: 'W' },
      frequency: { address: 0x0046, unit: 'Hz' },
      importKWh: { address: 0x0048, unit: 'kWh' },
      exportKWh: { address: 0x004a, unit: 'kWh' },
      importKVarh: { address: 0x004c, unit: 'kvarh' },
      exportKVarh: { address: 0x004e, unit: 'kvarh' },
    },
  },
};
