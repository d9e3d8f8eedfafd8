/**
 * SCPI programmable AC load dialects as DATA (not subclasses). `{v}` is replaced by the formatted value.
 * Limits are the load's ratings; setpoints outside them are rejected, never clamped.
 */
export interface ScpiDialect {
  name: string;
  /** Regular expression the *IDN? answer must match. */
  idnPattern: string;
  commands: {
    mode: Record<'current' | 'power' | 'resistance' | 'rectified', string>;
    current: string;
    power: string;
    powerFactor: string;
    crestFactor: string;
    loadOn: string;
    loadOff: string;
    measurePower: string;
    measureCurrent: string;
  };
  limits: {
    currentA: [number, number];
    powerW: [number, number];
    powerFactor: [number, number];
    crestFactor: [number, number];
  };
  decimals: number;
}

export const SCPI_DIALECTS: Record<string, ScpiDialect> = {
  'chroma-63800': {
    name: 'chroma-63800',
    idnPattern: '^CHROMA,\\s*638\\d\\d',
    commands: {
      mode: { current: 'MODE CC', power: 'MODE CP', resistance: 'MODE CR', rectified: 'MODE RLC' },
      current: 'CURR:PEAK:MAX {v}',
      power: 'POW {v}',
      powerFactor: 'PFAC {v}',
      crestFactor: 'CFAC {v}',
      loadOn: 'LOAD ON',
      loadOff: 'LOAD OFF',
      measurePower: 'MEAS:POW?',
      measureCurrent: 'MEAS:CURR?',
    },
    limits: { currentA: [0, 36], powerW: [0, 3600], powerFactor: [0, 1], crestFactor: [1.41, 5] },
    decimals: 3,
  },
};
