import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench, REPO_ROOT } from '../../support/cli.js';

const SAMPLE = join(REPO_ROOT, 'test/fixtures/records/sample.jsonl');

/** A runs directory holding the sample record under `id`, optionally cut or edited. */
function runsWith(runs: Record<string, (text: string) => string>) {
  const dir = mkdtempSync(join(tmpdir(), 'runs-'));
  for (const [id, edit] of Object.entries(runs)) {
    mkdirSync(join(dir, id));
    copyFileSync(SAMPLE, join(dir, id, 'record.jsonl'));
    const file = join(dir, id, 'record.jsonl');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
  }
  return dir;
}

describe('bench report and bench compare', () => {
  it('re-renders every format from the record alone', () => {
    const runs = runsWith({ 'run-a': (t) => t });
    const out = mkdtempSync(join(tmpdir(), 'reports-'));
    const r = bench(['report', 'run-a', '--runs-dir', runs, '--reports-dir', out, '--json']);
    expect(r.code).toBe(0);
    const result = r.json<{ outcome: string; reports: Array<{ format: string; file: string }> }>();
    expect(result.outcome).toBe('FAIL');
    expect(result.reports.map((x) => x.format).sort()).toEqual(['html', 'json', 'junit', 'md', 'ocmf']);
    const json = JSON.parse(readFileSync(join(out, 'run-a', 'report.json'), 'utf8'));
    expect(json).toMatchObject({ schema: 'bench.report/1', outcome: 'FAIL', integrity: 'OK' });
  });

  it('marks a record cut short INCOMPLETE in every report, never PASS or FAIL', () => {
    const runs = runsWith({ 'run-cut': (t) => t.slice(0, Math.floor(t.length * 0.6)) });
    const out = mkdtempSync(join(tmpdir(), 'reports-'));
    const r = bench(['report', 'run-cut', '--runs-dir', runs, '--reports-dir', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ outcome: string }>().outcome).toBe('INCOMPLETE');
    expect(readFileSync(join(out, 'run-cut', 'summary.md'), 'utf8')).toMatch(/^# ⛔ INCOMPLETE/);
    expect(readFileSync(join(out, 'run-cut', 'report.html'), 'utf8')).toContain('This record is INCOMPLETE');
    expect(readFileSync(join(out, 'run-cut', 'junit.xml'), 'utf8')).toContain('name="outcome" value="INCOMPLETE"');
  });

  it('marks a tampered record TAMPERED', () => {
    const runs = runsWith({ 'run-t': (t) => t.replace('"verdict":"FAIL"', '"verdict":"PASS"') });
    const r = bench([
      'report',
      'run-t',
      '--runs-dir',
      runs,
      '--reports-dir',
      mkdtempSync(join(tmpdir(), 'rep-')),
      '--json',
    ]);
    expect(r.json<{ outcome: string }>().outcome).toBe('TAMPERED');
  });

  it('compares runs: verdict changes, metric deltas with direction, regressions exit 1', () => {
    const runs = runsWith({
      'run-a': (t) => t,
      'run-b': (t) => t,
    });
    const same = bench(['compare', 'run-a', 'run-b', '--runs-dir', runs, '--json']);
    expect(same.code).toBe(0);
    const c = same.json<{ regressions: number; metrics: Array<{ metric: string; directions: string[] }> }>();
    expect(c.regressions).toBe(0);
    expect(c.metrics.find((m) => m.metric === 'detection.f1')?.directions).toEqual(['same', 'same']);
    const out = mkdtempSync(join(tmpdir(), 'cmp-'));
    const text = bench(['compare', 'run-a', 'run-b', '--runs-dir', runs, '--out', out]);
    expect(text.stdout).toContain('# Comparison of 2 runs');
    expect(readFileSync(join(out, 'compare.html'), 'utf8')).toContain('<h2>Verdicts</h2>');
    expect(bench(['compare', 'run-a', '--runs-dir', runs]).code).toBe(2);
  });
});
