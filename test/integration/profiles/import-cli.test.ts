import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importPlaid } from '../../../profiles/importers.js';
import { bench, REPO_ROOT } from '../../support/cli.js';

const fixture = (name: string) => join(REPO_ROOT, 'test/fixtures/profiles', name);

interface ShownTruth {
  sessions: Array<{ plugIn: number; unplug: number; importWh: number; authorised: boolean; cost: number }>;
  energies: Array<{ class: string; energyWh: number }>;
}

describe('bench scenario import / bench profile import (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'import-cli-'));

  it('ACN-Data sessions → a scenario that validates, whose ground truth takes each kWhDelivered in its window', () => {
    const out = join(dir, 'acn.yaml');
    const r = bench(['scenario', 'import', '--format', 'acn', fixture('acn/sessions.json'), '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ file: out, houses: 2, sessions: 3 });
    expect(bench(['scenario', 'validate', out]).code).toBe(0);
    const truth = bench(['scenario', 'show', out, '--json']).json<ShownTruth>();
    const items = (
      JSON.parse(readFileSync(fixture('acn/sessions.json'), 'utf8')) as {
        _items: Array<{ connectionTime: string; disconnectTime: string; kWhDelivered: number }>;
      }
    )._items;
    const day = Date.parse('2018-04-25T00:00:00Z') / 1000;
    for (const item of items) {
      const s = truth.sessions.find((x) => x.plugIn === Date.parse(item.connectionTime) / 1000 - day)!;
      expect(s.unplug).toBe(Date.parse(item.disconnectTime) / 1000 - day);
      expect(Math.abs(s.importWh / (item.kWhDelivered * 1000) - 1)).toBeLessThan(0.001);
      expect(s.cost).toBeGreaterThan(0);
    }
  });

  it('a REDD house folder → a macro-level scenario with each channel’s on-periods', () => {
    const out = join(dir, 'redd.yaml');
    expect(bench(['scenario', 'import', '--format', 'redd', fixture('redd/house_1'), '--out', out]).code).toBe(0);
    const truth = bench(['scenario', 'show', out, '--json']).json<ShownTruth>();
    expect(truth.energies.find((e) => e.class === 'microwave')?.energyWh).toBeCloseTo((1500 * 177) / 3600, 1);
  });

  it('a PLAID record → a profile file that validates and carries the fitted P, Q and harmonics', () => {
    const out = join(dir, 'plaid.yaml');
    const csv = fixture('plaid/1.csv');
    const meta = fixture('plaid/meta.json');
    expect(bench(['profile', 'import', '--format', 'plaid', csv, '--meta', meta, '--out', out]).code).toBe(0);
    expect(bench(['profile', 'validate', out]).code).toBe(0);
    expect(bench(['profile', 'show', out, '--json']).json()).toEqual(importPlaid(csv, meta));
  });

  it('an unknown format, or a file that is not ACN-Data, is an input error (exit 2)', () => {
    expect(bench(['scenario', 'import', '--format', 'csv', fixture('acn/sessions.json')]).code).toBe(2);
    const bad = join(dir, 'not-acn.json');
    writeFileSync(bad, JSON.stringify({ items: [] }));
    const r = bench(['scenario', 'import', '--format', 'acn', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad} _items: expected a non-empty _items array of sessions`);
  });
});
