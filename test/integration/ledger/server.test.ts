/**
 * The ledger against a Ganache JSON-RPC server in its own process (`bench ledger up`, the built CLI) on a free
 * port: external-chain client, a node restart in the middle of a resumable scan, node-managed accounts, and every
 * `bench ledger` command as a user runs it. Outputs are scanned for keys and the mnemonic.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDNodeWallet, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BillingRecord,
  billingDomain,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  type SignedBillingRecord,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import { signedBillingRecordToJson } from '../../../billing/record-json.js';
import { computeCostMicro, defaultTariff, spreadBandMilliWh } from '../../../billing/tariff.js';
import { createRun } from '../../../core/record/store.js';
import { RUN_RECORD_FORMAT } from '../../../core/record/types.js';
import { type Chain, connectChain } from '../../../ledger/chain.js';
import { LedgerClient } from '../../../ledger/client.js';
import { type Deployment, deployLedger } from '../../../ledger/contracts.js';
import { scanLedger } from '../../../ledger/logs.js';
import { verifyLedger } from '../../../ledger/verify-chain.js';
import { bench, type CliResult } from '../../support/cli.js';
import { freePort, startLedgerNode, stopLedgerNode as stopServer } from '../../support/ledger-node.js';

const MNEMONIC = Wallet.createRandom().mnemonic!.phrase;
const ENV = { BENCH_LEDGER_MNEMONIC: MNEMONIC };
const FIRMWARE = `0x${'f1'.repeat(32)}`;
const salt = 'server-salt';
const host = pseudonym('house-1', salt);
const T0 = BigInt(Date.UTC(2026, 0, 6, 18) / 1000);
const tariff = defaultTariff();
const dir = mkdtempSync(join(tmpdir(), 'ledger-server-'));
const dbPath = join(dir, 'chain-db');
const cliOutputs: string[] = [];
const meterKeys: string[] = [];

let port: number;
let url: string;
let server: ChildProcess | undefined;

async function startServer(): Promise<ChildProcess> {
  return startLedgerNode({ port, dbPath, env: ENV, output: (t) => cliOutputs.push(t) });
}

function cli(args: string[], env: Record<string, string> = ENV): CliResult {
  const r = bench(args, { env });
  cliOutputs.push(r.stdout, r.stderr);
  return r;
}

function record(meter: string, seq: bigint, over: Partial<BillingRecord> = {}): BillingRecord {
  const r = {
    meter,
    seq,
    payer: pseudonym('ev-owner-3', salt),
    host,
    start: T0 + seq * 5400n,
    end: T0 + seq * 5400n + 2700n,
    importMilliWh: 3_700_000n + seq * 11n,
    exportMilliWh: 0n,
    costMicro: 0n,
    tariffVersion: 1n,
    loadClass: loadClassId('ev-3ph-11kw'),
    attributed: true,
    ...over,
  };
  const full = { ...r, version: RECORD_VERSION_BANDS, bandMilliWh: spreadBandMilliWh(tariff, r), ...over };
  return { ...full, costMicro: over.costMicro ?? computeCostMicro(tariff, full) };
}

function newMeter(): HDNodeWallet {
  const w = Wallet.createRandom();
  meterKeys.push(w.privateKey);
  return w;
}

beforeAll(async () => {
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = await startServer();
});

afterAll(async () => {
  await stopServer(server);
});

describe('Ganache server process (bench ledger up)', () => {
  let chain: Chain;
  let deployment: Deployment;
  let client: LedgerClient;
  const meter = newMeter();
  const signed: SignedBillingRecord[] = [];

  beforeAll(async () => {
    chain = await connectChain(url, { mnemonic: MNEMONIC });
    deployment = await deployLedger(chain);
    client = await LedgerClient.create(chain, deployment);
    await client.setFirmwareApproval(FIRMWARE, true);
    await client.registerMeter(meter.address, host, FIRMWARE);
    const domain = billingDomain(chain.chainId, deployment.contracts.BillingLedger);
    for (let i = 1n; i <= 40n; i++) signed.push(await signBillingRecord(meter, domain, record(meter.address, i)));
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('takes records from the client over JSON-RPC (local relayer key from the mnemonic)', async () => {
    expect(chain.chainId).toBe(1337n);
    const results = await client.submitRecords(signed.slice(0, 30));
    expect(results.every((r) => r.status === 'landed')).toBe(true);
  });

  it('a scan survives a node restart (persistent state) and resumes from a block number', async () => {
    const first = await scanLedger(chain, deployment, { toBlock: deployment.deployedAtBlock + 20 });
    await stopServer(server);
    // Reading while the node is down keeps retrying; the node comes back with the same state.
    const pending = scanLedger(chain, deployment, { fromBlock: first.nextBlock, retryDelayMs: 100, retries: 100 });
    await new Promise((r) => setTimeout(r, 300));
    server = await startServer();
    const rest = await pending;
    expect([...first.records, ...rest.records].map((l) => l.record.seq)).toEqual(
      signed.slice(0, 30).map((s) => s.record.seq),
    );
    // The relayer continues after the restart: nonce reloaded from the node.
    const client2 = await LedgerClient.create(chain, deployment);
    const more = await client2.submitRecords(signed.slice(30));
    expect(more.every((r) => r.status === 'landed')).toBe(true);
    const v = await verifyLedger(chain, deployment, { observed: signed });
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(40);
  });

  it('works with the node-managed accounts (eth_sendTransaction) when no key is given', async () => {
    const nodeChain = await connectChain(url);
    try {
      const d = await deployLedger(nodeChain, { ownerIndex: 1 });
      expect(d.owner).toBe(HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/1").address);
      const c = await LedgerClient.create(nodeChain, d, await nodeChain.account(1));
      await c.setFirmwareApproval(FIRMWARE, true);
      const m = newMeter();
      await c.registerMeter(m.address, host, FIRMWARE);
      const domain = billingDomain(nodeChain.chainId, d.contracts.BillingLedger);
      const r = await c.submitRecord(await signBillingRecord(m, domain, record(m.address, 1n)));
      expect(r.status).toBe('landed');
      const gap = await c.submitRecords([await signBillingRecord(m, domain, record(m.address, 3n))]);
      expect(gap[0]!.revert?.name).toBe('SequenceMismatch');
    } finally {
      await nodeChain.close();
    }
  });
});

describe('bench ledger commands against the server', () => {
  const deploymentFile = join(dir, 'deployment.json');
  const flags = () => ['--ledger', url, '--deployment', deploymentFile];
  const meter = newMeter();
  let deployment: Deployment;

  it('deploy writes the deployment file; status reads it', () => {
    const r = cli(['ledger', 'deploy', ...flags(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    deployment = r.json<{ deployment: Deployment }>().deployment;
    expect(deployment.chainId).toBe('1337');
    const s = cli(['ledger', 'status', ...flags(), '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json()).toMatchObject({ chainId: '1337', contracts: deployment.contracts, meters: 0, tariffVersion: 1 });
    const human = cli(['ledger', 'status', ...flags()]);
    expect(human.stdout).toContain(`BillingLedger   ${deployment.contracts.BillingLedger}`);
  });

  it('register-meter and tariff set/show', async () => {
    const r = cli([
      'ledger',
      'register-meter',
      ...flags(),
      '--meter',
      meter.address,
      '--host-id',
      'house-1',
      '--salt',
      salt,
      '--firmware',
      FIRMWARE,
      '--attest',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ meter: { meter: meter.address, host, status: 'Ok', firmwareApproved: true } });
    const rows = Array.from(
      { length: 7 },
      (_, d) => `  - [${Array.from({ length: 24 }, (_, h) => (d < 5 && h >= 17 && h < 21 ? 1 : 0)).join(', ')}]`,
    );
    const file = join(dir, 'tariff.yaml');
    writeFileSync(
      file,
      `bandPrices: [180000, 420000]\nschedule:\n${rows.join('\n')}\nevIncentive: 15000\nmarketPrice: 90000\nutcOffsetSeconds: 3600\n`,
    );
    const set = cli(['ledger', 'tariff', 'set', file, ...flags(), '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json()).toMatchObject({ version: 2, bandPrices: ['180000', '420000'], utcOffsetSeconds: 3600 });
    const show = cli(['ledger', 'tariff', 'show', ...flags(), '--version', '1', '--json']);
    expect(show.json()).toMatchObject({ version: 1, bandPrices: ['150000', '250000', '400000'] });
    const missing = cli(['ledger', 'tariff', 'show', ...flags(), '--version', '9']);
    expect(missing.code).toBe(2);
  });

  it('records lists what landed, filtered by meter and block range', async () => {
    const chain = await connectChain(url, { mnemonic: MNEMONIC });
    const client = await LedgerClient.create(chain, deployment);
    const domain = billingDomain(1337n, deployment.contracts.BillingLedger);
    const list = [];
    for (let i = 1n; i <= 3n; i++) list.push(await signBillingRecord(meter, domain, record(meter.address, i)));
    const results = await client.submitRecords(list);
    await chain.close();
    const r = cli(['ledger', 'records', ...flags(), '--meter', meter.address, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ records: Array<{ record: { seq: string; meter: string } }>; nextBlock: number }>();
    expect(out.records.map((x) => x.record.seq)).toEqual(['1', '2', '3']);
    const later = cli(['ledger', 'records', ...flags(), '--from-block', String(results[2]!.blockNumber), '--json']);
    expect(later.json<{ records: unknown[] }>().records).toHaveLength(1);
    expect(cli(['ledger', 'records', ...flags()]).stdout).toContain('3 records in blocks');
  });

  it('verify <run-id> --ledger: clean run passes (exit 0), a run with a forged record fails (exit 1)', async () => {
    const runsDir = join(dir, 'runs');
    const domain = billingDomain(1337n, deployment.contracts.BillingLedger);
    const emitted = [];
    for (let i = 1n; i <= 3n; i++) emitted.push(await signBillingRecord(meter, domain, record(meter.address, i)));
    const makeRun = (list: SignedBillingRecord[]) => {
      const { writer, runId } = createRun(runsDir, {
        format: RUN_RECORD_FORMAT,
        tool: { name: 'bench', version: 't' },
        node: process.version,
        platform: process.platform,
        argv: [],
        seeds: {},
        identities: {
          ledger: { chainId: '1337', contracts: deployment.contracts, deployedAtBlock: deployment.deployedAtBlock },
        },
      });
      for (const s of list)
        writer.append('obs.meter.billing', {
          caseId: 'c1',
          meterId: 'm1',
          tObserved: 1,
          signed: signedBillingRecordToJson(s),
        });
      writer.close({ status: 'COMPLETE', verdict: 'PASS' });
      return runId;
    };
    const clean = makeRun(emitted);
    const ok = cli(['ledger', 'verify', clean, '--ledger', url, '--runs-dir', runsDir, '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.json()).toMatchObject({ ok: true, mode: 'external', counts: { observed: 3, verified: 3 } });
    const forged = await signBillingRecord(newMeter(), domain, record(meter.address, 4n));
    const bad = makeRun([...emitted, forged]);
    const fail = cli(['ledger', 'verify', bad, '--ledger', url, '--runs-dir', runsDir]);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/FORGED\s+0x[0-9a-fA-F]{40} #4/);
    expect(fail.stdout).toMatch(/MISSING\s+0x[0-9a-fA-F]{40} #4/);
  });

  it('verify <run-id> without --ledger replays on an embedded chain', async () => {
    const runsDir = join(dir, 'runs-replay');
    const m = newMeter();
    const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
    const list = [];
    for (let i = 1n; i <= 3n; i++) list.push(await signBillingRecord(m, domain, record(m.address, i)));
    const dup = list[1]!;
    const { writer, runId } = createRun(runsDir, {
      format: RUN_RECORD_FORMAT,
      tool: { name: 'bench', version: 't' },
      node: process.version,
      platform: process.platform,
      argv: [],
      seeds: {},
    });
    for (const s of [...list, dup])
      writer.append('obs.meter.billing', {
        caseId: 'c1',
        meterId: 'm1',
        tObserved: 1,
        signed: signedBillingRecordToJson(s),
      });
    writer.close({ status: 'COMPLETE', verdict: 'PASS' });
    const r = cli(['ledger', 'verify', runId, '--runs-dir', runsDir, '--json'], {});
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = r.json<{
      mode: string;
      counts: { verified: number; landed: number };
      submissions: Array<{ status: string }>;
    }>();
    expect(out.mode).toBe('replay');
    expect(out.counts).toMatchObject({ landed: 3, verified: 3 });
    expect(out.submissions.map((s) => s.status)).toEqual(['landed', 'landed', 'landed', 'already-landed']);
  });

  it('revoke-meter: the meter stays revoked, a second revocation exits 3 with the decoded error', () => {
    const m = Wallet.createRandom().address;
    expect(
      cli(['ledger', 'register-meter', ...flags(), '--meter', m, '--host', host, '--firmware', FIRMWARE]).code,
    ).toBe(0);
    const r = cli(['ledger', 'revoke-meter', ...flags(), '--meter', m, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ meter: { meter: m, status: 'Revoked' } });
    const again = cli(['ledger', 'revoke-meter', ...flags(), '--meter', m]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('MeterAlreadyRevoked');
  });

  it('input problems exit 2, an unreachable chain exits 3, with no stack trace', async () => {
    const badMeter = cli([
      'ledger',
      'register-meter',
      ...flags(),
      '--meter',
      'bob',
      '--host',
      host,
      '--firmware',
      FIRMWARE,
    ]);
    expect(badMeter.code).toBe(2);
    expect(badMeter.stderr).toContain('--meter bob is not an address');
    const noDeployment = cli(['ledger', 'status', '--ledger', url, '--deployment', join(dir, 'none.json')]);
    expect(noDeployment.code).toBe(2);
    const closed = await freePort();
    const down = cli(['ledger', 'status', '--ledger', `http://127.0.0.1:${closed}`, '--json']);
    expect(down.code).toBe(3);
    expect(down.json<{ error: { code: string } }>().error.code).toBe('CHAIN_UNREACHABLE');
    expect(down.stdout + down.stderr).not.toMatch(/\n\s+at /);
    const outsider = Wallet.createRandom();
    meterKeys.push(outsider.privateKey);
    const notOwner = cli(
      ['ledger', 'register-meter', ...flags(), '--meter', meter.address, '--host', host, '--firmware', FIRMWARE],
      {
        BENCH_RELAYER_KEY: outsider.privateKey,
      },
    );
    expect(notOwner.code).toBe(3);
  });

  it('no key or mnemonic in any output', () => {
    const relayerKeys = [0, 1, 2].map(
      (i) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey,
    );
    const text = cliOutputs.join('\n');
    expect(text.length).toBeGreaterThan(1000);
    for (const s of [...relayerKeys, ...meterKeys, MNEMONIC]) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(s.replace(/^0x/, ''));
    }
  });
});
