import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchAsync } from '../../support/cli.js';

interface CertifyJson {
  runId: string;
  runDir: string;
  reportsDir: string;
  reports: Array<{ format: string; file: string; sha256: string }>;
}

// Run output lives under one root: a run's reports sit in its own run directory unless a reports directory is
// named, so certify at the repository root never writes among the sources (reports/ is the renderers' folder).
describe('where a run writes', () => {
  it('puts the reports inside the run directory by default, and bench report re-renders them there', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'outputs-'));
    const env = { BENCH_REPORTS_DIR: '', BENCH_RUNS_DIR: '' };
    const certify = await benchAsync(['certify', '--suite', 'smoke', '--json'], { cwd, env });
    expect(certify.code, certify.stderr).toBe(0);
    const run = certify.json<CertifyJson>();
    expect(run.runDir).toBe(join(cwd, 'runs', run.runId));
    expect(run.reportsDir).toBe(join(run.runDir, 'reports'));
    expect(readdirSync(cwd)).toEqual(['runs']);
    expect(readdirSync(join(cwd, 'runs'))).toEqual([run.runId]);
    expect(run.reports.map((r) => r.file).every((f) => f.startsWith(`${run.reportsDir}/`))).toBe(true);
    expect(readdirSync(run.reportsDir).sort()).toEqual(run.reports.map((r) => r.file.split('/').pop()).sort());

    const list = await benchAsync(['run', 'list', '--json'], { cwd, env });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.stringify(list.json())).toContain(run.runId);

    const report = await benchAsync(['report', run.runId, '--json'], { cwd, env });
    expect(report.code, report.stderr).toBe(0);
    const rendered = report.json<{ dir: string; reports: CertifyJson['reports'] }>();
    expect(rendered.dir).toBe(run.reportsDir);
    const json = (rs: CertifyJson['reports']) => rs.find((r) => r.format === 'json')?.sha256;
    expect(json(rendered.reports)).toBe(json(run.reports));
    expect(readdirSync(cwd)).toEqual(['runs']);
  });

  it('puts them in <reports-dir>/<run-id> when a reports directory is named', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'outputs-'));
    const reportsDir = join(cwd, 'out');
    const certify = await benchAsync(['certify', '--suite', 'smoke', '--reports-dir', reportsDir, '--json'], {
      cwd,
      env: { BENCH_RUNS_DIR: '' },
    });
    expect(certify.code, certify.stderr).toBe(0);
    const run = certify.json<CertifyJson>();
    expect(run.reportsDir).toBe(join(reportsDir, run.runId));
    expect(existsSync(join(run.runDir, 'reports'))).toBe(false);
    expect(JSON.parse(readFileSync(join(run.reportsDir, 'report.json'), 'utf8'))).toMatchObject({ runId: run.runId });
  });
});
