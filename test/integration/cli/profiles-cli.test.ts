import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench, REPO_ROOT } from '../../support/cli.js';

describe('bench profile and bench scenario', () => {
  it('lists and shows profiles', () => {
    const list = bench(['profile', 'list', '--json']).json<{ profiles: Array<{ name: string }> }>();
    expect(list.profiles.length).toBeGreaterThanOrEqual(14);
    expect(bench(['profile', 'show', 'kettle', '--json']).json()).toMatchObject({ name: 'kettle', class: 'kettle' });
    expect(bench(['profile', 'show', 'no-such-profile']).code).toBe(2);
  });

  it('validate exits 2 naming file:line:column and the field', () => {
    const file = join(REPO_ROOT, 'test/fixtures/profiles/bad-profile.yaml');
    const r = bench(['profile', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:8:9 states[0].pf`);
    expect(r.stderr).toContain(`${file}:10:18 states[0].harmonics[0].order`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('plots a profile as SVG through Vega', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'plot-')), 'ev.svg');
    expect(bench(['profile', 'plot', 'ev-1ph-7.4kw', '--out', out]).code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('Current harmonic spectrum');
  });

  it('generates a deterministic scenario that validates, with a neighbour visit billed to the owner', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-'));
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    expect(
      bench(['scenario', 'generate', '--houses', '3', '--ev-visits', '2', '--days', '2', '--seed', '7', '--out', a])
        .code,
    ).toBe(0);
    bench(['scenario', 'generate', '--houses', '3', '--ev-visits', '2', '--days', '2', '--seed', '7', '--out', b]);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    expect(bench(['scenario', 'validate', a]).code).toBe(0);
    const truth = bench(['scenario', 'show', a, '--seed', '7', '--json']).json<{
      sessions: Array<{ roaming: boolean; payerContractId: string; ownerContractId: string }>;
    }>();
    const visits = truth.sessions.filter((s) => s.roaming);
    expect(visits).toHaveLength(2);
    for (const v of visits) expect(v.payerContractId).toBe(v.ownerContractId);
  });
});
