import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDNodeWallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { caseSeed } from '../../../engine/executor.js';
import { DEFAULT_MNEMONIC } from '../../../ledger/chain.js';
import { meterKey } from '../../../meter/identity.js';
import type { ReportModel } from '../../../reports/model.js';
import { ocmfKeyFor } from '../../../reports/ocmf.js';
import { benchAsync } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'suites-'));
const runsDir = join(dir, 'runs');
const reportsDir = join(dir, 'reports');

interface CertifyJson {
  runId: string;
  verdict: string;
  cases: Array<{ id: string; verdict: string }>;
}

// Async child processes: a file of back-to-back spawnSync runs blocks the vitest worker past its 60 s RPC timeout.
async function certify(suite: string, faults?: Record<string, unknown>, seed = 1) {
  const args = ['certify', '--suite', suite, '--seed', String(seed), '--runs-dir', runsDir];
  args.push('--reports-dir', reportsDir, '--json');
  if (faults) {
    const file = join(dir, `${suite}-${Object.keys(faults).join('-')}.yaml`);
    writeFileSync(file, JSON.stringify({ faults }));
    args.push('--meter-config', file);
  }
  const r = await benchAsync(args);
  return { code: r.code, out: r.json<CertifyJson>(), stderr: r.stderr };
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isFile());
}

// ev-billing, the default suite, is certified for 20 seeds in seeds.test.ts and seeds-b.test.ts; these are the other built-in suites.
const SUITES = [
  'smoke',
  'nilm-detection',
  'metrology-mid',
  'metrology-mid-polyphase',
  'ledger-integrity',
  'ev-charging-aspects',
];

describe('every built-in suite on the healthy reference meter (sim rig, embedded Ganache)', () => {
  const runs = new Map<string, CertifyJson>();

  it.each(SUITES)('%s: every case plays and none fails', async (suite) => {
    const r = await certify(suite);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.cases.length).toBeGreaterThan(0);
    expect(r.out.cases.filter((c) => c.verdict !== 'PASS' && c.verdict !== 'MARGINAL')).toEqual([]);
    runs.set(suite, r.out);
  });

  it('no private key, mnemonic or OCMF signing key appears in any file the runs wrote', () => {
    expect(runs.size).toBe(SUITES.length);
    const files = [...filesUnder(runsDir), ...filesUnder(reportsDir)];
    const meterIds = new Set<string>();
    for (const f of files.filter((x) => x.endsWith('record.jsonl'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/"meterId":"([^"]+)"/g)) meterIds.add(m[1]!);
    }
    expect(meterIds.size).toBeGreaterThanOrEqual(3);
    const secrets = [DEFAULT_MNEMONIC];
    for (let i = 0; i < 4; i++) {
      secrets.push(HDNodeWallet.fromPhrase(DEFAULT_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey);
    }
    const addresses: string[] = [];
    for (const run of runs.values()) {
      for (const c of run.cases) {
        for (const id of meterIds) {
          const key = meterKey(caseSeed(1, c.id), id);
          secrets.push(key.privateKey);
          addresses.push(key.address.toLowerCase());
        }
      }
    }
    // the keys scanned for are the ones the meters signed with: their addresses are in the records
    const records = files.filter((x) => x.endsWith('record.jsonl')).map((f) => readFileSync(f, 'utf8').toLowerCase());
    expect(addresses.filter((a) => records.some((t) => t.includes(a))).length).toBeGreaterThan(10);
    secrets.push(ocmfKeyFor({ header: { seeds: { run: 1 } } } as unknown as ReportModel));
    const kinds = new Set(files.map((f) => f.split('.').pop()));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['html', 'json', 'jsonl', 'md', 'txt', 'xml']));
    for (const f of files) {
      const text = readFileSync(f, 'utf8').toLowerCase();
      for (const s of secrets) {
        const needle = s.replace(/^0x/, '').toLowerCase();
        if (text.includes(needle)) throw new Error(`${f} contains a secret (${needle.slice(0, 6)}…)`);
      }
    }
  });

  it('bench compare: a run with a gain error regresses against the healthy baseline, with direction', async () => {
    const healthy = runs.get('metrology-mid')!;
    const slightly = (await certify('metrology-mid', { gainErrorPct: 1.8 })).out;
    const badly = (await certify('metrology-mid', { gainErrorPct: 4 })).out;
    expect(badly.verdict).toBe('FAIL');
    const r = await benchAsync([
      'compare',
      healthy.runId,
      slightly.runId,
      badly.runId,
      '--runs-dir',
      runsDir,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const c = r.json<{
      regressions: number;
      verdicts: Array<{ caseId: string; verdicts: string[]; regression: boolean }>;
      metrics: Array<{ caseId: string; metric: string; values: number[]; directions: string[] }>;
    }>();
    const points = c.verdicts.find((v) => v.caseId === 'test-points')!;
    expect(points.verdicts[0]).toBe('PASS');
    expect(points.verdicts[2]).toBe('FAIL');
    expect(points.regression).toBe(true);
    expect(c.regressions).toBeGreaterThanOrEqual(1);
    const err = c.metrics.find((m) => m.caseId === 'test-points' && m.metric === 'metrology.max_error_pct')!;
    expect(err.directions).toEqual(['same', 'worse', 'worse']);
    expect(err.values[2]!).toBeGreaterThan(err.values[1]!);
    // the creep test does not depend on gain: no verdict change there
    expect(c.verdicts.find((v) => v.caseId === 'no-load-creep')).toMatchObject({ regression: false });
    // the other way round, the healthy run is an improvement, not a regression
    const back = await benchAsync(['compare', badly.runId, healthy.runId, '--runs-dir', runsDir, '--json']);
    expect(back.code).toBe(0);
    const b = back.json<{ metrics: Array<{ caseId: string; metric: string; directions: string[] }> }>();
    expect(
      b.metrics.find((m) => m.caseId === 'test-points' && m.metric === 'metrology.max_error_pct')!.directions,
    ).toEqual(['same', 'better']);
  });
});
