import { describe, expect, it } from 'vitest';
import { EnergyRegisters } from '../../../meter/registers.js';

describe('EnergyRegisters', () => {
  it('book import and export Wh; below the starting threshold nothing moves', () => {
    const r = new EnergyRegisters();
    expect(r.integrate(1.5, 0, 3600)).toBe(false);
    expect(r.importWh).toBe(0);
    expect(r.integrate(1000, 0, 3.6)).toBe(true);
    expect(r.importWh).toBeCloseTo(1, 12);
    expect(r.integrate(-500, 0, 7.2)).toBe(true);
    expect(r.exportWh).toBeCloseTo(1, 12);
    expect(r.importWh).toBeCloseTo(1, 12);
  });

  it('reactive energy has its own threshold: a capacitor bank (no P) still counts varh', () => {
    const r = new EnergyRegisters();
    expect(r.integrate(0, -3600, 1)).toBe(false);
    expect(r.exportVarh).toBeCloseTo(1, 12);
    r.integrate(0, 1, 3600);
    expect(r.importVarh).toBe(0);
  });

  it('S0 pulses: 1000 per kWh of import, fractions carried over, none for export', () => {
    const r = new EnergyRegisters();
    expect(r.pulses(1000, 1.8)).toBe(0); // 0.5 Wh
    expect(r.pulses(1000, 1.8)).toBe(1); // 1.0 Wh
    expect(r.pulses(1000, 9)).toBe(2); // 2.5 Wh more: 2 whole pulses, 0.5 left
    expect(r.pulses(-1000, 36)).toBe(0);
    expect(r.pulses(1000, 1.8)).toBe(1);
  });

  it('a measurement is the mean of the cycles since the last one, with the registers; the next starts afresh', () => {
    const r = new EnergyRegisters();
    r.integrate(100, 0, 36);
    r.accumulate({ p: 100, q: 0, vrms: 230, irms: 0.5 });
    r.accumulate({ p: 300, q: 20, vrms: 230, irms: 1.5 });
    const m = r.measurement();
    expect(m).toEqual({
      p: 200,
      q: 10,
      vrms: 230,
      irms: 1,
      pf: 200 / 230,
      importWh: 1,
      exportWh: 0,
      importVarh: 0,
      exportVarh: 0,
    });
    expect(Object.keys(m)).toEqual([
      'p',
      'q',
      'vrms',
      'irms',
      'pf',
      'importWh',
      'exportWh',
      'importVarh',
      'exportVarh',
    ]);
    const empty = r.measurement();
    expect(empty.p).toBe(0);
    expect(empty.pf).toBe(0);
  });
});
