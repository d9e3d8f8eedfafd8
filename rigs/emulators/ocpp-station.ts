import { createRequire } from 'node:module';
import createDebug from 'debug';
import type { RPCClient } from 'ocpp-rpc';
import { ocaPublicKey, ocmfPublicKey, ocmfReading, p256PublicKeyHex, signOcmf } from '../../protocols/ocmf.js';
import { meterValueOf, type OcppVersion } from '../../protocols/ocpp-meter-values.js';

const debug = createDebug('bench:ocpp-station');

/**
 * An emulated charging station: an OCPP-J client (ocpp-rpc, the library the bench's central system uses, with the
 * same strict schema validation) around a meter register, signing its begin and end readings in OCMF with a P-256
 * key as an Eichrecht station does. It authorises a token, runs transactions locally or on the central system's
 * remote start/stop, and reports meter values in the form of its protocol version.
 */
export interface StationOptions {
  url: string;
  identity: string;
  version: OcppVersion;
  password?: string;
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  meterSerial?: string;
  /** P-256 private key (hex) the meter signs OCMF with. */
  ocmfKeyHex: string;
  /** The meter's register (Wh) and power (W) now. */
  energyWh: () => number;
  powerW?: () => number;
  /** The station's clock, unix seconds. */
  now?: () => number;
  /** TLS options for wss:// (e.g. the CA that signed the bench's certificate). */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  reconnect?: boolean;
  /** Faults a station under test can have, so the bench can be shown to catch each (see STATION_FAULTS). */
  faults?: readonly StationFault[];
}

/**
 * What can be wrong with a charging station, one knob each: signing with a key other than the one it sends, a
 * reading changed after signing, no signed values at all, a meter clock not synchronised, the end of a
 * transaction never sent, a second transaction for one session, a transaction under another token than the one
 * authorised, a register going back between periodic meter values, a meter-values interval accepted but not
 * applied, a remote stop refused, and a station booting as another model than its nameplate.
 */
export const STATION_FAULTS = [
  'wrong-key',
  'tampered-reading',
  'no-signature',
  'clock-unsynchronised',
  'stop-lost',
  'transaction-twice',
  'wrong-idtag',
  'non-monotonic',
  'interval-ignored',
  'remote-stop-refused',
  'wrong-identity',
] as const;
export type StationFault = (typeof STATION_FAULTS)[number];

/** Another P-256 key than any station's: what a `wrong-key` station signs with. */
const OTHER_KEY_HEX = '0f'.repeat(32);

export interface StationTransaction {
  id: string;
  idToken: string;
  meterStartWh: number;
  start: number;
  seqNo: number;
  /** The signed begin record, once started. */
  beginOcmf: string;
}

export class EmulatedStation {
  readonly client: RPCClient;
  private readonly now: () => number;
  private pagination = 1;
  private txCounter = 1;
  transaction?: StationTransaction;
  /** Set by the central system's remote start: the token the next transaction is for. */
  onRemoteStart?: (idToken: string) => void;
  onRemoteStop?: () => void;
  /** The central system set the interval of meter values during a transaction (seconds). */
  onSampleInterval?: (seconds: number) => void;
  private faults: ReadonlySet<StationFault>;
  private samplesSent = 0;
  /** Whether the connection is up; a message made while it is down is marked offline (2.0.1) and sent when back. */
  private online = false;
  private closed = false;

  constructor(private readonly o: StationOptions) {
    this.faults = new Set(o.faults ?? []);
    this.now = o.now ?? (() => Date.now() / 1000);
    // Required here rather than imported: see the central system's constructor (rigs/drivers/ocpp-central.ts).
    const { RPCClient: Client } = createRequire(import.meta.url)('ocpp-rpc') as typeof import('ocpp-rpc');
    this.client = new Client({
      endpoint: o.url,
      identity: o.identity,
      protocols: [o.version],
      password: o.password ?? null,
      strictMode: true,
      reconnect: o.reconnect ?? false,
      // Back within two seconds of the network returning (a station's own backoff is its maker's choice).
      backoff: { initialDelay: 100, maxDelay: 2000 },
      wsOpts: o.tls ?? {},
    } as never);
    const remoteStart = ({ params }: { params: { idTag?: string; idToken?: { idToken: string } } }) => {
      const token = params.idTag ?? params.idToken?.idToken;
      const ok = token !== undefined && !this.transaction && this.onRemoteStart !== undefined;
      if (ok) setImmediate(() => this.onRemoteStart?.(token));
      return { status: ok ? 'Accepted' : 'Rejected' };
    };
    const remoteStop = ({ params }: { params: { transactionId: number | string } }) => {
      const ok =
        this.transaction !== undefined &&
        String(params.transactionId) === this.transaction.id &&
        this.onRemoteStop !== undefined &&
        !this.faults.has('remote-stop-refused');
      if (ok) setImmediate(() => this.onRemoteStop?.());
      return { status: ok ? 'Accepted' : 'Rejected' };
    };
    this.client.on('open', () => {
      this.online = true;
    });
    this.client.on('disconnect', () => {
      this.online = false;
    });
    const interval = (value: string | undefined) => {
      const seconds = Number(value);
      if (!Number.isInteger(seconds) || seconds <= 0 || !this.onSampleInterval) return false;
      if (!this.faults.has('interval-ignored')) this.onSampleInterval(seconds);
      return true;
    };
    this.client.handle('ChangeConfiguration', (({ params }: { params: { key: string; value: string } }) => ({
      status: params.key === 'MeterValueSampleInterval' && interval(params.value) ? 'Accepted' : 'NotSupported',
    })) as never);
    type SetVariable = { component: { name: string }; variable: { name: string }; attributeValue: string };
    this.client.handle('SetVariables', (({ params }: { params: { setVariableData: SetVariable[] } }) => ({
      setVariableResult: params.setVariableData.map((d) => ({
        attributeStatus:
          d.component.name === 'SampledDataCtrlr' &&
          d.variable.name === 'TxUpdatedInterval' &&
          interval(d.attributeValue)
            ? 'Accepted'
            : 'UnknownVariable',
        component: d.component,
        variable: d.variable,
      })),
    })) as never);
    this.client.handle('RemoteStartTransaction', remoteStart as never);
    this.client.handle('RequestStartTransaction', remoteStart as never);
    this.client.handle('RemoteStopTransaction', remoteStop as never);
    this.client.handle('RequestStopTransaction', remoteStop as never);
  }

  get publicKey(): string {
    return ocaPublicKey(ocmfPublicKey(p256PublicKeyHex(this.o.ocmfKeyHex)));
  }

  /** Connects and boots; resolves with the central system's BootNotification answer. */
  async connect(): Promise<{ status: string; interval: number }> {
    await this.client.connect();
    const o = this.o;
    // A swapped station: it boots as another model than its nameplate says.
    const model = this.faults.has('wrong-identity') ? 'another-station' : (o.model ?? 'emulated-station');
    const params =
      o.version === 'ocpp1.6'
        ? {
            chargePointVendor: o.vendor ?? 'bench',
            chargePointModel: model,
            chargePointSerialNumber: o.serial ?? o.identity,
            firmwareVersion: o.firmware ?? '1.0.0',
            meterSerialNumber: o.meterSerial ?? `M-${o.identity}`,
          }
        : {
            reason: 'PowerUp',
            chargingStation: {
              vendorName: o.vendor ?? 'bench',
              model,
              serialNumber: o.serial ?? o.identity,
              firmwareVersion: o.firmware ?? '1.0.0',
            },
          };
    return (await this.client.call('BootNotification', params)) as { status: string; interval: number };
  }

  async authorize(idToken: string): Promise<string> {
    const r = (await (this.o.version === 'ocpp1.6'
      ? this.client.call('Authorize', { idTag: idToken })
      : this.client.call('Authorize', { idToken: { idToken, type: 'eMAID' } }))) as {
      idTagInfo?: { status: string };
      idTokenInfo?: { status: string };
    };
    return (r.idTagInfo ?? r.idTokenInfo)!.status;
  }

  /** Authorises the token and starts a transaction; undefined when the token is refused. */
  async startTransaction(idToken: string, connector = 1): Promise<StationTransaction | undefined> {
    if ((await this.authorize(idToken)) !== 'Accepted') return undefined;
    if (this.faults.has('wrong-idtag')) idToken = `${idToken}-X`;
    const start = this.now();
    const meterStartWh = this.o.energyWh();
    const beginOcmf = this.sign(idToken, [{ t: start, tx: 'B', wh: meterStartWh }]);
    if (this.o.version === 'ocpp1.6') {
      const r = (await this.transactionCall('StartTransaction', {
        connectorId: connector,
        idTag: idToken,
        meterStart: Math.round(meterStartWh),
        timestamp: iso(start),
      })) as { transactionId: number };
      this.transaction = { id: String(r.transactionId), idToken, meterStartWh, start, seqNo: 0, beginOcmf };
      await this.transactionCall('MeterValues', {
        connectorId: connector,
        transactionId: r.transactionId,
        meterValue: [this.meterValue(start, meterStartWh, 'Transaction.Begin', beginOcmf)],
      });
    } else {
      this.transaction = {
        id: `${this.o.identity}-${this.txCounter++}`,
        idToken,
        meterStartWh,
        start,
        seqNo: 0,
        beginOcmf,
      };
      await this.event('Started', 'Authorized', start, {
        idToken: { idToken, type: 'eMAID' },
        evse: { id: connector, connectorId: 1 },
        meterValue: [this.meterValue(start, meterStartWh, 'Transaction.Begin', beginOcmf)],
      });
    }
    debug('%s started %s for %s at %d Wh', this.o.identity, this.transaction.id, idToken, meterStartWh);
    const started = this.transaction;
    if (this.faults.has('transaction-twice')) {
      // The same session reported again as a transaction of its own, which is then left open.
      this.faults = new Set([...this.faults].filter((f) => f !== 'transaction-twice'));
      this.transaction = undefined;
      await this.startTransaction(idToken, connector);
      this.transaction = started;
    }
    return started;
  }

  /** A periodic meter value of the running transaction. */
  async sample(): Promise<void> {
    const tx = this.transaction;
    if (!tx) return;
    const t = this.now();
    // A register that goes back by 10 Wh more at every sample.
    const back = this.faults.has('non-monotonic') ? 10 * ++this.samplesSent : 0;
    const mv = this.meterValue(t, this.o.energyWh() - back, 'Sample.Periodic');
    if (this.o.version === 'ocpp1.6')
      await this.transactionCall('MeterValues', { connectorId: 1, transactionId: Number(tx.id), meterValue: [mv] });
    else await this.event('Updated', 'MeterValuePeriodic', t, { meterValue: [mv] });
  }

  /** Stops the running transaction with a signed end record (begin and end readings). */
  async stopTransaction(reason = 'Local'): Promise<void> {
    const tx = this.transaction;
    if (!tx) return;
    if (this.faults.has('stop-lost')) {
      this.transaction = undefined;
      return;
    }
    const end = this.now();
    const meterStopWh = this.o.energyWh();
    const endOcmf = this.sign(tx.idToken, [
      { t: tx.start, tx: 'B', wh: tx.meterStartWh },
      { t: end, tx: 'E', wh: meterStopWh },
    ]);
    const mv = this.meterValue(end, meterStopWh, 'Transaction.End', endOcmf);
    if (this.o.version === 'ocpp1.6')
      await this.transactionCall('StopTransaction', {
        transactionId: Number(tx.id),
        idTag: tx.idToken,
        meterStop: Math.round(meterStopWh),
        timestamp: iso(end),
        reason,
        transactionData: [mv],
      });
    else
      await this.event('Ended', reason === 'Remote' ? 'RemoteStop' : 'StopAuthorized', end, {
        meterValue: [mv],
        stoppedReason: reason,
      });
    this.transaction = undefined;
  }

  /**
   * A transaction-related message (OCPP: TransactionMessageAttempts): one the connection lost before its answer is
   * sent again once the station is back, so nothing is lost; the central system takes a repeat once.
   */
  private async transactionCall(method: string, params: unknown): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.call(method, params);
      } catch (e) {
        if (this.closed || attempt >= TRANSACTION_MESSAGE_ATTEMPTS) throw e;
        debug('%s %s attempt %d: %s', this.o.identity, method, attempt, (e as Error).message);
        await new Promise<void>((resolve) => {
          if (this.online) setTimeout(resolve, 100);
          else this.client.once('open', () => resolve());
        });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close({ force: true }).catch(() => undefined);
  }

  private async event(
    eventType: 'Started' | 'Updated' | 'Ended',
    triggerReason: string,
    t: number,
    extra: { meterValue?: unknown[]; idToken?: unknown; evse?: unknown; stoppedReason?: string },
  ): Promise<void> {
    const tx = this.transaction!;
    const { stoppedReason, ...rest } = extra;
    await this.transactionCall('TransactionEvent', {
      eventType,
      timestamp: iso(t),
      triggerReason,
      seqNo: tx.seqNo++,
      ...(this.online ? {} : { offline: true }),
      transactionInfo: { transactionId: tx.id, ...(stoppedReason ? { stoppedReason } : {}) },
      ...rest,
    });
  }

  private meterValue(t: number, energyWh: number, context: string, signed?: string) {
    const ocmf = this.faults.has('no-signature') ? undefined : signed;
    return meterValueOf(this.o.version, {
      t,
      energyWh,
      powerW: this.o.powerW?.(),
      context,
      ocmf,
      publicKey: ocmf ? this.publicKey : undefined,
    });
  }

  private sign(idToken: string, readings: Array<{ t: number; tx: 'B' | 'E'; wh: number }>): string {
    const o = this.o;
    const record = signOcmf(
      {
        FV: '1.0',
        GI: `${o.vendor ?? 'bench'} ${o.model ?? 'emulated-station'}`,
        GS: o.serial ?? o.identity,
        GV: o.firmware ?? '1.0.0',
        PG: `T${this.pagination++}`,
        MV: o.vendor ?? 'bench',
        MM: 'reference-meter',
        MS: o.meterSerial ?? `M-${o.identity}`,
        MF: '1.0.0',
        IS: true,
        IL: 'VERIFIED',
        IT: 'EMAID',
        ID: idToken,
        RD: readings.map((r) =>
          ocmfReading(r.t, r.tx, r.wh / 1000, this.faults.has('clock-unsynchronised') ? 'U' : 'S'),
        ),
      },
      this.faults.has('wrong-key') ? OTHER_KEY_HEX : o.ocmfKeyHex,
    );
    // A reading changed after it was signed: the end register one kWh higher.
    return this.faults.has('tampered-reading') && readings.some((r) => r.tx === 'E')
      ? record.replace(/("TX":"E","RV":)([0-9.]+)/, (_m, head: string, rv: string) => `${head}${Number(rv) + 1}`)
      : record;
  }
}

/** How many times a transaction message is sent before the station gives up on it. */
const TRANSACTION_MESSAGE_ATTEMPTS = 5;

const iso = (t: number) => new Date(t * 1000).toISOString();
