import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRun } from '../../../core/record/store.js';
import { bench, REPO_ROOT } from '../../support/cli.js';
import { testHeader } from '../../support/header.js';

const fixture = (name: string) => join(REPO_ROOT, 'test/fixtures/suites', name);

function makeRuns() {
  const dir = mkdtempSync(join(tmpdir(), 'runs-'));
  const ids: Record<string, string> = {};
  for (const name of ['ok', 'cut', 'flipped']) {
    const { writer, runId } = createRun(dir, testHeader());
    writer.append('case.verdict', { caseId: 'c1', verdict: 'PASS' });
    writer.close({ status: 'COMPLETE', verdict: 'PASS' });
    ids[name] = runId;
    const text = readFileSync(writer.file, 'utf8');
    if (name === 'cut') writeFileSync(writer.file, text.slice(0, text.length - 20));
    if (name === 'flipped') writeFileSync(writer.file, text.replace('"PASS"', '"PASZ"'));
  }
  return { dir, ids };
}

describe('bench CLI foundation', () => {
  it('lists its topics in --help', () => {
    const r = bench(['--help']);
    expect(r.code).toBe(0);
    for (const topic of ['run', 'suite', 'schema']) expect(r.stdout).toMatch(new RegExp(`^\\s+${topic}\\s`, 'm'));
  });

  it('suite validate: exits 2 naming file:line:column and the field, without a stack trace', () => {
    const file = fixture('broken-suite.yaml');
    const r = bench(['suite', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:18:5 cases[0].colour: unknown field "colour"`);
    expect(r.stderr).toContain(`${file}:13:15 cases[0].criteria[0].unit`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('suite validate --json: one JSON document on stdout, exit 2', () => {
    const r = bench(['suite', 'validate', fixture('broken-suite.yaml'), '--json']);
    expect(r.code).toBe(2);
    const out = r.json<{ error: { code: string; problems: Array<{ line: number; field: string }> } }>();
    expect(out.error.code).toBe('FILE_INVALID');
    expect(out.error.problems.map((p) => p.field)).toContain('cases[0].colour');
  });

  it('suite validate accepts a valid file (exit 0)', () => {
    const r = bench(['suite', 'validate', fixture('valid-suite.yaml'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ valid: Array<{ name: string }> }>().valid[0]!.name).toBe('valid');
  });

  it('usage errors exit 2', () => {
    expect(bench(['run', 'list', '--no-such-flag']).code).toBe(2);
    expect(bench(['schema', 'nonsense']).code).toBe(2);
  });

  it('schema suite prints a JSON Schema', () => {
    const r = bench(['schema', 'suite', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ type: 'object', properties: { cases: { type: 'array' } } });
  });

  it('run list / run show report OK, INCOMPLETE and TAMPERED records', () => {
    const { dir, ids } = makeRuns();
    const list = bench(['run', 'list', '--runs-dir', dir, '--json']).json<{
      runs: Array<{ runId: string; integrity: string }>;
    }>();
    const integrity = Object.fromEntries(list.runs.map((r) => [r.runId, r.integrity]));
    expect(integrity[ids.ok!]).toBe('OK');
    expect(integrity[ids.cut!]).toBe('INCOMPLETE');
    expect(integrity[ids.flipped!]).toBe('TAMPERED');
    const show = bench(['run', 'show', ids.flipped!, '--runs-dir', dir]);
    // A record that fails its hash chain is a failed check (exit 1), not a clean show.
    expect(show.code).toBe(1);
    expect(show.stdout).toMatch(/integrity TAMPERED \(line 2: content does not match its hash\)/);
    expect(bench(['run', 'show', 'no-such-run', '--runs-dir', dir]).code).toBe(2);
  });

  it('an infrastructure fault exits 3 naming the device; the run is kept, closed as not finished, never PASS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const r = bench(['certify', '--suite', 'smoke', '--ledger', 'http://127.0.0.1:9', '--runs-dir', dir, '--json']);
    expect(r.code).toBe(3);
    expect(r.json<{ error: { code: string; device: string } }>().error).toMatchObject({
      code: 'CHAIN_UNREACHABLE',
      device: 'ledger http://127.0.0.1:9',
    });
    expect(r.stderr).toBe('');
    const runs = bench(['run', 'list', '--runs-dir', dir, '--json']).json<{
      runs: Array<{ integrity: string; verdict?: string }>;
    }>().runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.integrity).toBe('INCOMPLETE');
    expect(runs[0]!.verdict).not.toBe('PASS');
  });
});
