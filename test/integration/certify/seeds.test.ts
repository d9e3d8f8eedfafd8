import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunRecord } from '../../../core/record/reader.js';
import { RECORD_FILE } from '../../../core/record/store.js';
import type { SweepResult } from '../../../engine/sweep.js';
import { benchAsync } from '../../support/cli.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i * 7);

// `bench certify --seeds` sweeps through the built CLI: the runs go in child processes, so this file never holds
// the vitest worker's event loop (20 in-process runs did, for minutes on a loaded machine).
describe('certifier rigor: the healthy reference meter passes ev-billing for 20 seeds', () => {
  // One seed per test, so each test lasts one run whatever else loads the machine.
  it.each(SEEDS)('seed %i', async (seed) => {
    const seeds = [seed];
    const dir = mkdtempSync(join(tmpdir(), 'seeds-'));
    const runsDir = join(dir, 'runs');
    const r = await benchAsync([
      'certify',
      '--suite',
      'ev-billing',
      '--seeds',
      seeds.join(','),
      '--format',
      'json',
      '--runs-dir',
      runsDir,
      '--reports-dir',
      join(dir, 'reports'),
      '--json',
    ]);
    expect(r.stderr).toBe('');
    const out = r.json<SweepResult>();
    const bad = out.runs.flatMap((run) =>
      run.failedCases.map((c) => `seed ${run.seed} ${c.id}: ${c.failed.join('; ')}`),
    );
    expect(bad).toEqual([]);
    expect(out.errors).toEqual([]);
    expect(r.code).toBe(0);
    expect(out.runs.map((run) => run.seed)).toEqual(seeds);
    expect(out.cases.every((c) => c.passRate === 1 && c.runs === seeds.length)).toBe(true);
    for (const run of out.runs) {
      expect(run.verdict).toMatch(/^(PASS|MARGINAL)$/);
      expect(run.anchor?.reportSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(readRunRecord(join(runsDir, run.runId, RECORD_FILE)).integrity).toBe('OK');
    }
  });
});
