import { describe, expect, it } from 'vitest';
import {
  findMidMpe,
  MID_CLASSES,
  MID_MPE_TABLE,
  midCurrentRange,
  midMaxPermissibleErrorPct,
  midMpe,
  parseMidClass,
} from '../../../analysis/standards/mid.js';

describe('MID Annex V MI-003 Table 2', () => {
  // The one test that writes the published numbers: it checks the table against the directive's text
  // (OJ L 96, 29.3.2014, p. 149; +5 °C … +30 °C column). Everything else reads them from the table.
  it('holds the published MPEs by class, current range and load', () => {
    const cells = MID_MPE_TABLE.map((r) => [r.load, r.current, r.temperature, r.mpePct.A, r.mpePct.B, r.mpePct.C]);
    expect(cells).toEqual([
      ['single-phase', 'imin-itr', '+5..+30', 3.5, 2, 1],
      ['single-phase', 'itr-imax', '+5..+30', 2, 1, 0.5],
      ['polyphase-single-phase-load', 'itr-imax', '+5..+30', 2.5, 1.5, 1],
    ]);
  });

  it('the MPE never grows with the class: A ≥ B ≥ C, and below Itr ≥ from Itr', () => {
    for (const r of MID_MPE_TABLE) expect(r.mpePct.A).toBeGreaterThan(r.mpePct.B);
    for (const r of MID_MPE_TABLE) expect(r.mpePct.B).toBeGreaterThan(r.mpePct.C);
    for (const cls of MID_CLASSES) {
      expect(midMpe({ midClass: cls, current: 'imin-itr' }).mpePct).toBeGreaterThan(
        midMpe({ midClass: cls, current: 'itr-imax' }).mpePct,
      );
    }
  });

  it('looks a test point up by its current against Itr', () => {
    expect(midCurrentRange(0.25, 0.5)).toBe('imin-itr');
    expect(midCurrentRange(0.5, 0.5)).toBe('itr-imax');
    for (const cls of MID_CLASSES) {
      expect(midMaxPermissibleErrorPct(cls, 0.25, 0.5)).toBe(midMpe({ midClass: cls, current: 'imin-itr' }).mpePct);
      expect(midMaxPermissibleErrorPct(cls, 40, 0.5)).toBe(midMpe({ midClass: cls, current: 'itr-imax' }).mpePct);
    }
  });

  it('cites the clause, class and cell with the number', () => {
    expect(midMpe({ midClass: 'B', current: 'itr-imax' }).citation).toMatch(
      /^MID 2014\/32\/EU Annex V \(MI-003\) §3 Table 2 \(class B, Itr ≤ I ≤ Imax, .*\+5…\+30 °C: MPE 1 %\)$/,
    );
  });

  it('has no cell for a single-phase load on a polyphase meter below Itr, and no class D', () => {
    expect(findMidMpe({ midClass: 'B', current: 'imin-itr', load: 'polyphase-single-phase-load' })).toBeUndefined();
    expect(() => parseMidClass('D')).toThrow(/A, B or C/);
  });
});
