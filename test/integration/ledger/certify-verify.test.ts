/**
 * `bench ledger verify <run>` against `bench certify` on the same run, both through the built CLI: on every built-in
 * suite (a case or two each, the TOU-tariff ones included) the verifier's per-record findings are the ones certify's
 * billing analysis made, and its exit code follows them. On an external ledger, certify uses the deployment
 * `bench ledger deploy` saved (and says so), and the verifier agrees with its PASS.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingSection } from '../../../analysis/billing.js';
import type { IssueKind } from '../../../billing/verify-types.js';
import { loadRun } from '../../../core/record/store.js';
import type { CertifyResult } from '../../../engine/certify.js';
import type { VerifyRunResult } from '../../../ledger/verify-run.js';
import { buildReportModel } from '../../../reports/model.js';
import { benchAsync } from '../../support/cli.js';
import { freePort, startLedgerNode, stopLedgerNode } from '../../support/ledger-node.js';

const dir = mkdtempSync(join(tmpdir(), 'certify-verify-'));
const runsDir = join(dir, 'runs');

/**
 * What the ledger alone can tell (signatures, sequence, registry, landing, tariff cost). Payer, host, time and
 * energy mismatches need the ground truth, which only certify has; `missing` there also counts sessions that never
 * produced a record, so it is compared for observed records only (below).
 */
const LEDGER_KINDS: readonly IssueKind[] = [
  'forged',
  'duplicate',
  'out-of-sequence',
  'rejected',
  'tampered',
  'unregistered',
  'revoked',
  'unattested',
  'cost-mismatch',
  'batch-invalid',
];

type Finding = string;
const finding = (i: { kind: string; meter: string; seq?: string }): Finding =>
  `${i.kind} ${i.meter.toLowerCase()}#${i.seq ?? '-'}`;

/** certify's per-record ledger findings, from its own billing analysis of the record. */
function certifyFindings(runId: string): { findings: Finding[]; billed: boolean } {
  const model = buildReportModel(loadRun(runsDir, runId));
  const findings: Finding[] = [];
  let billed = false;
  for (const c of model.cases) {
    const billing = c.analysis?.sections.billing as BillingSection | undefined;
    if (!billing) continue;
    billed ||= billing.verification.counts.observed > 0;
    for (const i of billing.verification.issues) if (LEDGER_KINDS.includes(i.kind)) findings.push(finding(i));
  }
  return { findings: findings.sort(), billed };
}

async function certifyRun(suite: string, cases: string[], extra: string[] = [], cwd?: string) {
  const r = await benchAsync(
    [
      'certify',
      '--suite',
      suite,
      ...cases.flatMap((c) => ['--case', c]),
      '--format',
      'json',
      '--runs-dir',
      runsDir,
      '--reports-dir',
      join(dir, 'reports'),
      '--json',
      ...extra,
    ],
    { cwd },
  );
  expect(r.stderr, r.stderr).not.toMatch(/Error/);
  return { cli: r, result: r.json<CertifyResult>() };
}

async function verifyRun(runId: string, extra: string[] = [], cwd?: string) {
  return benchAsync(['ledger', 'verify', runId, '--runs-dir', runsDir, '--json', ...extra], { cwd });
}

function meterConfig(name: string, faults: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({ faults }));
  return file;
}

/** Certifies, verifies the run, and checks the two agree record by record. Returns both for case-specific checks. */
async function certifyAndVerify(suite: string, cases: string[], extra: string[] = []) {
  const { result } = await certifyRun(suite, cases, extra);
  const { findings, billed } = certifyFindings(result.runId);
  const v = await verifyRun(result.runId);
  if (!billed) {
    // Nothing billed, nothing to verify: said so as an input problem, never a PASS.
    expect(v.code, v.stdout + v.stderr).toBe(2);
    expect(v.stderr + v.stdout).toContain('has no billing observations');
    return { result, findings, verify: undefined };
  }
  const verify = v.json<VerifyRunResult>();
  const verifyFindings = verify.issues.filter((i) => LEDGER_KINDS.includes(i.kind)).map(finding);
  expect(verifyFindings.sort()).toEqual(findings);
  expect(v.code).toBe(verify.ok && verify.malformed.length === 0 ? 0 : 1);
  expect(verify.ok).toBe(findings.length === 0);
  return { result, findings, verify };
}

describe('ledger verify agrees with certify on every built-in suite', () => {
  it.each([
    // The TOU cases publish their own tariff versions during the run (the ones the replay once did not know).
    ['ev-billing', ['ev-tou-boundary', 'ev-smart-following']],
    ['ev-charging-aspects', ['tariff-selection', 'connectivity-loss']],
    ['ledger-integrity', ['outage-and-retry']],
    ['smoke', ['ev-and-kettle']],
    ['metrology-mid', ['no-load-creep']],
    ['nilm-detection', ['single-appliances']],
  ])('%s %j', async (suite, cases) => {
    const { result, verify, findings } = await certifyAndVerify(suite, cases);
    if (verify) {
      expect(findings).toEqual([]);
      expect(verify.counts.verified).toBe(verify.counts.observed);
      expect(result.cases.every((c) => !c.failed.some((f) => f.startsWith('billing.cost_mismatch')))).toBe(true);
    }
  });

  it.each([
    ['a wrong tariff', { wrongTariff: true }, 'ev-tou-boundary', 'cost-mismatch'],
    ['unattested firmware', { unattestedFirmware: true }, 'ev-at-home', 'unattested'],
    ['a bad signature', { badSignature: true }, 'ev-at-home', 'forged'],
  ])('a meter with %s FAILs both, on the same records', async (name, faults, caseId, kind) => {
    const { result, verify, findings } = await certifyAndVerify(
      'ev-billing',
      [caseId],
      ['--meter-config', meterConfig(name.replaceAll(' ', '-'), faults)],
    );
    expect(result.verdict).toBe('FAIL');
    expect(findings.some((f) => f.startsWith(`${kind} `))).toBe(true);
    expect(verify?.ok).toBe(false);
  });
});

describe('certify on an external ledger uses the saved deployment', () => {
  const work = mkdtempSync(join(tmpdir(), 'certify-saved-'));
  let node: ChildProcess | undefined;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    node = await startLedgerNode({ port, dbPath: join(dir, 'chain-db') });
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await stopLedgerNode(node);
  });

  it('deploys fresh and says so when nothing was saved for that chain', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'certify-fresh-'));
    const { cli, result } = await certifyRun('smoke', ['ev-and-kettle'], ['--ledger', url], fresh);
    expect(cli.code).toBe(0);
    expect(result.ledger.deployment).toEqual({
      source: 'fresh',
      reason: `no saved deployment for ${url} (${join(fresh, '.bench', 'ledger-1337.json')})`,
    });
    // The verifier finds the run's own contracts (from its record) on the chain the run used.
    const v = await verifyRun(result.runId, [], fresh);
    expect(v.code, v.stdout).toBe(0);
    expect(v.json<VerifyRunResult>().url).toBe(url);
  });

  it('passes over a saved deployment left from another chain with the same id, and says why', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'certify-stale-'));
    mkdirSync(join(stale, '.bench'));
    const file = join(stale, '.bench', 'ledger-1337.json');
    const nowhere = `0x${'de'.repeat(20)}`;
    writeFileSync(
      file,
      JSON.stringify({
        format: 'bench.ledger-deployment/1',
        chainId: '1337',
        contracts: { MeterRegistry: nowhere, TariffRegistry: nowhere, BillingLedger: nowhere, ReportAnchor: nowhere },
        owner: nowhere,
        deployedAtBlock: 1,
        deployedAt: '2026-01-01T00:00:00Z',
        sourceHash: '',
      }),
    );
    const { cli, result } = await certifyRun('smoke', ['ev-and-kettle'], ['--ledger', url], stale);
    expect(cli.code).toBe(0);
    expect(result.ledger.deployment.source).toBe('fresh');
    expect((result.ledger.deployment as { reason: string }).reason).toContain(
      `the saved deployment ${file} has no contracts on ${url}`,
    );
    // Named on the command line, the same file is an error (exit 3, the ledger named), not silently replaced.
    const named = await benchAsync(
      ['certify', '--suite', 'smoke', '--ledger', url, '--deployment', file, '--runs-dir', runsDir],
      { cwd: stale },
    );
    expect(named.code).toBe(3);
    expect(named.stderr).toContain(`no MeterRegistry contract at ${nowhere}`);
  });

  it('uses `bench ledger deploy`’s contracts, and ledger verify agrees with its PASS', async () => {
    const deploy = await benchAsync(['ledger', 'deploy', '--ledger', url, '--json'], { cwd: work });
    expect(deploy.code, deploy.stderr).toBe(0);
    const saved = deploy.json<{ deploymentFile: string; deployment: { contracts: Record<string, string> } }>();
    expect(existsSync(saved.deploymentFile)).toBe(true);

    const human = await benchAsync(
      ['certify', '--suite', 'ev-billing', '--case', 'ev-tou-boundary', '--ledger', url, '--format', 'json'].concat([
        '--runs-dir',
        runsDir,
        '--reports-dir',
        join(dir, 'reports'),
      ]),
      { cwd: work },
    );
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toContain(`contracts of the saved deployment ${saved.deploymentFile}`);
    expect(human.stdout).toContain(`BillingLedger ${saved.deployment.contracts.BillingLedger}`);
    const runId = /run {6}(\S+)/.exec(human.stdout)?.[1] as string;

    for (const args of [[], ['--ledger', url]]) {
      const v = await verifyRun(runId, args, work);
      expect(v.code, v.stdout).toBe(0);
      const r = v.json<VerifyRunResult>();
      expect(r.mode).toBe('external');
      expect(r.ledger).toBe(saved.deployment.contracts.BillingLedger);
      expect(r.issues).toEqual([]);
      expect(r.counts.verified).toBe(r.counts.observed);
    }

    // The same meters certified again on the same contracts continue their sequence; both runs still verify.
    const again = await certifyRun('ev-billing', ['ev-tou-boundary'], ['--ledger', url], work);
    expect(again.result.verdict).toBe('PASS');
    expect(again.result.ledger.deployment).toEqual({ source: 'saved', file: saved.deploymentFile });
    // Each verifies in its own blocks: the first run's check sees none of the second run's records.
    const verified: VerifyRunResult[] = [];
    for (const id of [runId, again.result.runId]) {
      const v = await verifyRun(id, [], work);
      expect(v.code, v.stdout).toBe(0);
      const r = v.json<VerifyRunResult>();
      expect(r.counts.landed).toBe(r.counts.observed);
      verified.push(r);
    }
    expect(verified[0]!.toBlock).toBeLessThan(verified[1]!.fromBlock);
  });

  it('refuses --ledger for a run on the embedded chain (exit 2): that chain ended with the run', async () => {
    const { result } = await certifyRun('smoke', ['ev-and-kettle']);
    const v = await verifyRun(result.runId, ['--ledger', url]);
    expect(v.code, v.stdout + v.stderr).toBe(2);
    expect(v.stdout + v.stderr).toContain(`run ${result.runId} ran on the embedded chain`);
    expect(v.stdout + v.stderr).toContain('without --ledger');
  });
});
