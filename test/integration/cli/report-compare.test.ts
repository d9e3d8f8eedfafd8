import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchAsync, REPO_ROOT } from '../../support/cli.js';

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
  it('re-renders every format from the record alone', async () => {
    const runs = runsWith({ 'run-a': (t) => t });
    const out = mkdtempSync(join(tmpdir(), 'reports-'));
    const r = await benchAsync(['report', 'run-a', '--runs-dir', runs, '--reports-dir', out, '--json']);
    expect(r.code).toBe(0);
    const result = r.json<{ outcome: string; reports: Array<{ format: string; file: string }> }>();
    expect(result.outcome).toBe('FAIL');
    expect(result.reports.map((x) => x.format).sort()).toEqual(['html', 'json', 'junit', 'md', 'ocmf']);
    const json = JSON.parse(readFileSync(join(out, 'run-a', 'report.json'), 'utf8'));
    expect(json).toMatchObject({ schema: 'bench.report/1', outcome: 'FAIL', integrity: 'OK' });
  });

  it('marks a record cut short INCOMPLETE in every report, never PASS or FAIL', async () => {
    const runs = runsWith({ 'run-cut': (t) => t.slice(0, Math.floor(t.length * 0.6)) });
    const out = mkdtempSync(join(tmpdir(), 'reports-'));
    const r = await benchAsync(['report', 'run-cut', '--runs-dir', runs, '--reports-dir', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.json<{ outcome: string }>().outcome).toBe('INCOMPLETE');
    expect(readFileSync(join(out, 'run-cut', 'summary.md'), 'utf8')).toMatch(/^# ⛔ INCOMPLETE/);
    expect(readFileSync(join(out, 'run-cut', 'report.html'), 'utf8')).toContain('This record is INCOMPLETE');
    expect(readFileSync(join(out, 'run-cut', 'junit.xml'), 'utf8')).toContain('name="outcome" value="INCOMPLETE"');
  });

  it('marks a tampered record TAMPERED', async () => {
    const runs = runsWith({ 'run-t': (t) => t.replace('"verdict":"FAIL"', '"verdict":"PASS"') });
    const r = await benchAsync([
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

  it('compares runs: verdict changes, metric deltas with direction, regressions exit 1', async () => {
    const runs = runsWith({
      'run-a': (t) => t,
      'run-b': (t) => t,
    });
    const same = await benchAsync(['compare', 'run-a', 'run-b', '--runs-dir', runs, '--json']);
    expect(same.code).toBe(0);
    const c = same.json<{ regressions: number; metrics: Array<{ metric: string; directions: string[] }> }>();
    expect(c.regressions).toBe(0);
    expect(c.metrics.find((m) => m.metric === 'detection.f1')?.directions).toEqual(['same', 'same']);
    // The billing tables come from the same analysis certify runs: the sample's one EV session, billed correctly.
    const billing = same.json<{ billing: Array<{ caseId: string; runs: unknown[] }> }>().billing;
    const billed = { records: 1, issues: 0, cost: expect.any(Number), importWh: expect.any(Number) };
    expect(billing.find((b) => b.caseId === 'ev-home')?.runs).toEqual([
      expect.objectContaining(billed),
      expect.objectContaining(billed),
    ]);
    const out = mkdtempSync(join(tmpdir(), 'cmp-'));
    const text = await benchAsync(['compare', 'run-a', 'run-b', '--runs-dir', runs, '--out', out]);
    expect(text.stdout).toContain('# Comparison of 2 runs');
    expect(text.stdout).toMatch(/## Billing\n\n.*\n.*\n\| ev-home \| 1 record, /);
    expect(readFileSync(join(out, 'compare.html'), 'utf8')).toContain('<h2>Verdicts</h2>');
    expect(readFileSync(join(out, 'compare.html'), 'utf8')).toMatch(
      /<h2>Billing<\/h2><table>.*<td>ev-home<\/td><td>1 record, /,
    );
    expect((await benchAsync(['compare', 'run-a', '--runs-dir', runs])).code).toBe(2);
  });
});

// Two certify runs (a few cases of the billing suite and one survey-aspect case, so both analysers have data), each
// re-rendered from its record alone: the reports must be the ones certify wrote, byte for byte.
describe('bench report re-renders a certify run exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rerender-'));
  const runsDir = join(dir, 'runs');
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const files = (d: string) => readdirSync(d).sort();
  const hashes = (d: string) => Object.fromEntries(files(d).map((f) => [f, sha(join(d, f))]));

  async function certifyThenReport(suite: string, cases: string[]) {
    const args = ['certify', '--suite', suite, '--runs-dir', runsDir, '--reports-dir', join(dir, 'certify')];
    for (const c of cases) args.push('--case', c);
    const c = await benchAsync([...args, '--json']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const { runId } = c.json<{ runId: string }>();
    const r = await benchAsync([
      'report',
      runId,
      '--format',
      'html,json,junit,md,ocmf',
      '--runs-dir',
      runsDir,
      '--reports-dir',
      join(dir, 'other'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    const original = join(dir, 'certify', runId);
    const again = join(dir, 'other', runId);
    expect(files(original)).toHaveLength(5);
    expect(hashes(again)).toEqual(hashes(original));
    return { runId, original };
  }

  it('ev-billing cases: every format byte-identical, the OCMF file carries the billed sessions', async () => {
    const { original } = await certifyThenReport('ev-billing', ['ev-at-home', 'ev-visiting']);
    const ocmf = readFileSync(join(original, 'billing.ocmf.txt'), 'utf8');
    expect(ocmf.split('\n').filter((l) => l.startsWith('OCMF|')).length).toBeGreaterThanOrEqual(2);
  });

  it('an ev-charging-aspects case: every format byte-identical', async () => {
    await certifyThenReport('ev-charging-aspects', ['periodic-reports']);
  });
});
