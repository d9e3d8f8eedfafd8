/**
 * Contract interfaces, revert decoding, deployment and the deployment file (addresses of an external chain's
 * contracts, default ./.bench/ledger-<chainId>.json).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AbiCoder, type AbstractSigner, getAddress, Interface, isAddress } from 'ethers';
import { defaultTariff, type Tariff } from '../billing/tariff.js';
import { InputError, RigError } from '../core/errors.js';
import { type ContractName, loadArtifact } from './artifacts.js';
import type { Chain } from './chain.js';
import { type Receipt, TxSender } from './tx.js';

export const CONTRACT_NAMES: readonly ContractName[] = [
  'MeterRegistry',
  'TariffRegistry',
  'BillingLedger',
  'ReportAnchor',
];
export const DEPLOYMENT_FORMAT = 'bench.ledger-deployment/1';

export interface Deployment {
  format: typeof DEPLOYMENT_FORMAT;
  chainId: string;
  contracts: Record<ContractName, string>;
  owner: string;
  deployedAtBlock: number;
  deployedAt: string;
  /** Hash of the contract sources the artifacts were compiled from. */
  sourceHash: string;
}

const ifaces = new Map<ContractName, Interface>();
export function contractInterface(name: ContractName): Interface {
  let i = ifaces.get(name);
  if (!i) {
    i = new Interface(loadArtifact(name).abi);
    ifaces.set(name, i);
  }
  return i;
}

export interface DecodedRevert {
  name: string;
  args: Record<string, string>;
  /** e.g. SequenceMismatch(meter=0x.., expected=3, seq=5) */
  text: string;
}

/** Decodes revert data against every ledger contract's custom errors (and Error(string)/Panic(uint256)). */
export function decodeRevert(data: string | undefined): DecodedRevert | undefined {
  if (!data || data === '0x') return undefined;
  for (const name of CONTRACT_NAMES) {
    try {
      const parsed = contractInterface(name).parseError(data);
      if (!parsed) continue;
      const args: Record<string, string> = {};
      parsed.fragment.inputs.forEach((input, i) => {
        const builtin = parsed.name === 'Error' ? 'reason' : parsed.name === 'Panic' ? 'code' : `arg${i}`;
        args[input.name || builtin] = String(parsed.args[i]);
      });
      const text = `${parsed.name}(${Object.entries(args)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`;
      return { name: parsed.name, args, text };
    } catch {
      // not this contract's error
    }
  }
  if (data.startsWith('0x08c379a0')) {
    const [reason] = AbiCoder.defaultAbiCoder().decode(['string'], `0x${data.slice(10)}`);
    return { name: 'Error', args: { reason: String(reason) }, text: `Error(${reason})` };
  }
  return { name: 'Unknown', args: { data }, text: `unknown revert ${data.slice(0, 10)}` };
}

/** A transaction the chain reverted; `revert` is the contract's decoded custom error. Exit 3 like every RigError. */
export class LedgerRevertError extends RigError {
  readonly revert: DecodedRevert;
  readonly txHash?: string;
  constructor(what: string, revert: DecodedRevert, txHash?: string) {
    super(`${what} reverted: ${revert.text}`, { code: 'TX_REVERTED', device: 'ledger' });
    this.revert = revert;
    this.txHash = txHash;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), revert: this.revert, txHash: this.txHash };
  }
}

/** Why a mined transaction failed: replays it with eth_call on the state before its block. */
export async function diagnoseFailure(
  chain: Chain,
  receipt: Receipt,
  tx: { to?: string; data: string; gasLimit: bigint },
): Promise<DecodedRevert> {
  if (receipt.gasUsed >= tx.gasLimit) return { name: 'OutOfGas', args: {}, text: 'OutOfGas()' };
  const { findRevertData } = await import('./chain.js');
  try {
    await chain.send('eth_call', [
      { from: receipt.from, to: tx.to, data: tx.data, gas: `0x${tx.gasLimit.toString(16)}` },
      `0x${Math.max(0, receipt.blockNumber - 1).toString(16)}`,
    ]);
  } catch (e) {
    const d = decodeRevert((e as { revertData?: string }).revertData ?? findRevertData(e));
    if (d) return d;
  }
  return { name: 'Unknown', args: {}, text: 'reverted (reason unavailable)' };
}

/** Preflight with eth_call at the latest block: the revert a transaction would meet, or undefined. */
export async function preflight(
  chain: Chain,
  from: string,
  tx: { to: string; data: string },
): Promise<DecodedRevert | undefined> {
  const { findRevertData } = await import('./chain.js');
  try {
    await chain.send('eth_call', [{ from, to: tx.to, data: tx.data }, 'latest']);
    return undefined;
  } catch (e) {
    const data = (e as { revertData?: string }).revertData ?? findRevertData(e);
    if (!data) throw e;
    return decodeRevert(data);
  }
}

export interface DeployOptions {
  /** Account index of the owner (pays for deployment, owns the registries). */
  ownerIndex?: number;
  /** Tariff published as version 1 (default: defaultTariff()); null publishes none. */
  tariff?: Tariff | null;
}

/** Deploys MeterRegistry, TariffRegistry, BillingLedger and ReportAnchor, owned by account `ownerIndex`. */
export async function deployLedger(chain: Chain, opts: DeployOptions = {}): Promise<Deployment> {
  const owner = await chain.account(opts.ownerIndex ?? 0);
  const sender = await TxSender.create(chain, owner);
  const ownerAddress = sender.from;
  const create = async (name: ContractName, args: unknown[]): Promise<Receipt> => {
    const art = loadArtifact(name);
    const data = art.bytecode + contractInterface(name).encodeDeploy(args).slice(2);
    const gasLimit =
      (BigInt(await sender.withRetry(() => chain.send<string>('eth_estimateGas', [{ from: ownerAddress, data }]))) *
        12n) /
      10n;
    const receipt = await sender.sendAndWait({ data, gasLimit });
    if (receipt.status !== 1 || !receipt.contractAddress) {
      throw new RigError(`deploying ${name} failed (tx ${receipt.transactionHash})`, {
        code: 'DEPLOY',
        device: 'ledger',
      });
    }
    return receipt;
  };
  const registry = await create('MeterRegistry', [ownerAddress]);
  const tariffs = await create('TariffRegistry', [ownerAddress]);
  const ledger = await create('BillingLedger', [registry.contractAddress]);
  const anchor = await create('ReportAnchor', [ownerAddress]);
  const deployment: Deployment = {
    format: DEPLOYMENT_FORMAT,
    chainId: chain.chainId.toString(),
    contracts: {
      MeterRegistry: getAddress(registry.contractAddress!),
      TariffRegistry: getAddress(tariffs.contractAddress!),
      BillingLedger: getAddress(ledger.contractAddress!),
      ReportAnchor: getAddress(anchor.contractAddress!),
    },
    owner: ownerAddress,
    deployedAtBlock: registry.blockNumber,
    deployedAt: new Date().toISOString(),
    sourceHash: loadArtifact('BillingLedger').sourceHash,
  };
  const tariff = opts.tariff === undefined ? defaultTariff() : opts.tariff;
  if (tariff) {
    const data = contractInterface('TariffRegistry').encodeFunctionData('setTariff', [tariffToAbi(tariff)]);
    const r = await sender.sendAndWait({ to: deployment.contracts.TariffRegistry, data, gasLimit: 2_000_000n });
    if (r.status !== 1)
      throw new RigError('publishing the initial tariff failed', { code: 'DEPLOY', device: 'ledger' });
  }
  return deployment;
}

export function tariffToAbi(t: Tariff): Record<string, unknown> {
  return {
    bandPrices: t.bandPrices,
    schedule: Uint8Array.from(t.schedule),
    evIncentive: t.evIncentive,
    marketPrice: t.marketPrice,
    utcOffsetSeconds: t.utcOffsetSeconds,
    validFrom: t.validFrom,
  };
}

export function tariffFromAbi(r: {
  bandPrices: readonly bigint[];
  schedule: string;
  evIncentive: bigint;
  marketPrice: bigint;
  utcOffsetSeconds: bigint;
  validFrom: bigint;
}): Tariff {
  const bytes = Buffer.from(r.schedule.slice(2), 'hex');
  return {
    bandPrices: [...r.bandPrices].map(BigInt),
    schedule: [...bytes],
    evIncentive: BigInt(r.evIncentive),
    marketPrice: BigInt(r.marketPrice),
    utcOffsetSeconds: Number(r.utcOffsetSeconds),
    validFrom: BigInt(r.validFrom),
  };
}

/** Checks the deployment's contracts exist on this chain (right chain id, code at every address). */
export async function checkDeployment(chain: Chain, d: Deployment): Promise<void> {
  if (d.chainId !== chain.chainId.toString()) {
    throw new InputError(`the deployment is for chain ${d.chainId}, but the ledger is chain ${chain.chainId}`);
  }
  for (const name of CONTRACT_NAMES) {
    const code = await chain.send<string>('eth_getCode', [d.contracts[name], 'latest']);
    if (!code || code === '0x') {
      throw new RigError(`no ${name} contract at ${d.contracts[name]} on chain ${chain.chainId}`, {
        code: 'NOT_DEPLOYED',
        device: 'ledger',
        actions: ['Deploy the contracts with `bench ledger deploy --ledger URL`.'],
      });
    }
  }
}

export function defaultDeploymentPath(chainId: bigint | string): string {
  return resolve('.bench', `ledger-${chainId}.json`);
}

export function saveDeployment(file: string, d: Deployment): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(d, null, 2)}\n`);
  renameSync(tmp, file);
}

export function loadDeployment(file: string): Deployment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError(
      `no deployment file ${file}`,
      [{ file, message: 'missing' }],
      ['Deploy the contracts first: `bench ledger deploy --ledger URL`, or pass --deployment FILE.'],
    );
  }
  let d: Deployment;
  try {
    d = JSON.parse(text) as Deployment;
  } catch (e) {
    throw new InputError(`${file} is not JSON: ${(e as Error).message}`, [{ file, message: 'not JSON' }]);
  }
  const problems: string[] = [];
  if (d?.format !== DEPLOYMENT_FORMAT) problems.push(`format: expected ${DEPLOYMENT_FORMAT}`);
  for (const n of CONTRACT_NAMES) if (!isAddress(d?.contracts?.[n])) problems.push(`contracts.${n}: not an address`);
  if (!/^\d+$/.test(String(d?.chainId))) problems.push('chainId: not a decimal integer');
  if (!Number.isInteger(d?.deployedAtBlock)) problems.push('deployedAtBlock: not an integer');
  if (problems.length > 0) {
    throw new InputError(
      `${file} is not a ledger deployment:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      problems.map((message) => ({ file, message })),
    );
  }
  return d;
}

export type { AbstractSigner };
