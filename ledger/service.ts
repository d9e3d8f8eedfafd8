/**
 * One function per `bench ledger` command (the commands only parse flags and print).
 * Embedded mode (no --ledger) runs on a fresh in-process chain with freshly deployed contracts, which lives only
 * for the command: useful to try things out; a lab keeps state with `bench ledger up --db DIR` and --ledger URL.
 */
import { formatEther, getAddress, isAddress, isHexString } from 'ethers';
import { pseudonym } from '../billing/billing-record.js';
import { type BillingRecordJson, billingRecordToJson } from '../billing/record-json.js';
import { loadTariffFile, type TariffVersionJson, tariffVersionToJson } from '../billing/tariff-file.js';
import { InputError } from '../core/errors.js';
import { type Chain, DEFAULT_MNEMONIC, EMBEDDED_CHAIN_ID, ganacheOptions, openChain } from './chain.js';
import { LedgerClient, LedgerReader, type MeterInfo } from './client.js';
import {
  CONTRACT_NAMES,
  checkDeployment,
  type Deployment,
  defaultDeploymentPath,
  deployLedger,
  loadDeployment,
  saveDeployment,
} from './contracts.js';
import { scanLedger } from './logs.js';
import { registerSecret } from './secrets.js';

export interface LedgerConnectOptions {
  ledger?: string;
  deployment?: string;
  mnemonic?: string;
  relayerKey?: string;
}

export interface LedgerContext {
  chain: Chain;
  deployment: Deployment;
  /** True on an embedded chain (state lives only for this command). */
  ephemeral: boolean;
  deploymentFile?: string;
}

/** Opens the chain and its deployment (embedded: deploys fresh contracts), runs `fn`, always closes. */
export async function withLedger<T>(opts: LedgerConnectOptions, fn: (ctx: LedgerContext) => Promise<T>): Promise<T> {
  const chain = await openChain(opts);
  try {
    if (!opts.ledger) return await fn({ chain, deployment: await deployLedger(chain), ephemeral: true });
    const file = opts.deployment ?? defaultDeploymentPath(chain.chainId);
    const deployment = loadDeployment(file);
    await checkDeployment(chain, deployment);
    return await fn({ chain, deployment, ephemeral: false, deploymentFile: file });
  } finally {
    await chain.close();
  }
}

// --- up ----------------------------------------------------------------------------------------------------------

export interface LedgerUpOptions {
  port: number;
  host: string;
  dbPath?: string;
  mnemonic?: string;
  accounts?: number;
}

export interface LedgerServer {
  url: string;
  chainId: string;
  /** Addresses of the deterministic accounts (account 0 = relayer/owner). Keys are never shown. */
  accounts: string[];
  dbPath?: string;
  close(): Promise<void>;
}

/** Starts a Ganache JSON-RPC server (chainId 1337, deterministic accounts, optional persistent state). */
export async function startLedgerServer(opts: LedgerUpOptions): Promise<LedgerServer> {
  registerSecret(opts.mnemonic);
  const { default: ganache } = await import('ganache');
  const { HDNodeWallet } = await import('ethers');
  const server = ganache.server(
    ganacheOptions({ mnemonic: opts.mnemonic, dbPath: opts.dbPath, accounts: opts.accounts }) as never,
  );
  try {
    await server.listen(opts.port, opts.host);
  } catch (e) {
    const { RigError } = await import('../core/errors.js');
    throw new RigError(`cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`, {
      code: 'LISTEN',
      device: 'ledger up',
    });
  }
  const root = HDNodeWallet.fromPhrase(opts.mnemonic ?? DEFAULT_MNEMONIC, undefined, "m/44'/60'/0'/0");
  const accounts = Array.from({ length: opts.accounts ?? 10 }, (_, i) => root.deriveChild(i).address);
  return {
    url: `http://${opts.host}:${opts.port}`,
    chainId: EMBEDDED_CHAIN_ID.toString(),
    accounts,
    dbPath: opts.dbPath,
    close: () => server.close(),
  };
}

// --- deploy ------------------------------------------------------------------------------------------------------

export interface LedgerDeployResult {
  chainId: string;
  ephemeral: boolean;
  deploymentFile?: string;
  deployment: Deployment;
}

export async function ledgerDeploy(opts: LedgerConnectOptions): Promise<LedgerDeployResult> {
  const chain = await openChain(opts);
  try {
    const deployment = await deployLedger(chain);
    if (!opts.ledger) return { chainId: deployment.chainId, ephemeral: true, deployment };
    const file = opts.deployment ?? defaultDeploymentPath(chain.chainId);
    saveDeployment(file, deployment);
    return { chainId: deployment.chainId, ephemeral: false, deploymentFile: file, deployment };
  } finally {
    await chain.close();
  }
}

// --- status ------------------------------------------------------------------------------------------------------

export interface LedgerStatusResult {
  chainId: string;
  url?: string;
  ephemeral: boolean;
  blockNumber: number;
  relayer: { address: string; balanceEth: string };
  contracts: Deployment['contracts'];
  deployedAtBlock: number;
  meters: number;
  tariffVersion: number;
}

export async function ledgerStatus(opts: LedgerConnectOptions): Promise<LedgerStatusResult> {
  return withLedger(opts, async ({ chain, deployment, ephemeral }) => {
    const reader = new LedgerReader(chain, deployment);
    const relayer = await chain.address(0);
    const balance = BigInt(await chain.send<string>('eth_getBalance', [relayer, 'latest']));
    return {
      chainId: chain.chainId.toString(),
      url: chain.url,
      ephemeral,
      blockNumber: await reader.blockNumber(),
      relayer: { address: relayer, balanceEth: formatEther(balance) },
      contracts: deployment.contracts,
      deployedAtBlock: deployment.deployedAtBlock,
      meters: await reader.meterCount(),
      tariffVersion: await reader.currentTariffVersion(),
    };
  });
}

// --- records -----------------------------------------------------------------------------------------------------

export interface LedgerRecordsOptions extends LedgerConnectOptions {
  meter?: string;
  fromBlock?: number;
  toBlock?: number;
}

export interface LedgerRecordsResult {
  chainId: string;
  fromBlock: number;
  toBlock: number;
  nextBlock: number;
  records: Array<{
    blockNumber: number;
    txHash: string;
    record: BillingRecordJson;
    signature?: string;
    batch?: { root: string; index: number; count: number };
  }>;
}

export async function ledgerRecords(opts: LedgerRecordsOptions): Promise<LedgerRecordsResult> {
  if (opts.meter !== undefined && !isAddress(opts.meter))
    throw new InputError(`--meter ${opts.meter} is not an address`);
  return withLedger(opts, async ({ chain, deployment }) => {
    const scan = await scanLedger(chain, deployment, {
      meter: opts.meter,
      fromBlock: opts.fromBlock,
      toBlock: opts.toBlock,
    });
    return {
      chainId: chain.chainId.toString(),
      fromBlock: scan.fromBlock,
      toBlock: scan.toBlock,
      nextBlock: scan.nextBlock,
      records: scan.records.map((l) => ({
        blockNumber: l.blockNumber,
        txHash: l.txHash,
        record: billingRecordToJson(l.record),
        signature: l.signature,
        batch: l.batch ? { root: l.batch.root, index: l.batch.index, count: l.batch.count } : undefined,
      })),
    };
  });
}

// --- register-meter ----------------------------------------------------------------------------------------------

export interface RegisterMeterOptions extends LedgerConnectOptions {
  meter: string;
  /** bytes32 host pseudonym, or a host id with `salt`. */
  host?: string;
  hostId?: string;
  salt?: string;
  firmware: string;
  /** Also attest (approve) the firmware hash. */
  attest?: boolean;
}

export interface RegisterMeterResult {
  chainId: string;
  txHash: string;
  meter: Omit<MeterInfo, 'lastSeq'> & { lastSeq: string };
}

export async function ledgerRegisterMeter(opts: RegisterMeterOptions): Promise<RegisterMeterResult> {
  if (!isAddress(opts.meter)) throw new InputError(`--meter ${opts.meter} is not an address`);
  if (!isHexString(opts.firmware, 32))
    throw new InputError('--firmware must be a bytes32 hex hash (0x + 64 hex digits)');
  let host: string;
  if (opts.host !== undefined) {
    if (!isHexString(opts.host, 32)) throw new InputError('--host must be a bytes32 pseudonym (0x + 64 hex digits)');
    host = opts.host;
  } else if (opts.hostId !== undefined && opts.salt) {
    host = pseudonym(opts.hostId, opts.salt);
  } else {
    throw new InputError('give --host <bytes32 pseudonym>, or --host-id with --salt');
  }
  return withLedger(opts, async ({ chain, deployment }) => {
    const client = await LedgerClient.create(chain, deployment);
    if (opts.attest) await client.setFirmwareApproval(opts.firmware, true);
    const r = await client.registerMeter(getAddress(opts.meter), host, opts.firmware);
    const info = await client.meterInfo(opts.meter);
    return {
      chainId: chain.chainId.toString(),
      txHash: r.transactionHash,
      meter: { ...info, lastSeq: info.lastSeq.toString() },
    };
  });
}

export async function ledgerRevokeMeter(opts: LedgerConnectOptions & { meter: string }): Promise<RegisterMeterResult> {
  if (!isAddress(opts.meter)) throw new InputError(`--meter ${opts.meter} is not an address`);
  return withLedger(opts, async ({ chain, deployment }) => {
    const client = await LedgerClient.create(chain, deployment);
    const r = await client.revokeMeter(getAddress(opts.meter));
    const info = await client.meterInfo(opts.meter);
    return {
      chainId: chain.chainId.toString(),
      txHash: r.transactionHash,
      meter: { ...info, lastSeq: info.lastSeq.toString() },
    };
  });
}

// --- tariff ------------------------------------------------------------------------------------------------------

export async function ledgerTariffSet(
  opts: LedgerConnectOptions & { file: string },
): Promise<TariffVersionJson & { txHash: string }> {
  const tariff = loadTariffFile(opts.file);
  return withLedger(opts, async ({ chain, deployment }) => {
    const client = await LedgerClient.create(chain, deployment);
    const { version, receipt } = await client.setTariff(tariff);
    return { ...tariffVersionToJson(version, await client.tariff(version)), txHash: receipt.transactionHash };
  });
}

export async function ledgerTariffShow(opts: LedgerConnectOptions & { version?: number }): Promise<TariffVersionJson> {
  return withLedger(opts, async ({ chain, deployment }) => {
    const reader = new LedgerReader(chain, deployment);
    const current = await reader.currentTariffVersion();
    const version = opts.version ?? current;
    if (version < 1 || version > current) {
      throw new InputError(`tariff version ${version} does not exist (versions 1..${current})`);
    }
    return tariffVersionToJson(version, await reader.tariff(version));
  });
}

export { CONTRACT_NAMES };
