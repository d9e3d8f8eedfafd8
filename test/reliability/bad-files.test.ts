import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchAsync, REPO_ROOT } from '../support/cli.js';

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
  [
    'rig',
    'rig-wrong-types.yaml',
    [
      /:6:\d+ instruments\[0\]\.transport\.baudRate: .*expected number/,
      /:9:\d+ instruments\[1\]\.role: /,
      /:11:\d+ instruments\[1\]\.transport\.port: /,
      /:12:\d+ instruments\[1\]\.capabilities\[1\]: /,
      /:13:5 instruments\[1\]\.colour: unknown field/,
    ],
  ],
  ['rig', 'rig-bomb.yaml', [/rig-bomb\.yaml:1:1: .*alias/i]],
];

/** `bench <kind> validate`, or for rigs (which have no validate verb) `bench rig check`, which validates first. */
const validate = (kind: string, file: string) =>
  benchAsync(kind === 'rig' ? ['rig', 'check', file] : [kind, 'validate', file]);

/** Generic malformations that every kind of data file must survive, generated per kind. */
const GENERIC: Array<[string, (kind: string) => string, RegExp]> = [
  [
    'YAML bomb',
    (k) =>
      `name: ${k}\na: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n` +
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
    /:1:1: .*alias/i,
  ],
  ['10 MB file', (k) => `name: ${k}\n${'# padding\n'.repeat(1_000_000)}`, /data files are limited to/],
  ['binary garbage', () => '\u0000\u0001\u00ff\u00fe PK\u0003\u0004 \u001b[31m', /:1:1 \(root\): .*expected object/],
  ['empty file', () => '', /:1:1 \(root\): .*expected object/],
  ['a list instead of a mapping', () => '- 1\n- 2\n', /:1:1 \(root\): .*expected object/],
  ['a duplicate key', (k) => `name: ${k}\nname: again\n`, /:2:1.*(duplicate|unique)/i],
  ['nesting 5,000 deep', (k) => `name: ${k}\nx: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /:2:\d+: nested too deeply/],
];

describe('reliability: a corpus of malformed files', () => {
  it.each(CORPUS)('%s validate %s → exit 2 with file:line:field', async (kind, file, patterns) => {
    const r = await validate(kind, join(BAD, file));
    expect(r.code).toBe(2);
    for (const p of patterns) expect(r.stderr).toMatch(p);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  const kinds = ['profile', 'scenario', 'suite', 'rig'];
  const generated = mkdtempSync(join(tmpdir(), 'bad-generic-'));
  it.each(kinds.flatMap((k) => GENERIC.map(([what, text, p]) => [k, what, text, p] as const)))(
    '%s: %s → exit 2 naming the file and line',
    async (kind, what, text, pattern) => {
      const file = join(generated, `${kind}-${what.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, text(kind));
      const r = await validate(kind, file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it('bench certify with a malformed suite, rig or meter config exits 2 and starts no run', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'bad-runs-'));
    for (const args of [
      ['--suite', join(BAD, 'suite-bad-units.yaml')],
      ['--rig', join(BAD, 'rig-wrong-types.yaml')],
      ['--rig', join(BAD, 'rig-bomb.yaml')],
    ]) {
      const r = await benchAsync(['certify', ...args, '--runs-dir', runs]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(args[1]!);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readdirSync(runs)).toEqual([]);
  });

  it('a huge file is refused before parsing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'huge-')), 'huge.yaml');
    writeFileSync(file, `name: huge\n${'# padding\n'.repeat(1_000_000)}`);
    const r = await benchAsync(['suite', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data files are limited to/);
  });

  it('a missing file and a meter config with unknown knobs exit 2', async () => {
    expect((await benchAsync(['suite', 'validate', join(BAD, 'nope.yaml')])).code).toBe(2);
    const cfg = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'meter.yaml');
    writeFileSync(cfg, 'faults:\n  gainErrorPct: 3\n  meltdown: true\n');
    const r = await benchAsync([
      'certify',
      '--suite',
      'smoke',
      '--meter-config',
      cfg,
      '--runs-dir',
      join(tmpdir(), 'cfg-runs'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/meter\.yaml:3:3 faults\.meltdown: unknown field/);
  });
});
