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
  /**
   * A three-phase load (one three-phase unit, or three single-phase units as one): the command that addresses one
   * phase for the setpoints that follow (SCPI-99 INSTrument:NSELect), phases numbered 1 to 3; limits are per phase.
   * `apply`: the command after which the settings sent to the phases since the last one take effect together (an
   * IEEE 488.2 *TRG with the load's trigger on the bus), so a three-phase step happens in one instant, as a
   * three-phase charger's does; without it each phase's setting takes effect on arrival, a few ms apart, and the
   * meter sees three single-phase steps.
   */
  phases?: { count: 3; select: string; apply?: string };
}

const CHROMA_63800: ScpiDialect = {
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
};

export const SCPI_DIALECTS: Record<string, ScpiDialect> = {
  'chroma-63800': CHROMA_63800,
  // Three Chroma 63804 (4.5 kVA, 45 A rms each) in master/slave parallel: the same commands, ratings × 3, enough
  // for the MID Imax test point of a 40 A meter (9.2 kW at 230 V), which one 63800-series unit cannot draw.
  'chroma-63804x3': {
    ...CHROMA_63800,
    name: 'chroma-63804x3',
    limits: { ...CHROMA_63800.limits, currentA: [0, 135], powerW: [0, 13_500] },
  },
  // The same three Chroma 63804 units as a three-phase load, one per phase (L1, L2, L3), each addressed with
  // INST:NSEL before its setpoints; ratings per phase (45 A rms, 4.5 kW).
  'chroma-63804-3ph': {
    ...CHROMA_63800,
    name: 'chroma-63804-3ph',
    limits: { ...CHROMA_63800.limits, currentA: [0, 45], powerW: [0, 4500] },
    phases: { count: 3, select: 'INST:NSEL {n}', apply: '*TRG' },
  },
  // Nine 63804 units as a three-phase load of three paralleled groups, one group per phase (135 A, 13.5 kW each):
  // unaddressed setpoints go to L1's group, so the same rack plays single-phase scenarios (the 9.2 kW Imax point).
  'chroma-63804x3-3ph': {
    ...CHROMA_63800,
    name: 'chroma-63804x3-3ph',
    limits: { ...CHROMA_63800.limits, currentA: [0, 135], powerW: [0, 13_500] },
    phases: { count: 3, select: 'INST:NSEL {n}', apply: '*TRG' },
  },
};
