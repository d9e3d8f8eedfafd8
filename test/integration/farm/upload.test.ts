import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_FILE } from '../../../core/record/store.js';
import { type CertifyResult, certify } from '../../../engine/certify.js';
import { rigProvider } from '../../../engine/rig-provider.js';
import { labPool } from '../../../farm/db.js';
import { listRuns, showRun, uploadRun } from '../../../farm/results.js';
import { startLab, type TestLab } from '../../support/lab.js';

/**
 * What the lab stores of a run is checked against the record's own hash chain: a record edited after the run, or one
 * cut short, is kept with that integrity as its verdict, never as the PASS the agent reported.
 */
describe('uploads are checked against their hash chain', () => {
  let lab: TestLab;
  let pool: pg.Pool;
  let passed: CertifyResult;
  beforeAll(async () => {
    lab = await startLab();
    process.env.PGPASSFILE = lab.env.PGPASSFILE;
    pool = labPool(lab.url);
    const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
    passed = await certify(
      {
        suite: 'smoke',
        rig: 'sim',
        seed: 7,
        runsDir: join(dir, 'runs'),
        reportsDir: join(dir, 'reports'),
        formats: ['json'],
        signal: new AbortController().signal,
        argv: [],
      },
      rigProvider,
    );
    expect(passed.verdict).toBe('PASS');
    // A submission and its job, as `lab submit` makes them, for the uploads to belong to.
    await pool.query(
      "INSERT INTO bench.submissions (id, suite, seeds) VALUES ('00000000-0000-4000-8000-000000000001', 'smoke', '{7}')",
    );
    await pool.query("INSERT INTO bench.queues (name, requires) VALUES ('q', '{}')");
    for (const n of [1, 2, 3])
      await pool.query(
        `INSERT INTO bench.jobs (id, submission, queue, suite, seed) VALUES ('00000000-0000-4000-8000-00000000000${n}', '00000000-0000-4000-8000-000000000001', 'q', 'smoke', 7)`,
      );
  });
  afterAll(async () => {
    await pool?.end();
    lab?.down();
  });

  it('an intact record is stored as PASS; the same job again stores nothing', async () => {
    const job = '00000000-0000-4000-8000-000000000001';
    expect(await uploadRun(pool, job, passed, { agent: 'a' })).toEqual({
      stored: true,
      integrity: 'OK',
      verdict: 'PASS',
    });
    expect((await uploadRun(pool, job, passed, { agent: 'b' })).stored).toBe(false);
    expect((await showRun(pool, passed.runId)).storedIntegrity).toBe('OK');
  });

  it('a record edited after the run is stored as TAMPERED, and a cut one as INCOMPLETE: never a PASS', async () => {
    const file = join(passed.runDir, RECORD_FILE);
    const original = readFileSync(file, 'utf8');
    // An energy figure changed in place: the entry no longer matches its hash.
    const tampered = original.replace(/"importWh":(\d)/, '"importWh":9$1');
    expect(tampered).not.toBe(original);
    writeFileSync(file, tampered);
    const t = await uploadRun(
      pool,
      '00000000-0000-4000-8000-000000000002',
      { ...passed, runId: `${passed.runId}-t`, recordHash: 'tampered' },
      { agent: 'a' },
    );
    expect(t).toEqual({ stored: true, integrity: 'TAMPERED', verdict: 'TAMPERED' });
    const lines = original.trimEnd().split('\n');
    writeFileSync(file, `${lines.slice(0, -3).join('\n')}\n`);
    const c = await uploadRun(
      pool,
      '00000000-0000-4000-8000-000000000003',
      { ...passed, runId: `${passed.runId}-c`, recordHash: 'cut' },
      { agent: 'a' },
    );
    expect(c).toEqual({ stored: true, integrity: 'INCOMPLETE', verdict: 'INCOMPLETE' });
    writeFileSync(file, original);
    const runs = await listRuns(pool);
    expect(runs.filter((r) => r.verdict === 'PASS').map((r) => r.id)).toEqual([passed.runId]);
    const cases = await pool.query<{ verdict: string }>('SELECT DISTINCT verdict FROM bench.cases WHERE run = $1', [
      `${passed.runId}-t`,
    ]);
    expect(cases.rows.map((r) => r.verdict)).toEqual(['TAMPERED']);
  });
});
