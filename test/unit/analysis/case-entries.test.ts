import { describe, expect, it } from 'vitest';
import { CaseEntries, RegisterTrack } from '../../../analysis/case-entries.js';
import { registerAt } from '../../../analysis/energy.js';
import { analyseCase } from '../../../analysis/registry.js';
import { SeriesDownsampler } from '../../../analysis/timeline.js';
import { seededRandom } from '../../../core/random.js';
import { ENTRY } from '../../../core/record/entries.js';

/** A day of 1 s measurements of one meter: 500 W with a 2 kW kettle for 3 minutes at noon and a 1 s spike. */
function day(meterId = 'm1', seconds = 86_400) {
  const out: Array<{ kind: string; data: Record<string, unknown> }> = [];
  let importWh = 0;
  for (let t = 0; t < seconds; t++) {
    const p = 500 + (t >= 43_200 && t < 43_380 ? 2000 : 0) + (t === 70_001 ? 5000 : 0);
    out.push({
      kind: ENTRY.meterMeasurement,
      data: { caseId: 'c', meterId, t, p, q: 0, vrms: 230, irms: p / 230, pf: 1, importWh, exportWh: 0 },
    });
    importWh += p / 3600;
  }
  return out;
}

describe('a case’s entries reduced as they stream', () => {
  it('keeps measurements in a register track that reads what the whole series reads, at any instant', () => {
    const random = seededRandom(7);
    const readings = Array.from({ length: 500 }, (_, i) => ({
      t: i * 1.5 + random.next() * 0.2,
      p: 100 + 1000 * random.next(),
      importWh: i * 0.5,
      exportWh: i * 0.01,
    }));
    const track = new RegisterTrack();
    // Two arrive late: the track sorts them as the array is sorted.
    for (const r of [...readings.slice(0, 200), readings[201]!, readings[200]!, ...readings.slice(202)]) track.push(r);
    expect(track.length).toBe(500);
    for (let k = 0; k < 200; k++) {
      const t = -5 + random.next() * 760;
      for (const key of ['importWh', 'exportWh'] as const)
        expect(registerAt(track, t, key)).toBe(registerAt(readings, t, key));
    }
  });

  it('downsamples a day to at most 1,500 points per series, keeping the 1 s spike and the kettle', () => {
    const s = new SeriesDownsampler();
    for (const e of day()) s.add(Number(e.data.t), Number(e.data.p));
    const points = s.points();
    expect(points.length).toBeLessThanOrEqual(1500);
    expect(points.some((p) => p.t === 70_001 && p.p === 5500)).toBe(true);
    expect(points.filter((p) => p.p === 2500).length).toBeGreaterThan(0);
    expect(points.map((p) => p.t)).toEqual([...points.map((p) => p.t)].sort((a, b) => a - b));
    // A week keeps the same bound: the buckets widen instead of multiplying.
    const week = new SeriesDownsampler();
    for (let t = 0; t < 7 * 86_400; t++) week.add(t, t % 3600);
    expect(week.points().length).toBeLessThanOrEqual(1500);
  });

  it('keeps low-rate entries whole and refuses to hand out measurements it reduced', () => {
    const entries = CaseEntries.of([
      { kind: ENTRY.truthEvent, data: { caseId: 'c', t: 1, meterId: 'm1', class: 'kettle' } },
      ...day('m1', 600),
    ]);
    expect(entries.ofKind(ENTRY.truthEvent)).toHaveLength(1);
    expect(() => entries.ofKind(ENTRY.meterMeasurement)).toThrow(/reduced as they stream/);
    const m1 = entries.meters().get('m1')!;
    expect(m1.count).toBe(600);
    expect([m1.first.t, m1.last.t]).toEqual([0, 599]);
    expect(CaseEntries.of(day('m1', 10), { metrology: true }).ofKind(ENTRY.meterMeasurement)).toHaveLength(10);
  });

  it('counts a contract id in a streamed measurement as a privacy leak, as in any other meter output', () => {
    const session = {
      kind: ENTRY.truthSession,
      data: { caseId: 'c', payerContractId: 'C-ALICE-7', hostContractId: 'C-BOB-2' },
    };
    const leaky = { ...day('m1', 3)[2]!, data: { ...day('m1', 3)[2]!.data, note: 'for C-ALICE-7' } };
    const a = analyseCase([session, ...day('m1', 2), leaky], {});
    expect(a.metrics['privacy.leaks']).toBe(1);
    expect(analyseCase([session, ...day('m1', 3)], {}).metrics['privacy.leaks']).toBe(0);
  });
});
