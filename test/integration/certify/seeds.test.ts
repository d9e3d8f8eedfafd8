import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify } from '../../../engine/certify.js';
import { readRunRecord } from '../../../engine/record/reader.js';
import { RECORD_FILE } from '../../../engine/record/store.js';
import { rigProvider } from '../../../engine/rig-provider.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i * 7);

describe('certifier rigor: the healthy reference meter passes ev-billing for 20 seeds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seeds-'));
  it.each(SEEDS)('seed %i', async (seed) => {
    const r = await certify(
      {
        suite: 'ev-billing',
        rig: 'sim',
        seed,
        runsDir: join(dir, 'runs'),
        reportsDir: join(dir, 'reports'),
        formats: ['json'],
        signal: new AbortController().signal,
        argv: [],
      },
      rigProvider,
    );
    const bad = r.cases.filter((c) => c.verdict !== 'PASS' && c.verdict !== 'MARGINAL');
    expect(bad.map((c) => `${c.id}: ${c.failed.join('; ')}`)).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.anchor?.reportSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readRunRecord(join(r.runDir, RECORD_FILE)).integrity).toBe('OK');
  });
});
