import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importAcnSessions, importPlaid, importReddHouse } from '../../../profiles/importers.js';
import { groundTruth } from '../../../profiles/scenario.js';
import { stateQ } from '../../../profiles/schema.js';

const FIX = join(import.meta.dirname, '../../fixtures/profiles');

describe('importers', () => {
  it('PLAID: fits P, Q and the 3rd harmonic of a 30 kHz record', () => {
    const p = importPlaid(join(FIX, 'plaid/1.csv'), join(FIX, 'plaid/meta.json'));
    const s = p.states[0]!;
    expect(p.class).toBe('microwave');
    expect(s.p).toBeCloseTo(1200 * Math.cos(Math.PI / 6), 0);
    expect(stateQ(s)).toBeCloseTo(600, 0);
    expect(s.harmonics.find((h) => h.order === 3)?.ratio).toBeCloseTo(0.2, 3);
  });

  it('ACN-Data: one EV per user, one house per station, sessions at their times, anonymous users unauthorised', () => {
    const s = importAcnSessions(join(FIX, 'acn/sessions.json'));
    expect(s.houses.map((h) => h.id).sort()).toEqual(['station-1-1-179-810', 'station-1-1-193-829']);
    expect(s.evs).toHaveLength(3);
    const first = s.evs.find((e) => e.owner === 'C-000000022')!;
    expect(first.sessions[0]).toMatchObject({ plugIn: 11 * 3600 + 8 * 60 + 4, authorise: true });
    expect(first.profile).toBe('ev-1ph-7.4kw');
    expect(s.evs.find((e) => e.owner.startsWith('C-ANONYMOUS'))?.sessions[0]?.authorise).toBe(false);
    expect(groundTruth(s, 1).sessions).toHaveLength(3);
  });

  it('REDD: appliance channels become loads with their on-periods and mean power; mains skipped', () => {
    const s = importReddHouse(join(FIX, 'redd/house_1'));
    const loads = s.houses[0]!.loads;
    expect(loads.filter((l) => l.id.startsWith('refrigerator'))).toHaveLength(3);
    const mw = loads.filter((l) => l.id.startsWith('microwave'));
    expect(mw).toHaveLength(1);
    expect(mw[0]).toMatchObject({ on: 600, off: 777 });
    expect(s.profiles.find((p) => p.name.startsWith('redd-microwave'))?.states[0]?.p).toBe(1500);
    const truth = groundTruth(s, 1);
    expect(truth.energies.find((e) => e.class === 'microwave')?.energyWh).toBeCloseTo((1500 * 177) / 3600, 1);
  });
});
