/**
 * Chains the ledger talks to: an embedded in-process Ganache (default; chainId 1337, quiet, deterministic
 * accounts from a mnemonic) or any EVM JSON-RPC endpoint. Ganache is imported lazily so `bench --help` stays fast.
 * Accounts: the relayer (account 0 by default) pays gas and owns the registries; meters only sign.
 */
import createDebug from 'debug';
import { type AbstractSigner, HDNodeWallet, JsonRpcProvider, Network, Wallet } from 'ethers';
import { RigError } from '../core/errors.js';
import { withTransportRetry } from './retry.js';
import { redact, registerSecret } from './secrets.js';

const debug = createDebug('bench:ledger');

/**
 * Default mnemonic of the lab chain (the well-known Hardhat/Anvil test mnemonic): its keys are public, so it is for
 * test chains only. Pass your own with --mnemonic / $BENCH_LEDGER_MNEMONIC.
 */
export const DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';
export const EMBEDDED_CHAIN_ID = 1337n;
export const DEFAULT_ACCOUNTS = 10;
const HD_BASE_PATH = "m/44'/60'/0'/0";

export interface Chain {
  readonly kind: 'embedded' | 'external';
  /** JSON-RPC URL (external chains and `bench ledger up` servers). */
  readonly url?: string;
  readonly chainId: bigint;
  /** ethers provider over the same connection (for ethers Contract reads). */
  readonly provider: JsonRpcProvider | import('ethers').BrowserProvider;
  /** One raw JSON-RPC request; errors are RigErrors (secrets redacted), reverts keep their revert data. */
  send<T = unknown>(method: string, params: unknown[]): Promise<T>;
  /** Signer `index` (0 = relayer/owner): a local key from the mnemonic or --relayer-key, else the node's account. */
  account(index?: number): Promise<AbstractSigner>;
  /** Address of account `index` without exposing a key. */
  address(index?: number): Promise<string>;
  close(): Promise<void>;
}

export interface EmbeddedChainOptions {
  mnemonic?: string;
  /** Directory for persistent chain state; omitted = in memory. */
  dbPath?: string;
  /** An abstract-leveldown store instance for the chain state (e.g. memdown), instead of `dbPath`. */
  db?: unknown;
  accounts?: number;
}

export interface AccountOptions {
  mnemonic?: string;
  /** A relayer private key for chains without known accounts; used as account 0. */
  relayerKey?: string;
}

/** Ganache options shared by the embedded provider and the `bench ledger up` server. */
export function ganacheOptions(opts: EmbeddedChainOptions): Record<string, unknown> {
  return {
    chain: { chainId: Number(EMBEDDED_CHAIN_ID), hardfork: 'shanghai' },
    logging: { quiet: true },
    wallet: {
      mnemonic: opts.mnemonic ?? DEFAULT_MNEMONIC,
      totalAccounts: opts.accounts ?? DEFAULT_ACCOUNTS,
      defaultBalance: 1_000_000,
    },
    miner: { instamine: 'eager' },
    ...(opts.dbPath ? { database: { dbPath: opts.dbPath } } : opts.db ? { database: { db: opts.db } } : {}),
  };
}

class HdAccounts {
  private readonly root?: HDNodeWallet;
  private readonly cache = new Map<number, Wallet | HDNodeWallet>();
  constructor(private readonly opts: AccountOptions) {
    registerSecret(opts.mnemonic);
    registerSecret(opts.relayerKey);
    if (opts.mnemonic) {
      try {
        this.root = HDNodeWallet.fromPhrase(opts.mnemonic, undefined, HD_BASE_PATH);
      } catch {
        throw new RigError('the mnemonic is not a valid BIP-39 phrase', { code: 'BAD_MNEMONIC', device: 'ledger' });
      }
    }
  }
  has(index: number): boolean {
    return (index === 0 && !!this.opts.relayerKey) || !!this.root;
  }
  wallet(index: number): Wallet | HDNodeWallet {
    const hit = this.cache.get(index);
    if (hit) return hit;
    let w: Wallet | HDNodeWallet;
    if (index === 0 && this.opts.relayerKey) {
      try {
        w = new Wallet(this.opts.relayerKey);
      } catch {
        throw new RigError('the relayer key is not a valid secp256k1 private key', {
          code: 'BAD_KEY',
          device: 'ledger',
        });
      }
    } else if (this.root) {
      w = this.root.deriveChild(index);
    } else {
      throw new RigError(`no key for account ${index}`, { code: 'NO_ACCOUNT', device: 'ledger' });
    }
    registerSecret(w.privateKey);
    this.cache.set(index, w);
    return w;
  }
}

/** Wraps a foreign error (ethers, node, ganache) as a RigError, keeping revert data, dropping secrets. */
export function chainError(e: unknown, device: string, what: string): RigError & { revertData?: string } {
  const err = e as { message?: string; code?: string; data?: unknown; error?: { data?: unknown; message?: string } };
  const message = redact(err?.error?.message ?? err?.message ?? String(e));
  const out = new RigError(`${what}: ${message}`, { code: 'CHAIN', device }) as RigError & { revertData?: string };
  const data = findRevertData(e);
  if (data) out.revertData = data;
  return out;
}

/** Revert data in the many shapes ethers, ganache and other nodes use. */
export function findRevertData(e: unknown, depth = 0): string | undefined {
  if (depth > 4 || e === null || typeof e !== 'object') return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.data === 'string' && /^0x[0-9a-fA-F]*$/.test(o.data) && o.data.length >= 10) return o.data;
  if (typeof o.data === 'object' && o.data !== null) {
    const d = o.data as Record<string, unknown>;
    if (typeof d.result === 'string' && d.result.startsWith('0x')) return d.result;
    if (typeof d.data === 'string' && d.data.startsWith('0x')) return d.data;
    const nested = findRevertData(d, depth + 1);
    if (nested) return nested;
  }
  for (const k of ['error', 'info', 'cause']) {
    const nested = findRevertData(o[k], depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

async function memoryStore(): Promise<unknown> {
  // @ts-expect-error memdown ships no type declarations
  const { default: memdown } = (await import('memdown')) as { default: () => unknown };
  return memdown();
}

/** In-process Ganache. */
export async function startEmbeddedChain(opts: EmbeddedChainOptions = {}): Promise<Chain> {
  const mnemonic = opts.mnemonic ?? DEFAULT_MNEMONIC;
  const accounts = new HdAccounts({ mnemonic });
  const { default: ganache } = await import('ganache');
  const { BrowserProvider } = await import('ethers');
  // In memory, Ganache's default store is a LevelDB in a temp directory; MemDOWN (which Ganache documents as the
  // alternative store) keeps it in the heap and makes every transaction about 1.7x faster.
  const db = opts.db ?? (opts.dbPath ? undefined : await memoryStore());
  let eip1193: ReturnType<typeof ganache.provider>;
  try {
    eip1193 = ganache.provider(ganacheOptions({ ...opts, mnemonic, db }) as never);
    await eip1193.request({ method: 'eth_chainId', params: [] });
  } catch (e) {
    throw chainError(e, 'embedded ganache', 'cannot start the embedded chain');
  }
  const network = Network.from(EMBEDDED_CHAIN_ID);
  const provider = new BrowserProvider(eip1193 as never, network, {
    staticNetwork: network,
    batchMaxCount: 1,
  } as never);
  debug('embedded ganache started (chainId %s%s)', EMBEDDED_CHAIN_ID, opts.dbPath ? `, db ${opts.dbPath}` : '');
  let closed = false;
  return {
    kind: 'embedded',
    chainId: EMBEDDED_CHAIN_ID,
    provider,
    async send<T>(method: string, params: unknown[]): Promise<T> {
      try {
        return (await eip1193.request({ method, params } as never)) as T;
      } catch (e) {
        throw chainError(e, 'embedded ganache', method);
      }
    },
    async account(index = 0) {
      return accounts.wallet(index).connect(provider);
    },
    async address(index = 0) {
      return accounts.wallet(index).address;
    },
    async close() {
      if (closed) return;
      closed = true;
      provider.destroy();
      await eip1193.disconnect();
    },
  };
}

/** Any EVM JSON-RPC endpoint (Ganache server, Hardhat or Anvil node, Besu, ...). Probes it first. */
export async function connectChain(url: string, opts: AccountOptions & { timeoutMs?: number } = {}): Promise<Chain> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RigError(`"${url}" is not a JSON-RPC URL`, { code: 'BAD_URL', device: 'ledger' });
  }
  if (!/^https?:$/.test(parsed.protocol)) {
    throw new RigError(`"${url}" is not an http(s) JSON-RPC URL`, { code: 'BAD_URL', device: 'ledger' });
  }
  const device = `ledger ${parsed.origin}`;
  const accounts = new HdAccounts(opts);
  // A few quick retries: a pooled keep-alive socket to a restarted node fails once (UND_ERR_SOCKET).
  const chainIdHex = await withTransportRetry(
    () => rawRpc<string>(url, 'eth_chainId', [], opts.timeoutMs ?? 5000, device),
    2,
    150,
  );
  const chainId = BigInt(chainIdHex);
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 1 });
  debug('connected to %s (chainId %s)', parsed.origin, chainId);
  let closed = false;
  return {
    kind: 'external',
    url,
    chainId,
    provider,
    async send<T>(method: string, params: unknown[]): Promise<T> {
      try {
        return (await provider.send(method, params)) as T;
      } catch (e) {
        throw chainError(e, device, method);
      }
    },
    async account(index = 0) {
      if (accounts.has(index)) return accounts.wallet(index).connect(provider);
      return provider.getSigner(index);
    },
    async address(index = 0) {
      if (accounts.has(index)) return accounts.wallet(index).address;
      return (await provider.getSigner(index)).getAddress();
    },
    async close() {
      if (closed) return;
      closed = true;
      provider.destroy();
    },
  };
}

/** One JSON-RPC request over fetch with a timeout; connection problems become RigError CHAIN_UNREACHABLE. */
export async function rawRpc<T>(
  url: string,
  method: string,
  params: unknown[],
  timeoutMs: number,
  device: string,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (e as Error).message;
    throw new RigError(`chain unreachable (${cause})`, {
      code: 'CHAIN_UNREACHABLE',
      device,
      actions: ['Start the node (e.g. `bench ledger up`) or check the --ledger URL.'],
    });
  }
  if (!res.ok)
    throw new RigError(`HTTP ${res.status} from the JSON-RPC endpoint`, { code: 'CHAIN_UNREACHABLE', device });
  const body = (await res.json().catch(() => undefined)) as { result?: T; error?: { message?: string } } | undefined;
  if (!body || body.error || body.result === undefined) {
    throw new RigError(`${method} failed: ${redact(body?.error?.message ?? 'not a JSON-RPC response')}`, {
      code: 'CHAIN',
      device,
    });
  }
  return body.result;
}

/**
 * Opens the chain a command asked for: `--ledger URL` or the embedded one. On an external chain the accounts are
 * the mnemonic's (when given), the relayer key as account 0 (when given, or from $BENCH_RELAYER_KEY), else the
 * node's own unlocked accounts.
 */
export async function openChain(opts: {
  ledger?: string;
  mnemonic?: string;
  relayerKey?: string;
  dbPath?: string;
}): Promise<Chain> {
  if (opts.ledger) {
    const relayerKey = opts.relayerKey ?? (process.env.BENCH_RELAYER_KEY || undefined);
    return connectChain(opts.ledger, { mnemonic: opts.mnemonic, relayerKey });
  }
  return startEmbeddedChain({ mnemonic: opts.mnemonic, dbPath: opts.dbPath });
}
