/**
 * Sending transactions with explicit nonces and retries that can never double-submit: a transaction is signed
 * once, and a retry re-sends the very same signed bytes (same hash), so a node that already has it either answers
 * "known" or ignores it. The contract's per-meter sequence check is the final guard on top.
 */
import createDebug from 'debug';
import { type AbstractSigner, BaseWallet, toQuantity } from 'ethers';
import { RigError } from '../core/errors.js';
import { type Chain, findRevertData } from './chain.js';
import { isTransportError, sleep, withTransportRetry } from './retry.js';

const debug = createDebug('bench:ledger:tx');

export interface TxRequest {
  /** Omitted for a contract creation. */
  to?: string;
  data: string;
  gasLimit: bigint;
  /** Wei sent along (value transfers); default 0. */
  value?: bigint;
}

export interface Receipt {
  transactionHash: string;
  blockNumber: number;
  status: number;
  gasUsed: bigint;
  contractAddress?: string | null;
  from: string;
}

export interface SendOptions {
  /** Re-sends of the same signed transaction on transport errors. */
  retries?: number;
  retryDelayMs?: number;
}

interface RawReceipt {
  transactionHash: string;
  blockNumber: string;
  status: string;
  gasUsed: string;
  contractAddress?: string | null;
  from: string;
}

function isKnownTxError(e: unknown): boolean {
  return /already known|known transaction|already imported|transaction already in|nonce too low|correct nonce|AlreadyKnown/i.test(
    String((e as Error)?.message ?? e),
  );
}

export class TxSender {
  private nonce = 0;
  private gasPrice = 0n;
  /** The next nonce is not known: a send failed and the node could not be asked (it was down) afterwards. */
  private stale = true;
  private sending: Promise<unknown> = Promise.resolve();
  private constructor(
    private readonly chain: Chain,
    private readonly signer: AbstractSigner,
    readonly from: string,
    private readonly opts: Required<SendOptions>,
  ) {}

  static async create(chain: Chain, signer: AbstractSigner, opts: SendOptions = {}): Promise<TxSender> {
    const from = await signer.getAddress();
    const s = new TxSender(chain, signer, from, { retries: opts.retries ?? 8, retryDelayMs: opts.retryDelayMs ?? 250 });
    await s.resync();
    return s;
  }

  /** Reloads the next nonce and gas price from the node (after an outage or a foreign transaction). */
  async resync(): Promise<void> {
    this.nonce = Number(
      await this.withRetry(() => this.chain.send<string>('eth_getTransactionCount', [this.from, 'pending'])),
    );
    const price = BigInt(await this.withRetry(() => this.chain.send<string>('eth_gasPrice', [])));
    this.gasPrice = price * 2n > 0n ? price * 2n : 1_000_000_000n;
    this.stale = false;
  }

  /**
   * Assigns the next nonce, signs once and sends; returns the transaction hash. Sends from one account go out one
   * after another, in nonce order: concurrent callers could otherwise reach the node out of order, and a
   * transaction that arrives before its predecessor waits behind a gap (Ganache's eager instamine then never answers
   * it). Receipts are still awaited in parallel.
   */
  send(req: TxRequest): Promise<string> {
    const run = () => this.sendInOrder(req);
    const sent = this.sending.then(run, run);
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  private async sendInOrder(req: TxRequest): Promise<string> {
    // A send that failed while the node was unreachable may or may not have used its nonce: ask the node before
    // the next one. Guessing would either reuse a nonce or leave a gap, and a transaction behind a gap is never
    // mined (Ganache's eager instamine does not even answer it).
    if (this.stale) await this.resync();
    for (let attempt = 0; ; attempt++) {
      const nonce = this.nonce++;
      try {
        return await this.sendWithNonce(req, nonce);
      } catch (e) {
        if (e instanceof NonceTakenError && attempt < 3) {
          debug('nonce %d was taken by another transaction; resyncing', nonce);
          await this.resync();
          continue;
        }
        // The nonce may not have been used on chain: reload it so later transactions do not wait behind a gap
        // (when the node cannot be asked now, the next send asks first).
        this.stale = true;
        await this.resync().catch(() => undefined);
        throw e;
      }
    }
  }

  private async sendWithNonce(req: TxRequest, nonce: number): Promise<string> {
    const tx = {
      to: req.to ?? null,
      data: req.data,
      nonce,
      gasLimit: req.gasLimit,
      gasPrice: this.gasPrice,
      chainId: this.chain.chainId,
      type: 0,
      value: req.value ?? 0n,
    };
    if (this.signer instanceof BaseWallet) {
      const raw = await this.signer.signTransaction(tx);
      const { keccak256 } = await import('ethers');
      const hash = keccak256(raw);
      return this.sendOnce(hash, () => this.chain.send<string>('eth_sendRawTransaction', [raw]));
    }
    // A node-managed account (eth_sendTransaction): the same fields on every attempt.
    const params = {
      from: this.from,
      ...(req.to ? { to: req.to } : {}),
      data: req.data,
      value: toQuantity(req.value ?? 0n),
      nonce: toQuantity(nonce),
      gas: toQuantity(req.gasLimit),
      gasPrice: toQuantity(this.gasPrice),
    };
    return this.sendOnce(undefined, () => this.chain.send<string>('eth_sendTransaction', [params]), nonce);
  }

  private async sendOnce(hash: string | undefined, submit: () => Promise<string>, nonce?: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const got = await submit();
        return hash ?? got;
      } catch (e) {
        // Nodes that report reverts on send (Hardhat automine) still mined the transaction.
        if (hash && findRevertData(e)) return hash;
        // After a lost response the node may already hold (or have mined) these very bytes: that is success.
        if (hash && attempt > 0 && (await this.chain.send('eth_getTransactionByHash', [hash]).catch(() => null))) {
          return hash;
        }
        if (isKnownTxError(e)) {
          if (hash && (await this.chain.send('eth_getTransactionByHash', [hash]).catch(() => null))) return hash;
          throw new NonceTakenError(nonce);
        }
        if (isTransportError(e) && attempt < this.opts.retries) {
          debug('send failed (%s), retrying the same signed transaction', (e as Error).message);
          await sleep(this.opts.retryDelayMs * (attempt + 1));
          continue;
        }
        throw e instanceof RigError
          ? e
          : new RigError(String((e as Error).message), { code: 'CHAIN', device: 'ledger' });
      }
    }
  }

  /** Waits for the receipt (polling; instamine chains answer at once). */
  async wait(hash: string, timeoutMs = 120_000): Promise<Receipt> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 0; ; delay = Math.min(delay * 2 || 20, 500)) {
      const r = await this.withRetry(() => this.chain.send<RawReceipt | null>('eth_getTransactionReceipt', [hash]));
      if (r) {
        return {
          transactionHash: r.transactionHash,
          blockNumber: Number(r.blockNumber),
          status: Number(r.status),
          gasUsed: BigInt(r.gasUsed),
          contractAddress: r.contractAddress,
          from: r.from,
        };
      }
      if (Date.now() > deadline) {
        throw new RigError(`transaction ${hash} not mined within ${timeoutMs / 1000} s`, {
          code: 'TX_TIMEOUT',
          device: 'ledger',
        });
      }
      await sleep(delay);
    }
  }

  async sendAndWait(req: TxRequest): Promise<Receipt> {
    return this.wait(await this.send(req));
  }

  /** Runs a read with the transport retries (used for idempotent reads). */
  async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return withTransportRetry(fn, this.opts.retries, this.opts.retryDelayMs);
  }
}

class NonceTakenError extends Error {
  constructor(nonce?: number) {
    super(`nonce ${nonce ?? '?'} already used`);
  }
}
