import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench, REPO_ROOT } from '../support/cli.js';

const BAD = join(REPO_ROOT, 'test/fixtures/bad');

/** Every malformed data file: exit 2, the file and line named, a field where there is one, never a stack trace. */
const CORPUS: Array<[string, string, RegExp[]]> = [
  ['profile', 'profile-bomb.yaml', [/profile-bomb\.yaml:1:1: .*alias/i]],
  [
    'profile',
    'profile-wrong-types.yaml',
    [/:1:7 name/, /:5:8 noise/, /:8:8 states\[0\]\.p/, /:10:5 states\[0\]\.colour: unknown field/],
  ],
  [
    'scenario',
    'scenario-bad-refs.yaml',
    [/:2:8 start/, /:8:\d+ houses\[0\]\.loads\[0\]\.off: off must be after on/, /evs\[0\]\.home: no house house-9/],
  ],
  [
    'suite',
    'suite-bad-units.yaml',
    [
      /:9:\d+ cases\[0\].criteria\[0\]\.unit: unit of latency\.p99_s is "s", not "ms"/,
      /criteria\[1\]\.limit: `between` needs \[low, high\]/,
      /criteria\[2\]\.limit/,
    ],
  ],
  ['suite', 'suite-syntax.yaml', [/suite-syntax\.yaml:\d+:\d+/]],
];

describe('reliability: a corpus of malformed files', () => {
  it.each(CORPUS)('%s validate %s → exit 2 with file:line:field', (kind, file, patterns) => {
    const r = bench([kind, 'validate', join(BAD, file)]);
    expect(r.code).toBe(2);
    for (const p of patterns) expect(r.stderr).toMatch(p);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a huge file is refused before parsing', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'huge-')), 'huge.yaml');
    writeFileSync(file, `name: huge\n${'# padding\n'.repeat(1_000_000)}`);
    const r = bench(['suite', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data files are limited to/);
  });

  it('a missing file and a meter config with unknown knobs exit 2', () => {
    expect(bench(['suite', 'validate', join(BAD, 'nope.yaml')]).code).toBe(2);
    const cfg = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'meter.yaml');
    writeFileSync(cfg, 'faults:\n  gainErrorPct: 3\n  meltdown: true\n');
    const r = bench(['certify', '--suite', 'smoke', '--meter-config', cfg, '--runs-dir', join(tmpdir(), 'cfg-runs')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/meter\.yaml:3:3 faults\.meltdown: unknown field/);
  });
});
