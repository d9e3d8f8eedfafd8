import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunRecord } from '../../core/record/reader.js';
import { RECORD_FILE } from '../../core/record/store.js';
import type { SweepResult } from '../../engine/sweep.js';
import { benchAsync } from './cli.js';

/** The certifier rigor set: 20 seeds of the default suite, every one of which the healthy meter must pass. */
export const RIGOR_SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i * 7);

/**
 * One test per seed of `seeds`: `bench certify --suite ev-billing --seeds <seed>` through the built CLI. The set is
 * split over two files so the two test workers share it (one file of 20 seeds was the suite's long pole).
 */
export function rigorSeedTests(seeds: readonly number[]): void {
  // `bench certify --seeds` sweeps through the built CLI: the runs go in child processes, so this file never holds
  // the vitest worker's event loop (20 in-process runs did, for minutes on a loaded machine).
  describe(`certifier rigor: the healthy reference meter passes ev-billing for seeds ${seeds[0]}…${seeds.at(-1)}`, () => {
    // One seed per test, so each test lasts one run whatever else loads the machine.
    it.each(seeds)('seed %i', async (seed) => {
      const asked = [seed];
      const dir = mkdtempSync(join(tmpdir(), 'seeds-'));
      const runsDir = join(dir, 'runs');
      const r = await benchAsync([
        'certify',
        '--suite',
        'ev-billing',
        '--seeds',
        asked.join(','),
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
      expect(out.runs.map((run) => run.seed)).toEqual(asked);
      expect(out.cases.every((c) => c.passRate === 1 && c.runs === asked.length)).toBe(true);
      for (const run of out.runs) {
        expect(run.verdict).toMatch(/^(PASS|MARGINAL)$/);
        expect(run.anchor?.reportSha256).toMatch(/^[0-9a-f]{64}$/);
        expect(readRunRecord(join(runsDir, run.runId, RECORD_FILE)).integrity).toBe('OK');
      }
    });
  });
}
