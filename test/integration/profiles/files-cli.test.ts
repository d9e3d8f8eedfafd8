import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench, REPO_ROOT } from '../../support/cli.js';

const fixture = (name: string) => join(REPO_ROOT, 'test/fixtures/profiles', name);

describe('bench profile validate / bench scenario validate on files (built CLI)', () => {
  it('unknown keys and a missing field in a profile: exit 2 with file:line:column and the field', () => {
    const file = fixture('bad-profile-keys.yaml');
    const r = bench(['profile', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:4:1 colour: unknown field "colour"`);
    expect(r.stderr).toContain(`${file}:9:5 states[0].inrushh: unknown field "inrushh"`);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ source: `));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a malformed scenario: exit 2 naming the unknown load key and the negative plug-in time', () => {
    const file = fixture('bad-scenario.yaml');
    const r = bench(['scenario', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:9:61 houses[0].loads[0].power: unknown field "power"`);
    expect(r.stderr).toContain(`${file}:16:32 evs[0].sessions[0].plugIn:`);
  });

  it('--json output of validate parses for library profiles and the smoke scenario', () => {
    const files = ['kettle', 'ev-3ph-11kw', 'ev-v2g-7.4kw', 'led-tv'].map((n) =>
      join(REPO_ROOT, 'profiles/library', `${n}.yaml`),
    );
    const r = bench(['profile', 'validate', ...files, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ valid: Array<{ name: string }> }>().valid.map((v) => v.name)).toEqual([
      'kettle',
      'ev-3ph-11kw',
      'ev-v2g-7.4kw',
      'led-tv',
    ]);
    const s = bench(['scenario', 'validate', join(REPO_ROOT, 'suites/scenarios/smoke.yaml'), '--json']);
    expect(s.code).toBe(0);
    expect(s.json<{ valid: Array<{ name: string }> }>().valid[0]?.name).toBe('smoke');
  });
});
