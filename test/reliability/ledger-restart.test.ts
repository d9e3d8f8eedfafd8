/**
 * Ledger faults (issue 9): the external Ganache node (`bench ledger up --db DIR`, its own process) is SIGKILLed and
 * restarted on the same port and state directory in the middle of a stream of billing records, which two meters
 * store and forward (meter/store.ts + ReferenceMeter.forward) through the bench's LedgerSession.
 *
 * Between the client and the node sits a JSON-RPC pass-through that picks the exact moment of each kill:
 * 1. after the node mined a submission, before its answer reached the client; the node comes back while the
 *    client is still retrying (the retry meets the sequence guard: `already-landed`);
 * 2. before the node saw a submission; the node stays down past the client's retries (the record waits in the
 *    meter's store, the meter is power-cycled, the record lands after the restart);
 * 3. after the node mined a submission, answer lost, node down past the client's retries (the meter resubmits
 *    from its store after the restart: `already-landed`).
 * A verifier tails the chain by block range the whole time (polls resumed from its last block, one poll spanning
 * an outage), and the whole chain is read back at the end.
 * Kill 2 found a bug (fixed in ledger/tx.ts): after a send failed with the node down, the relayer kept its guessed
 * next nonce, one past the unused one, and its next transaction sat behind the gap forever.
 *
 * SIGKILL and Ganache's persistence: Ganache 7 keeps its chain in LevelDB under --db and has a mined block written
 * there (into the OS, not necessarily onto the disk) before it answers the request that mined it. A killed process
 * loses nothing the kernel already holds: the head after a restart is the head before the kill, same hashes
 * (asserted for every kill; 15 more kills at random moments while exploring lost nothing either). Only an OS crash
 * or power loss could drop blocks not yet on disk; a process kill cannot show that, and this test does not.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import { Mnemonic, sha256, toUtf8Bytes, type Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BillingRecord,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  type SignedBillingRecord,
  signBillingRecord,
} from '../../billing/billing-record.js';
import type { LandedBatch, LandedRecord } from '../../billing/landed.js';
import { signedBillingRecordFromJson, signedBillingRecordToJson } from '../../billing/record-json.js';
import { computeCostMicro, spreadBandMilliWh } from '../../billing/tariff.js';
import type { SubmissionOutcome } from '../../billing/verify-types.js';
import { ENTRY } from '../../core/record/entries.js';
import { LedgerSession } from '../../engine/ledger-session.js';
import { scanLedger } from '../../ledger/logs.js';
import { verifyScan } from '../../ledger/verify-chain.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import { parseMeterConfig } from '../../meter/config.js';
import { createReferenceMeter, meterOutputs } from '../../meter/factory.js';
import { meterKey } from '../../meter/identity.js';
import type { ReferenceMeter } from '../../meter/reference-meter.js';
import { BillingStore } from '../../meter/store.js';
import { freePort, startLedgerNode, stopLedgerNode } from '../support/ledger-node.js';

const debug = createDebug('bench:test:ledger-restart');
const MNEMONIC = Mnemonic.fromEntropy(sha256(toUtf8Bytes('bench ledger-restart test')).slice(0, 34)).phrase;
const RECORDS_PER_METER = 50;
const METER_IDS = ['house-1', 'house-2'];
const SEED = 9;
const T0 = BigInt(Date.UTC(2026, 0, 6, 18) / 1000);
const dir = mkdtempSync(join(tmpdir(), 'ledger-restart-'));
const dbPath = join(dir, 'chain-db');
const config = parseMeterConfig({});

let nodePort: number;
let node: ChildProcess | undefined;
let proxy: RpcPassThrough;
let session: LedgerSession;

const startNode = () => startLedgerNode({ port: nodePort, dbPath, env: { BENCH_LEDGER_MNEMONIC: MNEMONIC } });

// --- the JSON-RPC pass-through that times the kills ---------------------------------------------------------------

type TrapMoment = 'after-mined' | 'before-seen';

/** What the pass-through does with the client's requests once the node is dead. */
type AfterKill = 'hold' | 'refuse';

interface Sprung {
  /** The submission whose answer the client never got (mined at the kill). */
  txHash?: string;
  headBefore: Block;
  killedAt: number;
}

interface Trap {
  moment: TrapMoment;
  after: AfterKill;
  sprung: (t: Sprung) => void;
}

interface Block {
  number: number;
  hash: string;
}

/** Forwards JSON-RPC to the node; on an armed trap kills the node at the chosen moment of a submission. */
class RpcPassThrough {
  private server?: Server;
  port = 0;
  private trap?: Trap;
  /** While set, requests wait here (the node is being restarted) instead of failing. */
  private holding?: Array<() => void>;
  submissions = 0;

  async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Kills the node at `moment` of the next submission and drops the client's connection; resolves once the node
   * is dead. Afterwards requests wait for release() (`hold`: the node is restarting) or fail (`refuse`).
   */
  arm(moment: TrapMoment, after: AfterKill): Promise<Sprung> {
    return new Promise((sprung) => {
      this.trap = { moment, after, sprung };
    });
  }

  release(): void {
    const waiting = this.holding ?? [];
    this.holding = undefined;
    for (const go of waiting) go();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    if (this.holding) await new Promise<void>((go) => this.holding!.push(go));
    const calls = [JSON.parse(body)].flat() as Array<{ method: string }>;
    const isSubmission = calls.some((c) => /^eth_send(Raw)?Transaction$/.test(c.method));
    const trap = isSubmission ? this.trap : undefined;
    if (isSubmission) this.submissions++;
    if (trap) this.trap = undefined;
    if (trap?.moment === 'before-seen') {
      const headBefore = await nodeHead();
      await stopLedgerNode(node, 'SIGKILL');
      if (trap.after === 'hold') this.holding = [];
      req.socket.destroy();
      trap.sprung({ headBefore, killedAt: Date.now() });
      return;
    }
    let answer: string;
    try {
      answer = await upstream(body);
    } catch {
      req.socket.destroy(); // the node is down: the client sees its connection drop
      return;
    }
    if (trap) {
      const headBefore = await nodeHead();
      await stopLedgerNode(node, 'SIGKILL');
      if (trap.after === 'hold') this.holding = [];
      req.socket.destroy(); // mined, but the answer never reaches the client
      const txHash = (JSON.parse(answer) as { result?: string }).result;
      trap.sprung({ txHash, headBefore, killedAt: Date.now() });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer);
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function upstream(body: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${nodePort}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return r.text();
}

async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const out = JSON.parse(await upstream(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }))) as {
    result: T;
  };
  return out.result;
}

async function blockAt(n: number): Promise<Block | undefined> {
  const b = await rpc<{ number: string; hash: string } | null>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
  return b ? { number: Number(b.number), hash: b.hash } : undefined;
}

async function nodeHead(): Promise<Block> {
  return (await blockAt(Number(await rpc<string>('eth_blockNumber', []))))!;
}

// --- meters with durable stores -----------------------------------------------------------------------------------

interface BenchMeter {
  id: string;
  key: Wallet;
  file: string;
  store: BillingStore;
  meter: ReferenceMeter;
  nextSeq: bigint;
  emitted: SignedBillingRecord[];
  logs: string[];
}

function powerUp(m: Omit<BenchMeter, 'store' | 'meter'> & Partial<BenchMeter>): BenchMeter {
  const store = new BillingStore(m.file);
  const meter = createReferenceMeter({
    config,
    identity: {
      meterId: m.id,
      hostContractId: `C-${m.id.toUpperCase()}`,
      epochS: Number(T0),
      key: m.key,
      domain: session.domain,
      tariff: session.tariff,
      tariffVersion: session.tariffVersion,
      seed: SEED,
    },
    signatures: [],
    outputs: meterOutputs({ log: (l) => m.logs.push(l.code) }),
    store,
  });
  return Object.assign(m, { store, meter });
}

/** A meter power cycle: the store is reopened from its file, the meter rebuilt around it. */
function powerCycle(m: BenchMeter): void {
  m.store.close();
  powerUp(m);
}

/** Bills one session the way ReferenceMeter.bill does: signed, appended and fsynced before any forwarding. */
async function bill(m: BenchMeter): Promise<void> {
  const seq = m.nextSeq++;
  const r: BillingRecord = {
    meter: m.key.address,
    seq,
    payer: pseudonym(`C-EV-${seq % 3n}`, config.pseudonymSalt),
    host: pseudonym(`C-${m.id.toUpperCase()}`, config.pseudonymSalt),
    start: T0 + seq * 5400n,
    end: T0 + seq * 5400n + 2700n,
    importMilliWh: 7_400_000n + seq * 13n,
    exportMilliWh: 0n,
    costMicro: 0n,
    tariffVersion: BigInt(session.tariffVersion),
    loadClass: loadClassId('ev-3ph-11kw'),
    attributed: true,
    version: RECORD_VERSION_BANDS,
    bandMilliWh: [] as bigint[],
  };
  r.bandMilliWh = spreadBandMilliWh(session.tariff, r);
  r.costMicro = computeCostMicro(session.tariff, r);
  const signed = await signBillingRecord(m.key, session.domain, r);
  m.store.append(seq.toString(), signedBillingRecordToJson(signed));
  m.emitted.push(signed);
}

// --- the verifier's tail ------------------------------------------------------------------------------------------

/** Reads the chain by block range, each poll resumed from where the last one stopped. */
class VerifierTail {
  next: number;
  readonly records: LandedRecord[] = [];
  readonly batches: LandedBatch[] = [];
  readonly polls: Array<{ fromBlock: number; toBlock: number; records: number }> = [];

  constructor(fromBlock: number) {
    this.next = fromBlock;
  }

  async poll(): Promise<void> {
    const scan = await scanLedger(session.chain, session.deployment, {
      fromBlock: this.next,
      retries: 200,
      retryDelayMs: 50,
    });
    this.records.push(...scan.records);
    this.batches.push(...scan.batches);
    this.polls.push({ fromBlock: scan.fromBlock, toBlock: scan.toBlock, records: scan.records.length });
    this.next = scan.nextBlock;
  }
}

// --- the run ------------------------------------------------------------------------------------------------------

const submissions: SubmissionOutcome[] = [];
const meters: BenchMeter[] = [];
const kills: Array<{
  moment: TrapMoment;
  headBefore: Block;
  headAfter: Block;
  lostAnswerTx?: string;
  downMs: number;
  blocksLost: number;
}> = [];
let tail: VerifierTail;
let forwarder: LedgerForwarder;

beforeAll(async () => {
  nodePort = await freePort();
  node = await startNode();
  proxy = new RpcPassThrough();
  await proxy.listen();
  session = await LedgerSession.open({ ledger: proxy.url });
  const sink = session.sink((kind, data) => {
    if (kind !== ENTRY.ledgerSubmission) return;
    submissions.push({
      meter: String(data.meter),
      seq: BigInt(String(data.seq)),
      status: data.status as SubmissionOutcome['status'],
      reason: data.reason as string | undefined,
    });
  });
  forwarder = { submit: (signed) => sink.submit(signedBillingRecordFromJson(signed)) };
  for (const id of METER_IDS) {
    const m = powerUp({
      id,
      key: meterKey(SEED, id),
      file: join(dir, `${id}.billing.jsonl`),
      nextSeq: 1n,
      emitted: [],
      logs: [],
    });
    await session.registerMeter(
      m.key.address,
      pseudonym(`C-${id.toUpperCase()}`, config.pseudonymSalt),
      m.meter.firmwareHash,
      true,
    );
    meters.push(m);
  }
  tail = new VerifierTail(session.deployment.deployedAtBlock);
});

afterAll(async () => {
  for (const m of meters) m.store.close();
  await session?.close();
  await proxy?.close();
  await stopLedgerNode(node, 'SIGKILL');
});

/** Restarts the node on the same port and state directory, and notes what the kill did to the chain. */
async function restart(moment: TrapMoment, k: Sprung): Promise<void> {
  node = await startNode();
  const downMs = Date.now() - k.killedAt;
  const headAfter = await nodeHead();
  kills.push({
    moment,
    headBefore: k.headBefore,
    headAfter,
    lostAnswerTx: k.txHash,
    downMs,
    blocksLost: Math.max(0, k.headBefore.number - headAfter.number),
  });
}

/** One billing period: every meter bills one session and forwards its backlog. */
async function period(): Promise<BenchMeter | undefined> {
  let down: BenchMeter | undefined;
  for (const m of meters) {
    await bill(m);
    if (down) continue; // the ledger is known to be down: this meter's retry timer has not fired yet
    await m.meter.forward(forwarder, 0);
    if (m.meter.backlog > 0) down = m;
  }
  return down;
}

const landedOnChain = () => scanLedger(session.chain, session.deployment);

describe('ledger node SIGKILLed and restarted under a stream of billing records', () => {
  it(`2 meters × ${RECORDS_PER_METER} records through the meters' stores, the node killed 3 times`, async () => {
    const killAt = new Map<number, { moment: TrapMoment; outage: 'short' | 'long' }>([
      [12, { moment: 'after-mined', outage: 'short' }],
      [25, { moment: 'before-seen', outage: 'long' }],
      [38, { moment: 'after-mined', outage: 'long' }],
    ]);
    for (let p = 1; meters[0]!.nextSeq <= RECORDS_PER_METER; p++) {
      const kill = killAt.get(p);
      if (kill?.outage === 'short') {
        // The node dies right after mining; it is back while the client still retries the lost answer.
        const sprung = proxy.arm(kill.moment, 'hold').then(async (k) => {
          await restart(kill.moment, k);
          proxy.release();
        });
        expect(await period()).toBeUndefined();
        await sprung;
      } else if (kill) {
        // The node stays down past the client's retries; the meters keep what they bill in their stores.
        const sprung = proxy.arm(kill.moment, 'refuse');
        const down = await period();
        const k = await sprung;
        // Meter 1 forwards first, so its submission is the one caught by the kill.
        expect(down, `period ${p}: the meter must notice the outage`).toBe(meters[0]);
        expect(down!.logs.at(-1)).toBe('ledger-unreachable');
        // The meters keep billing while the ledger is down: two more periods go to the stores only.
        for (const m of meters) for (let i = 0; i < 2; i++) await bill(m);
        expect(meters.map((m) => m.meter.backlog)).toEqual([3, 3]);
        // Power cycle: each store is reopened from its file and queues exactly what was never acknowledged.
        for (const m of meters) powerCycle(m);
        expect(meters.map((m) => m.meter.backlog)).toEqual([3, 3]);
        // A verifier poll started while the node is down waits for it and resumes from its last block.
        const polling = tail.poll();
        await restart(kill.moment, k);
        await polling;
        for (const m of meters) await m.meter.forward(forwarder, 0);
        expect(meters.map((m) => m.meter.backlog)).toEqual([0, 0]);
      } else {
        expect(await period()).toBeUndefined();
      }
      await tail.poll();
    }
    expect(kills.map((k) => k.moment)).toEqual(['after-mined', 'before-seen', 'after-mined']);
    debug(
      '%d submissions, %d sends reached the pass-through; kills %o; %d tail polls',
      submissions.length,
      proxy.submissions,
      kills.map((k) => ({ moment: k.moment, head: k.headBefore.number, downMs: k.downMs, blocksLost: k.blocksLost })),
      tail.polls.length,
    );
  });

  it('no block was lost by a SIGKILL: same head and hashes after each restart, lost answers mined', async () => {
    for (const k of kills) {
      expect(k.blocksLost).toBe(0);
      expect(k.headAfter).toEqual(k.headBefore);
      expect(await blockAt(k.headBefore.number)).toEqual(k.headBefore);
      if (k.lostAnswerTx) {
        const receipt = await rpc<{ status: string } | null>('eth_getTransactionReceipt', [k.lostAnswerTx]);
        expect(receipt?.status, 'the submission whose answer was lost is on the chain').toBe('0x1');
      }
    }
  });

  it('every record landed exactly once, in sequence; every store is drained', async () => {
    const full = await landedOnChain();
    const keys = full.records.map((l) => `${l.record.meter}#${l.record.seq}`);
    expect(keys).toHaveLength(METER_IDS.length * RECORDS_PER_METER);
    expect(new Set(keys).size).toBe(keys.length);
    for (const m of meters) {
      expect(m.emitted).toHaveLength(RECORDS_PER_METER);
      expect(full.records.filter((l) => l.record.meter === m.key.address).map((l) => l.record.seq)).toEqual(
        m.emitted.map((s) => s.record.seq),
      );
      const reopened = new BillingStore(m.file);
      expect(reopened.backlog).toBe(0);
      reopened.close();
    }
  });

  it("the verifier's tail resumed from its last block across the restarts and saw exactly the chain", async () => {
    const full = await landedOnChain();
    const pos = (l: LandedRecord) => `${l.blockNumber}:${l.logIndex}:${l.txHash}`;
    expect(tail.records.map(pos)).toEqual(full.records.map(pos));
    for (let i = 1; i < tail.polls.length; i++) expect(tail.polls[i]!.fromBlock).toBe(tail.polls[i - 1]!.toBlock + 1);
    const v = await verifyScan(
      session.chain,
      session.deployment,
      {
        fromBlock: session.deployment.deployedAtBlock,
        toBlock: tail.next - 1,
        nextBlock: tail.next,
        records: tail.records,
        batches: tail.batches,
      },
      { observed: meters.flatMap((m) => m.emitted), submissions },
    );
    expect(v.issues).toEqual([]);
    expect(v.counts).toMatchObject({
      landed: 100,
      observed: 100,
      verified: 100,
      duplicates: 0,
      missing: 0,
      sequenceErrors: 0,
    });
  });

  it('the submitter never double-submitted: copies after a lost answer were refused and reported already landed', async () => {
    const full = await landedOnChain();
    // Kill 1: the client's own retry (a fresh nonce after "nonce too low"); kill 3: the meter's resend from its
    // store. Both met the contract's sequence guard; the record stands once, in the transaction whose answer was lost.
    const already = submissions.filter((s) => s.status === 'already-landed');
    expect(already.map((s) => [s.meter, s.seq, s.reason])).toEqual([
      [meters[0]!.key.address, 12n, 'SequenceMismatch'],
      [meters[0]!.key.address, 40n, 'SequenceMismatch'],
    ]);
    const landedTx = (a: { meter: string; seq: bigint }) =>
      full.records.find((l) => l.record.meter === a.meter && l.record.seq === a.seq)?.txHash;
    expect(already.map(landedTx)).toEqual(kills.flatMap((k) => (k.lostAnswerTx ? [k.lostAnswerTx] : [])));
    expect(submissions.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(submissions.filter((s) => s.status === 'landed')).toHaveLength(100 - already.length);
  });
});
