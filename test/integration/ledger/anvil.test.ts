/**
 * The ledger against a second EVM implementation: Foundry's Anvil (npm @foundry-rs/anvil, devDependency) started
 * by the test on a free port, chainId 31337 — contracts compiled for Shanghai, EIP-712 domain on another chain id,
 * relayer key from a mnemonic, custom errors decoded from a different node's error format.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BillingRecord,
  billingDomain,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  signBillingBatch,
  signBillingRecord,
} from '../../../billing/billing-record.js';
import { computeCostMicro, defaultTariff, spreadBandMilliWh } from '../../../billing/tariff.js';
import { loadArtifact } from '../../../ledger/artifacts.js';
import { type Chain, connectChain, rawRpc } from '../../../ledger/chain.js';
import { LedgerClient } from '../../../ledger/client.js';
import { type Deployment, deployLedger } from '../../../ledger/contracts.js';
import { verifyLedger } from '../../../ledger/verify-chain.js';
import { REPO_ROOT } from '../../support/cli.js';
import { freePort } from '../../support/ledger-node.js';

const ANVIL = join(REPO_ROOT, 'node_modules/.bin/anvil');
const MNEMONIC = Wallet.createRandom().mnemonic!.phrase;
const FIRMWARE = `0x${'f1'.repeat(32)}`;
const host = pseudonym('house-1', 'anvil');
const tariff = defaultTariff();

let anvil: ChildProcess | undefined;
let chain: Chain;
let deployment: Deployment;
let client: LedgerClient;

function record(meter: string, seq: bigint): BillingRecord {
  const start = BigInt(Date.UTC(2026, 0, 7, 20) / 1000) + seq * 3600n;
  const r = {
    meter,
    seq,
    payer: pseudonym('ev-owner-9', 'anvil'),
    host,
    start,
    end: start + 1800n,
    importMilliWh: 5_500_000n + seq,
    exportMilliWh: 0n,
    costMicro: 0n,
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: false,
    version: RECORD_VERSION_BANDS,
    bandMilliWh: [] as bigint[],
  };
  r.bandMilliWh = spreadBandMilliWh(tariff, r);
  return { ...r, costMicro: computeCostMicro(tariff, r) };
}

beforeAll(async () => {
  if (!existsSync(ANVIL)) {
    throw new Error(`anvil is missing at ${ANVIL}: run \`npm install\` (devDependency @foundry-rs/anvil)`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Anvil runs the hardfork the contracts are compiled for (their artifact's evmVersion, as on Ganache): its default,
  // the latest, prices calldata by Prague's EIP-7623 floor, which puts a batch of 100 v2 records at 8,032 gas each
  // against 6,297 at the compiled target's pricing; the gas goals are stated for the compiled target.
  const hardfork = loadArtifact('BillingLedger').compiler.evmVersion;
  anvil = spawn(
    ANVIL,
    ['--port', String(port), '--host', '127.0.0.1', '--mnemonic', MNEMONIC, '--hardfork', hardfork, '--silent'],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    try {
      await rawRpc(url, 'eth_chainId', [], 1000, 'anvil');
      break;
    } catch (e) {
      if (i > 100 || anvil.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  chain = await connectChain(url, { mnemonic: MNEMONIC });
  deployment = await deployLedger(chain);
  client = await LedgerClient.create(chain, deployment);
  await client.setFirmwareApproval(FIRMWARE, true);
});

afterAll(async () => {
  await chain?.close();
  if (anvil && anvil.exitCode === null) {
    const exited = new Promise((r) => anvil!.once('exit', r));
    anvil.kill('SIGTERM');
    await exited;
  }
});

describe('Anvil (Foundry) node', () => {
  it('is chain 31337 and takes the Shanghai-compiled contracts', () => {
    expect(chain.chainId).toBe(31337n);
    expect(deployment.chainId).toBe('31337');
  });

  it('single records and a batch of 100 land within the gas goals and verify', async () => {
    const meter = Wallet.createRandom();
    await client.registerMeter(meter.address, host, FIRMWARE);
    const domain = billingDomain(chain.chainId, deployment.contracts.BillingLedger);
    const singles = [];
    for (let i = 1n; i <= 3n; i++) singles.push(await signBillingRecord(meter, domain, record(meter.address, i)));
    const results = await client.submitRecords(singles);
    expect(results.map((r) => r.status)).toEqual(['landed', 'landed', 'landed']);
    expect(results[2]!.gasUsed).toBeLessThanOrEqual(60_000n);
    const batch = await signBillingBatch(
      meter,
      domain,
      Array.from({ length: 100 }, (_, i) => record(meter.address, BigInt(i + 4))),
    );
    const b = await client.submitBatch(batch);
    expect(Number(b.gasUsed) / 100).toBeLessThanOrEqual(8_000);
    const v = await verifyLedger(chain, deployment, { observed: singles });
    expect(v.issues).toEqual([]);
    expect(v.counts.verified).toBe(103);
  });

  it('refuses a forged record, a gap and a non-owner with the decoded custom errors', async () => {
    const meter = Wallet.createRandom();
    await client.registerMeter(meter.address, host, FIRMWARE);
    const domain = billingDomain(chain.chainId, deployment.contracts.BillingLedger);
    const forged = await signBillingRecord(Wallet.createRandom(), domain, record(meter.address, 1n));
    const gap = await signBillingRecord(meter, domain, record(meter.address, 2n));
    const [r1, r2] = await client.submitRecords([forged, gap]);
    expect(r1!.revert?.name).toBe('InvalidSignature');
    expect(r2!.revert?.name).toBe('SequenceMismatch');
    // The 1337 domain is not valid here: a record signed for another chain is forged on this one.
    const otherChain = await signBillingRecord(
      meter,
      billingDomain(1337n, deployment.contracts.BillingLedger),
      record(meter.address, 1n),
    );
    const [r3] = await client.submitRecords([otherChain]);
    expect(r3!.revert?.name).toBe('InvalidSignature');
    const outsider = await LedgerClient.create(chain, deployment, await chain.account(2));
    await expect(outsider.registerMeter(Wallet.createRandom().address, host, FIRMWARE)).rejects.toMatchObject({
      revert: { name: 'OwnableUnauthorizedAccount' },
    });
    const v = await verifyLedger(chain, deployment, { meter: meter.address, observed: [forged, gap] });
    expect(v.counts).toMatchObject({ forged: 1, missing: 2, landed: 0 });
  });
});
