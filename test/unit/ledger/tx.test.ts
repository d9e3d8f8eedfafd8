import { keccak256, Transaction, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { RigError } from '../../../core/errors.js';
import type { Chain } from '../../../ledger/chain.js';
import { TxSender } from '../../../ledger/tx.js';

type Script = (raw: string, attempt: number) => string | Error;

/** A chain that answers from a script: what eth_sendRawTransaction does on each attempt, which hashes it knows. */
function fakeChain(script: Script, opts: { nonces?: number[]; unreachable?: () => boolean } = {}) {
  const sent: string[] = [];
  const known = new Set<string>();
  const nonces = [...(opts.nonces ?? [5])];
  let receiptPolls = 0;
  const chain = {
    chainId: 1337n,
    async send<T>(method: string, params: unknown[]): Promise<T> {
      if (opts.unreachable?.()) throw transport();
      switch (method) {
        case 'eth_getTransactionCount':
          return `0x${(nonces.length > 1 ? nonces.shift()! : nonces[0]!).toString(16)}` as T;
        case 'eth_gasPrice':
          return '0x3b9aca00' as T;
        case 'eth_sendRawTransaction': {
          const raw = params[0] as string;
          sent.push(raw);
          const out = script(raw, sent.length);
          if (out instanceof Error) throw out;
          known.add(keccak256(raw));
          return out as T;
        }
        case 'eth_getTransactionByHash':
          return (known.has(params[0] as string) ? { hash: params[0] } : null) as T;
        case 'eth_getTransactionReceipt':
          receiptPolls++;
          return (
            receiptPolls < 3
              ? null
              : { transactionHash: params[0], blockNumber: '0x7', status: '0x1', gasUsed: '0x5208', from: '0x0' }
          ) as T;
        default:
          throw new Error(`unexpected ${method}`);
      }
    },
  };
  return { chain: chain as unknown as Chain, sent, known };
}

const relayer = new Wallet(`0x${'77'.repeat(32)}`);
const req = { to: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0', data: '0x1234', gasLimit: 100_000n };
const nonceOf = (raw: string) => Transaction.from(raw).nonce;
const transport = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('TxSender', () => {
  it('assigns consecutive nonces from the node and returns the hash of the signed bytes', async () => {
    const f = fakeChain((raw) => keccak256(raw));
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    const h1 = await s.send(req);
    const h2 = await s.send(req);
    expect(f.sent.map(nonceOf)).toEqual([5, 6]);
    expect([h1, h2]).toEqual(f.sent.map((r) => keccak256(r)));
  });

  it('retries a transport error with the very same signed bytes', async () => {
    const f = fakeChain((raw, attempt) => (attempt < 3 ? transport() : keccak256(raw)));
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    const hash = await s.send(req);
    expect(f.sent).toHaveLength(3);
    expect(new Set(f.sent).size).toBe(1);
    expect(hash).toBe(keccak256(f.sent[0]!));
  });

  it('after a lost response, finds the transaction on the node instead of sending another', async () => {
    let stored = false;
    const f = fakeChain((_raw, attempt) => {
      if (attempt === 1) {
        stored = true;
        return transport();
      }
      return new Error("the tx doesn't have the correct nonce. account has nonce of: 6 tx has nonce of: 5");
    });
    // The node kept the first attempt: make it known although the answer was lost.
    const send = f.chain.send.bind(f.chain);
    (f.chain as { send: Chain['send'] }).send = async <T>(m: string, p: unknown[]): Promise<T> => {
      const out = await send<T>(m, p).catch((e: unknown) => {
        if (m === 'eth_sendRawTransaction' && stored) f.known.add(keccak256(p[0] as string));
        throw e;
      });
      return out;
    };
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    const hash = await s.send(req);
    expect(new Set(f.sent).size).toBe(1);
    expect(hash).toBe(keccak256(f.sent[0]!));
  });

  it('re-signs with a fresh nonce when another sender took it', async () => {
    const f = fakeChain((raw) => (nonceOf(raw) === 5 ? new Error('nonce too low') : keccak256(raw)), {
      nonces: [5, 6],
    });
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    await s.send(req);
    expect(f.sent.map(nonceOf)).toEqual([5, 6]);
  });

  it('gives up on other errors as a RigError and reloads the nonce so later transactions do not stall', async () => {
    const f = fakeChain(
      (raw, attempt) => (attempt === 1 ? new Error('insufficient funds for gas * price + value') : keccak256(raw)),
      {
        nonces: [5, 5],
      },
    );
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    await expect(s.send(req)).rejects.toBeInstanceOf(RigError);
    await s.send(req);
    expect(f.sent.map(nonceOf)).toEqual([5, 5]);
  });

  it('after a send failed with the node unreachable, asks the node for the nonce before the next send', async () => {
    let down = false;
    const f = fakeChain((raw) => keccak256(raw), { nonces: [5, 5], unreachable: () => down });
    const s = await TxSender.create(f.chain, relayer, { retries: 2, retryDelayMs: 1 });
    down = true;
    await expect(s.send(req)).rejects.toBeInstanceOf(RigError);
    down = false;
    await s.send(req);
    // Nonce 5 never reached the node: reusing it is right; 6 would sit behind a gap and never be mined.
    expect(f.sent.map(nonceOf)).toEqual([5]);
  });

  it('polls for the receipt', async () => {
    const f = fakeChain((raw) => keccak256(raw));
    const s = await TxSender.create(f.chain, relayer, { retryDelayMs: 1 });
    const r = await s.wait(`0x${'ab'.repeat(32)}`);
    expect(r).toMatchObject({ blockNumber: 7, status: 1, gasUsed: 21000n });
  });
});
