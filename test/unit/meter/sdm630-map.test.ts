import { describe, expect, it } from 'vitest';
import { readoutItems } from '../../../meter/faces/iec62056.js';
import {
  type LiveValues,
  newLiveValues,
  registerWords,
  Sdm630Settings,
  sdm630Values,
} from '../../../meter/faces/register-map.js';
import { SDM630_HOLDING, SDM630_INPUT, SDM630_INPUT_RANGE } from '../../../protocols/sdm630.js';

const phase = (voltage: number, current: number, pf: number, importKWh: number) => {
  const p = voltage * current * pf;
  return {
    voltage,
    current,
    activePower: p,
    reactivePower: voltage * current * Math.sin(Math.acos(pf)),
    powerFactor: pf,
    voltageThd: 1,
    currentThd: 4,
    importKWh,
    exportKWh: 0,
    importKVarh: 0,
    exportKVarh: 0,
  };
};
/** A balanced three-phase load (11 kW EV charger, 16 A per phase at PF 1) on a polyphase meter. */
const balanced: LiveValues = {
  ...newLiveValues(),
  phases: [phase(230, 16, 1, 10), phase(230, 16, 1, 10), phase(230, 16, 1, 10)],
  voltage: 230,
  current: 16,
  activePower: 3 * 230 * 16,
  importKWh: 30,
};

describe('the SDM630 map (Eastron: parameter n at register 2·(n − 1))', () => {
  it('has the published addresses, inside the map range, each parameter on its own two registers', () => {
    const at = (q: string) => SDM630_INPUT.find((p) => p.quantity === q)?.address;
    expect([at('l1.voltage'), at('l2.voltage'), at('l3.voltage'), at('l3.current')]).toEqual([0, 2, 4, 0x0a]);
    expect([at('sys.activePower'), at('sys.frequency'), at('sys.importKWh'), at('sys.totalKWh')]).toEqual([
      0x34, 0x46, 0x48, 0x156,
    ]);
    expect([at('ll12.voltage'), at('sys.neutralCurrent'), at('l1.importKWh'), at('l3.totalKVarh')]).toEqual([
      0xc8, 0xe0, 0x15a, 0x17c,
    ]);
    const addresses = SDM630_INPUT.map((p) => p.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(
      addresses.every((a) => a % 2 === 0 && a >= SDM630_INPUT_RANGE.first && a + 1 <= SDM630_INPUT_RANGE.last),
    ).toBe(true);
    expect(new Set(SDM630_INPUT.map((p) => p.quantity)).size).toBe(SDM630_INPUT.length);
  });

  it('a single-phase meter carries its values on L1: L2 and L3 read 0, the neutral the phase current', () => {
    const v = sdm630Values({ ...newLiveValues(), voltage: 230, current: 10, activePower: 2300, powerFactor: 1 });
    expect([v.get('l1.voltage'), v.get('l2.voltage'), v.get('l3.voltage')]).toEqual([230, 0, 0]);
    expect(v.get('sys.neutralCurrent')).toBeCloseTo(10, 9);
    expect(v.get('ll12.voltage')).toBe(0);
    expect(v.get('sys.voltage')).toBe(230);
  });

  it('a balanced three-phase load: per-phase values, √3 line voltages, no neutral current, totals summed', () => {
    const v = sdm630Values(balanced);
    expect([v.get('l1.activePower'), v.get('l2.activePower'), v.get('l3.activePower')]).toEqual([3680, 3680, 3680]);
    expect(v.get('ll12.voltage')).toBeCloseTo(230 * Math.sqrt(3), 6);
    expect(v.get('sys.neutralCurrent')).toBeCloseTo(0, 9);
    expect(v.get('sys.currentSum')).toBe(48);
    expect(v.get('sys.apparentPower')).toBeCloseTo(3 * 3680, 6);
    expect(v.get('l2.importKWh')).toBe(10);
    expect(v.get('sys.totalKWh')).toBe(30);
    // Every address of the range has a word; a parameter's words decode to its value.
    const words = registerWords(balanced);
    const buf = Buffer.alloc(4);
    buf.writeUInt16BE(words.get(0x0156)!, 0);
    buf.writeUInt16BE(words.get(0x0157)!, 2);
    expect(buf.readFloatBE(0)).toBe(30);
    expect(words.has(SDM630_INPUT_RANGE.last)).toBe(true);
    expect(words.has(SDM630_INPUT_RANGE.last + 1)).toBe(false);
  });

  it('the optical readout lists each phase of a polyphase meter, L1 alone of a single-phase one', () => {
    const codes = (v: LiveValues) =>
      readoutItems(
        v,
        { manufacturer: 'BEN', identification: 'RM1', serial: 's', firmware: 'f', maxBaud: '5' },
        new Date(0),
      ).map(([c]) => c);
    expect(codes(balanced)).toEqual(
      expect.arrayContaining(['52.7.0', '72.7.0', '51.7.0', '71.7.0', '41.8.0', '61.8.0', '21.7.0']),
    );
    const single = codes({ ...newLiveValues(), voltage: 230 });
    expect(single).toContain('21.8.0');
    expect(single).not.toContain('52.7.0');
  });
});

describe('the SDM630 settings (holding registers)', () => {
  const words = (x: number) => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(x);
    return [b.readUInt16BE(0), b.readUInt16BE(2)];
  };
  it('writes a writable setting whole, refuses a read-only one (02), a value it does not take (03) and half a setting (02)', () => {
    const s = new Sdm630Settings();
    expect(s.write(0x0014, words(17))).toBe(0);
    expect(s.get('nodeAddress')).toBe(17);
    expect(s.write(0x0014, words(248))).toBe(3);
    expect(s.write(0x0000, words(5))).toBe(2);
    expect(s.write(0x0015, words(5))).toBe(2);
    expect(s.write(0x0014, [words(3)[0]!])).toBe(2);
    // Nothing of a refused write sticks, even when its first setting was fine.
    expect(s.write(0x0012, [...words(1), ...words(300)])).toBe(3);
    expect(s.get('parityStop')).toBe(0);
    expect(s.get('nodeAddress')).toBe(17);
  });

  it('every setting starts at a value it accepts', () => {
    const s = new Sdm630Settings();
    for (const x of SDM630_HOLDING) expect(s.write(x.address, words(x.initial)), x.key).toBe(x.writable ? 0 : 2);
  });
});
