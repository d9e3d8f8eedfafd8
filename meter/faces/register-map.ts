import {
  SDM630_HOLDING,
  SDM630_HOLDING_RANGE,
  SDM630_INPUT,
  SDM630_INPUT_RANGE,
  type Sdm630Setting,
  settingAccepts,
} from '../../protocols/sdm630.js';

/** One phase's live values, as a polyphase meter measures them. */
export interface PhaseLive {
  voltage: number;
  current: number;
  activePower: number;
  reactivePower: number;
  powerFactor: number;
  /** Total harmonic distortion, % of the fundamental (0 when the meter does not measure it). */
  voltageThd: number;
  currentThd: number;
  importKWh: number;
  exportKWh: number;
  importKVarh: number;
  exportKVarh: number;
}

/**
 * What the meter's faces (Modbus, the optical readout) answer from. The flat fields are a single-phase meter's
 * values, which are also its system totals; a polyphase meter adds `phases` (L1, L2, L3) and keeps the flat fields
 * as its totals (voltage and current those of L1).
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
  voltageThd?: number;
  currentThd?: number;
  phases?: readonly PhaseLive[];
  events: number;
  billingRecords: number;
}

const NO_PHASE: PhaseLive = {
  voltage: 0,
  current: 0,
  activePower: 0,
  reactivePower: 0,
  powerFactor: 0,
  voltageThd: 0,
  currentThd: 0,
  importKWh: 0,
  exportKWh: 0,
  importKVarh: 0,
  exportKVarh: 0,
};

/** The meter's phases L1–L3: its own, or for a single-phase meter its values on L1 and nothing on L2 and L3. */
export function phasesOf(v: LiveValues): PhaseLive[] {
  if (v.phases) return [0, 1, 2].map((i) => v.phases![i] ?? NO_PHASE);
  const l1: PhaseLive = {
    voltage: v.voltage,
    current: v.current,
    activePower: v.activePower,
    reactivePower: v.reactivePower,
    powerFactor: v.powerFactor,
    voltageThd: v.voltageThd ?? 0,
    currentThd: v.currentThd ?? 0,
    importKWh: v.importKWh,
    exportKWh: v.exportKWh,
    importKVarh: v.importKVarh,
    exportKVarh: v.exportKVarh,
  };
  return [l1, NO_PHASE, NO_PHASE];
}

const degrees = (q: number, p: number) => (p === 0 && q === 0 ? 0 : (Math.atan2(q, p) * 180) / Math.PI);
const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** A phase's current as a phasor, its voltage at 0°, −120°, +120° (positive sequence); the current lags by φ. */
function currentPhasor(ph: PhaseLive, i: number): [number, number] {
  const angle = (-2 * Math.PI * i) / 3 - Math.atan2(ph.reactivePower, ph.activePower);
  return [ph.current * Math.cos(angle), ph.current * Math.sin(angle)];
}

/** Line-to-line voltage between two phases 120° apart; 0 when either is dead (a single-phase meter has none). */
const lineToLine = (a: PhaseLive, b: PhaseLive) =>
  a.voltage > 0 && b.voltage > 0 ? Math.sqrt(a.voltage ** 2 + b.voltage ** 2 + a.voltage * b.voltage) : 0;

/**
 * Every quantity of the SDM630 input map for the current values. Demand, VAh and Ah are integrals the reference
 * meter does not keep: they read 0, as on a meter just reset.
 */
export function sdm630Values(v: LiveValues): Map<string, number> {
  const ph = phasesOf(v);
  const out = new Map<string, number>();
  ph.forEach((p, i) => {
    const l = `l${i + 1}`;
    const s = p.voltage * p.current;
    out.set(`${l}.voltage`, p.voltage);
    out.set(`${l}.current`, p.current);
    out.set(`${l}.activePower`, p.activePower);
    out.set(`${l}.apparentPower`, s);
    out.set(`${l}.reactivePower`, p.reactivePower);
    out.set(`${l}.powerFactor`, p.powerFactor);
    out.set(`${l}.phaseAngle`, degrees(p.reactivePower, p.activePower));
    out.set(`${l}.voltageThd`, p.voltageThd);
    out.set(`${l}.currentThd`, p.currentThd);
    out.set(`${l}.importKWh`, p.importKWh);
    out.set(`${l}.exportKWh`, p.exportKWh);
    out.set(`${l}.totalKWh`, p.importKWh + p.exportKWh);
    out.set(`${l}.importKVarh`, p.importKVarh);
    out.set(`${l}.exportKVarh`, p.exportKVarh);
    out.set(`${l}.totalKVarh`, p.importKVarh + p.exportKVarh);
  });
  const live = ph.filter((p) => p.voltage > 0);
  const sumS = ph.reduce((s, p) => s + p.voltage * p.current, 0);
  out.set('sys.voltage', mean(live.map((p) => p.voltage)));
  out.set('sys.current', mean(live.map((p) => p.current)));
  out.set(
    'sys.currentSum',
    ph.reduce((s, p) => s + p.current, 0),
  );
  out.set('sys.activePower', v.activePower);
  out.set('sys.apparentPower', sumS);
  out.set('sys.reactivePower', v.reactivePower);
  out.set('sys.powerFactor', sumS > 0 ? v.activePower / sumS : v.powerFactor);
  out.set('sys.phaseAngle', degrees(v.reactivePower, v.activePower));
  out.set('sys.frequency', v.frequency);
  out.set('sys.importKWh', v.importKWh);
  out.set('sys.exportKWh', v.exportKWh);
  out.set('sys.importKVarh', v.importKVarh);
  out.set('sys.exportKVarh', v.exportKVarh);
  out.set('sys.totalKWh', v.importKWh + v.exportKWh);
  out.set('sys.totalKVarh', v.importKVarh + v.exportKVarh);
  out.set('ll12.voltage', lineToLine(ph[0]!, ph[1]!));
  out.set('ll23.voltage', lineToLine(ph[1]!, ph[2]!));
  out.set('ll31.voltage', lineToLine(ph[2]!, ph[0]!));
  out.set('sys.lineVoltage', mean(['ll12', 'll23', 'll31'].map((k) => out.get(`${k}.voltage`)!).filter((x) => x > 0)));
  // The neutral carries the phasor sum of the phase currents (on a single-phase meter, the phase current).
  const [nr, ni] = ph.map(currentPhasor).reduce(([ar, ai], [r, i]) => [ar + r, ai + i], [0, 0]);
  out.set('sys.neutralCurrent', Math.hypot(nr, ni));
  out.set('sys.voltageThd', mean(live.map((p) => p.voltageThd)));
  out.set('sys.currentThd', mean(live.map((p) => p.currentThd)));
  return out;
}

/**
 * The bench reference meter's own input registers, after the SDM630 map: its switch-event and billing-record
 * counters (a real SDM630 answers exception 02 there).
 */
export const REFERENCE_METER_INPUT: ReadonlyArray<{ address: number; name: string; value: (v: LiveValues) => number }> =
  [
    { address: 0x0200, name: 'Detected switch events (reference meter)', value: (v) => v.events },
    { address: 0x0202, name: 'Billing records issued (reference meter)', value: (v) => v.billingRecords },
  ];

/**
 * The input registers (function 04) for the current values, address → 16-bit word: the SDM630 map's whole range
 * (0 where no parameter sits, as the meter answers) and the reference meter's counters. An address not here is
 * outside the map (exception 02).
 */
export function registerWords(v: LiveValues): Map<number, number> {
  const words = new Map<number, number>();
  for (let a = SDM630_INPUT_RANGE.first; a <= SDM630_INPUT_RANGE.last; a++) words.set(a, 0);
  const values = sdm630Values(v);
  const buf = Buffer.alloc(4);
  const put = (address: number, value: number) => {
    buf.writeFloatBE(value);
    words.set(address, buf.readUInt16BE(0));
    words.set(address + 1, buf.readUInt16BE(2));
  };
  for (const p of SDM630_INPUT) put(p.address, values.get(p.quantity) ?? 0);
  for (const r of REFERENCE_METER_INPUT) put(r.address, r.value(v));
  return words;
}

/**
 * The meter's settings (holding registers, function 03 to read, 16 to write), kept per face: a master reads back
 * what it wrote. They are stored, as the meter stores them; the emulated meter's measurement does not follow them.
 */
export class Sdm630Settings {
  private readonly values = new Map<string, number>(SDM630_HOLDING.map((s) => [s.key, s.initial]));

  /** `initial` overrides the factory values (a meter configured with another node address). */
  constructor(initial: Record<string, number> = {}) {
    for (const [key, value] of Object.entries(initial)) this.values.set(key, value);
  }

  /** The node address the meter answers to: a master that writes a new one reaches it there from the next request. */
  get unit(): number {
    return this.values.get('nodeAddress')!;
  }

  get(key: string): number | undefined {
    return this.values.get(key);
  }

  /** Holding register words: the settings' range, 0 where no setting sits; undefined outside it. */
  word(address: number): number | undefined {
    if (address < SDM630_HOLDING_RANGE.first || address > SDM630_HOLDING_RANGE.last) return undefined;
    const s = SDM630_HOLDING.find((x) => address === x.address || address === x.address + 1);
    if (!s) return 0;
    const buf = Buffer.alloc(4);
    buf.writeFloatBE(this.values.get(s.key)!);
    return buf.readUInt16BE(address === s.address ? 0 : 2);
  }

  /**
   * Writes `words` from `address` (function 16): each setting whole (two registers from its address). Returns the
   * Modbus exception code when refused: 02 for an address that is no writable setting or cuts one in half, 03 for
   * a value the setting does not take. Nothing is written unless all of it is.
   */
  write(address: number, words: readonly number[]): 0 | 2 | 3 {
    if (words.length % 2 !== 0) return 2;
    const changes: Array<[Sdm630Setting, number]> = [];
    const buf = Buffer.alloc(4);
    for (let k = 0; k < words.length; k += 2) {
      const s = SDM630_HOLDING.find((x) => x.address === address + k);
      if (!s?.writable) return 2;
      buf.writeUInt16BE(words[k]!, 0);
      buf.writeUInt16BE(words[k + 1]!, 2);
      const value = buf.readFloatBE(0);
      if (!settingAccepts(s, value)) return 3;
      changes.push([s, value]);
    }
    for (const [s, value] of changes) this.values.set(s.key, value);
    return 0;
  }
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
