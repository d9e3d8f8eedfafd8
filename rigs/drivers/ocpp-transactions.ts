import {
  type MeterSample,
  type MeterValue16,
  type MeterValue201,
  type OcppVersion,
  samplesFrom16,
  samplesFrom201,
} from '../../protocols/ocpp-meter-values.js';

/** One charging transaction as the central system took it, in one form for both protocol versions. */
export interface OcppTransaction {
  station: string;
  version: OcppVersion;
  transactionId: string;
  idToken: string;
  connector: number;
  /** Unix seconds, the station's clock. */
  start: number;
  /** When the central system took the start and the end (its received clock: a run's case time). */
  receivedStart: number;
  receivedEnd?: number;
  end?: number;
  meterStartWh?: number;
  meterStopWh?: number;
  stopReason?: string;
  /** Each with the time the central system took the message that carried it first (its received clock). */
  samples: Array<MeterSample & { received: number }>;
  /** Messages the station marked as sent from its offline queue (2.0.1 `offline`). */
  offlineMessages: number;
  /** Messages that repeated one already taken (same 2.0.1 seqNo, same 1.6 start or stop): taken once. */
  duplicates: number;
  remoteStartId?: number;
}

export interface Start16 {
  connectorId: number;
  idTag: string;
  meterStart: number;
  timestamp: string;
}
export interface Stop16 {
  transactionId: number;
  idTag?: string;
  meterStop: number;
  timestamp: string;
  reason?: string;
  transactionData?: MeterValue16[];
}
export interface TxEvent201 {
  eventType: 'Started' | 'Updated' | 'Ended';
  timestamp: string;
  seqNo: number;
  offline?: boolean;
  transactionInfo: { transactionId: string; stoppedReason?: string; remoteStartId?: number };
  idToken?: { idToken: string; type: string };
  evse?: { id: number; connectorId?: number };
  meterValue?: MeterValue201[];
}

/**
 * The transactions of every station: 1.6 StartTransaction / MeterValues / StopTransaction and 2.0.1
 * TransactionEvent read into OcppTransaction. A message a station sends again (after a lost answer, or from its
 * offline queue) is taken once and counted: the same 1.6 start gets the same transaction id back, a 2.0.1 seqNo
 * already taken changes nothing.
 */
export class TransactionBook {
  private readonly txs = new Map<string, OcppTransaction>();
  /** 1.6 StartTransaction identity (connector, token, time, register) → transaction id. */
  private readonly starts16 = new Map<string, string>();
  private readonly seqNos = new Map<string, Set<number>>();
  private next16Id = 1;

  /** `received`: the clock each transaction's first and ending messages are stamped with as they arrive. */
  constructor(private readonly received: () => number = () => Date.now() / 1000) {}

  /**
   * The book as it stood, rebuilt from a wire log (frames in the order they crossed, each stamped on the received
   * clock): every transaction call the central system answered with a result, applied again when its result went
   * out. A central system that restarts has only what it wrote down; the wire log is that record, so a transaction
   * that began before the restart goes on after it, and a message sent again is still taken once.
   */
  static fromWireLog(
    frames: ReadonlyArray<{ t: number; station: string; direction: 'in' | 'out'; frame: string }>,
    received?: () => number,
  ): TransactionBook {
    let replayedAt: number | undefined;
    const book = new TransactionBook(() => replayedAt ?? (received ?? (() => Date.now() / 1000))());
    const pending = new Map<string, { action: string; params: unknown }>();
    for (const f of frames) {
      let message: unknown;
      try {
        message = JSON.parse(f.frame);
      } catch {
        continue;
      }
      if (!Array.isArray(message)) continue;
      const id = `${f.station}\u0000${String(message[1])}`;
      if (f.direction === 'in' && message[0] === 2 && typeof message[2] === 'string')
        pending.set(id, { action: message[2], params: message[3] });
      else if (f.direction === 'out' && message[0] === 3) {
        const call = pending.get(id);
        pending.delete(id);
        if (!call) continue;
        replayedAt = f.t;
        book.take(f.station, call.action, call.params);
      }
    }
    replayedAt = undefined;
    return book;
  }

  /** A transaction message the central system answered (other actions change nothing here). */
  take(station: string, action: string, params: unknown): number | undefined {
    switch (action) {
      case 'StartTransaction':
        return this.start16(station, params as Start16);
      case 'MeterValues': {
        const p = params as { transactionId?: number; meterValue?: MeterValue16[] };
        // 2.0.1's MeterValues carry no transaction: only 1.6's belong to one.
        if (p.transactionId !== undefined) this.meterValues16(station, p.transactionId, p.meterValue ?? []);
        return undefined;
      }
      case 'StopTransaction':
        this.stop16(station, params as Stop16);
        return undefined;
      case 'TransactionEvent':
        this.event201(station, params as TxEvent201);
        return undefined;
      default:
        return undefined;
    }
  }

  all(station?: string): OcppTransaction[] {
    return [...this.txs.values()].filter((t) => station === undefined || t.station === station);
  }

  /** A 1.6 StartTransaction: the transaction id to answer (the same one for a repeat). */
  start16(station: string, p: Start16): number {
    const identity = `${station}|${p.connectorId}|${p.idTag}|${p.timestamp}|${p.meterStart}`;
    const known = this.starts16.get(identity);
    if (known) {
      this.txs.get(key(station, known))!.duplicates++;
      return Number(known);
    }
    const id = String(this.next16Id++);
    this.starts16.set(identity, id);
    this.txs.set(key(station, id), {
      station,
      version: 'ocpp1.6',
      transactionId: id,
      idToken: p.idTag,
      connector: p.connectorId,
      start: Date.parse(p.timestamp) / 1000,
      receivedStart: this.received(),
      meterStartWh: p.meterStart,
      samples: [],
      offlineMessages: 0,
      duplicates: 0,
    });
    return Number(id);
  }

  meterValues16(station: string, transactionId: number | undefined, values: readonly MeterValue16[]): void {
    const tx = transactionId !== undefined ? this.txs.get(key(station, String(transactionId))) : undefined;
    if (tx) addSamples(tx, samplesFrom16(values), this.received());
  }

  stop16(station: string, p: Stop16): void {
    const tx = this.txs.get(key(station, String(p.transactionId)));
    if (!tx) return;
    if (tx.end !== undefined) {
      tx.duplicates++;
      return;
    }
    tx.end = Date.parse(p.timestamp) / 1000;
    tx.receivedEnd = this.received();
    tx.meterStopWh = p.meterStop;
    tx.stopReason = p.reason ?? 'Local';
    addSamples(tx, samplesFrom16(p.transactionData ?? []), this.received());
  }

  event201(station: string, p: TxEvent201): void {
    const id = p.transactionInfo.transactionId;
    const k = key(station, id);
    const seen = this.seqNos.get(k) ?? new Set<number>();
    this.seqNos.set(k, seen);
    const t = Date.parse(p.timestamp) / 1000;
    let tx = this.txs.get(k);
    if (!tx) {
      tx = {
        station,
        version: 'ocpp2.0.1',
        transactionId: id,
        idToken: p.idToken?.idToken ?? '',
        connector: p.evse?.id ?? 1,
        start: t,
        receivedStart: this.received(),
        samples: [],
        offlineMessages: 0,
        duplicates: 0,
        remoteStartId: p.transactionInfo.remoteStartId,
      };
      this.txs.set(k, tx);
    }
    if (seen.has(p.seqNo)) {
      tx.duplicates++;
      return;
    }
    seen.add(p.seqNo);
    if (p.offline) tx.offlineMessages++;
    if (p.idToken && !tx.idToken) tx.idToken = p.idToken.idToken;
    const samples = samplesFrom201(p.meterValue ?? []);
    addSamples(tx, samples, this.received());
    if (p.eventType === 'Started') {
      tx.start = t;
      tx.meterStartWh ??= samples.find((s) => s.energyWh !== undefined)?.energyWh;
    }
    if (p.eventType === 'Ended') {
      tx.end = t;
      tx.receivedEnd = this.received();
      tx.stopReason = p.transactionInfo.stoppedReason ?? 'Local';
      tx.meterStopWh = [...samples].reverse().find((s) => s.energyWh !== undefined)?.energyWh ?? tx.meterStopWh;
    }
  }
}

/** A transaction's signed meter values in the order they came, each with the key sent beside it (wire form). */
export function signedValuesOf(tx: OcppTransaction): Array<{ data: string; publicKey?: string }> {
  return tx.samples.flatMap((s) =>
    s.signed.map((sv) => ({ data: sv.data, ...(sv.publicKey && { publicKey: sv.publicKey }) })),
  );
}

const key = (station: string, transactionId: string) => `${station}\u0000${transactionId}`;

/** Adds samples a station sent, once each (a repeat of the same time and register is not a second reading). */
function addSamples(tx: OcppTransaction, samples: readonly MeterSample[], received: number): void {
  for (const s of samples) {
    const same = tx.samples.find((o) => o.t === s.t && o.energyWh === s.energyWh && o.context === s.context);
    if (same) {
      for (const sv of s.signed) if (!same.signed.some((o) => o.data === sv.data)) same.signed.push(sv);
      continue;
    }
    tx.samples.push({ ...s, received });
  }
  tx.samples.sort((a, b) => a.t - b.t);
}
