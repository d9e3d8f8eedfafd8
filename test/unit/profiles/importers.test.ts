import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileValidationError } from '../../../core/errors.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { importAcnSessions, importPlaid, importReddHouse } from '../../../profiles/importers.js';
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

  it('ACN-Data round trip: each session takes kWhDelivered (±0.1 %) and is plugged in from connectionTime to disconnectTime', () => {
    const file = join(FIX, 'acn/sessions.json');
    const items = (
      JSON.parse(readFileSync(file, 'utf8')) as {
        _items: Array<{ connectionTime: string; disconnectTime: string; kWhDelivered: number; sessionID: string }>;
      }
    )._items;
    const s = importAcnSessions(file);
    const truth = groundTruth(s, 1);
    const epoch = Date.parse(s.start) / 1000;
    const sessions = truth.sessions.map((t) => ({
      ...t,
      from: new Date((epoch + t.plugIn) * 1000).toUTCString(),
      to: new Date((epoch + t.unplug) * 1000).toUTCString(),
    }));
    expect(sessions).toHaveLength(items.length);
    for (const item of items) {
      const t = sessions.find((x) => x.from === item.connectionTime);
      expect(t, item.sessionID).toBeDefined();
      expect(t!.to).toBe(item.disconnectTime);
      expect(Math.abs(t!.importWh - item.kWhDelivered * 1000) / (item.kWhDelivered * 1000)).toBeLessThan(0.001);
      // The EV stops drawing once it has its energy and stays plugged in until it leaves.
      expect(t!.start).toBe(t!.plugIn);
      expect(t!.end).toBeLessThan(t!.unplug);
      const energy = truth.energies.filter((e) => e.loadId === t!.sessionId).reduce((a, e) => a + e.energyWh, 0);
      expect(energy).toBeCloseTo(t!.importWh, 6);
    }
    // The 13.5 kWh session on the 7.4 kW charger ends in its taper: bulk stretched, the taper completed.
    const big = truth.runs.find((r) => r.ev?.evId === 'ev-000000022')!;
    expect(big.segments.map((g) => g.state.name)).toEqual(['bulk', 'taper']);
    expect(big.segments[1]!.p1).toBeCloseTo(2400, 0);
  });

  it('ACN-Data: a session no library charger can deliver in its window is an input error naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'acn-'));
    const file = join(dir, 'too-much.json');
    writeFileSync(
      file,
      JSON.stringify({
        _items: [
          {
            connectionTime: 'Wed, 25 Apr 2018 11:00:00 GMT',
            disconnectTime: 'Wed, 25 Apr 2018 12:00:00 GMT',
            kWhDelivered: 40,
            userID: 'u',
            stationID: 's',
            sessionID: 'x',
          },
        ],
      }),
    );
    expect(() => importAcnSessions(file)).toThrow(FileValidationError);
    try {
      importAcnSessions(file);
    } catch (e) {
      expect((e as FileValidationError).problems[0]).toMatchObject({ field: '_items[0].kWhDelivered' });
    }
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
