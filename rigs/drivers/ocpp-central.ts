import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import type { RPCServer } from 'ocpp-rpc';
import { RigError } from '../../core/errors.js';
import type { MeterValue16, OcppVersion } from '../../protocols/ocpp-meter-values.js';
import {
  type OcppTransaction,
  type Start16,
  type Stop16,
  TransactionBook,
  type TxEvent201,
} from './ocpp-transactions.js';

const debug = createDebug('bench:ocpp');

/** How long the station stays cut off after the bench loses an answer on purpose (wall ms). */
const LOST_ANSWER_OUTAGE_MS = 1000;

/** Every action the central system takes or sends, in either version (the schemas to compile before a run). */
const ACTIONS = [
  'ChangeConfiguration',
  'SetVariables',
  'BootNotification',
  'Heartbeat',
  'StatusNotification',
  'Authorize',
  'StartTransaction',
  'StopTransaction',
  'MeterValues',
  'TransactionEvent',
  'RemoteStartTransaction',
  'RemoteStopTransaction',
  'RequestStartTransaction',
  'RequestStopTransaction',
];

/**
 * ocpp-rpc compiles each JSON schema the first time a message needs it, which holds the event loop for tens of
 * milliseconds per schema: a bench that compiled them during a case would stop polling its reference meter right as
 * a transaction starts. They are compiled here, once per process, before any case (validating an empty payload
 * compiles the schema and fails, which is all that is wanted). The validators are the library's own module, so
 * the stations emulated in this process share them.
 */
const compiled = new Set<string>();
function compileSchemas(versions: Iterable<string>): void {
  const validators = createRequire(import.meta.url)('ocpp-rpc/lib/standard-validators.js') as Array<{
    subprotocol: string;
    validate(schemaId: string, params: unknown): unknown;
  }>;
  for (const v of validators) {
    if (compiled.has(v.subprotocol) || ![...versions].includes(v.subprotocol)) continue;
    compiled.add(v.subprotocol);
    for (const action of ACTIONS)
      for (const kind of ['req', 'conf'])
        try {
          v.validate(`urn:${action}.${kind}`, {});
        } catch {
          // An action this version does not have, or the empty payload's violation: either way, compiled.
        }
  }
}

/**
 * The bench as an OCPP-J central system (CSMS): charging stations under test connect to it over WebSocket (ws://,
 * or wss:// with HTTP Basic Auth: security profiles 1 and 2), speaking OCPP 1.6-J or 2.0.1. ocpp-rpc does the RPC
 * framing and validates every call and answer against the official JSON schemas of the version agreed (strict
 * mode), so a malformed frame, an unknown action or a schema violation gets the CALLERROR the library's reading of
 * the specification names, and the connection stays up. Every frame in and out reaches `onFrame` (the run
 * record's wire log) and every error sent is counted by code.
 */

export interface OcppStationSpec {
  /** The station's identity: the last path segment of its connection URL, and the Basic Auth user name. */
  identity: string;
  version: OcppVersion;
  /** Basic Auth password (security profiles 1 and 2); none = the station connects without. */
  password?: string;
}

export interface WireFrame {
  /** Unix seconds on the bench's clock. */
  t: number;
  station: string;
  direction: 'in' | 'out';
  frame: string;
}

export interface BootInfo {
  vendor: string;
  model: string;
  serial?: string;
  firmware?: string;
  meterSerial?: string;
  t: number;
}

/** Token statuses common to both versions' Authorize answers. */
export type TokenStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'Unknown';

export interface CentralSystemOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** TLS certificate and key (PEM): wss:// (security profile 2). */
  tls?: { cert: string; key: string };
  stations: readonly OcppStationSpec[];
  /** The status of a token; default Accepted. 1.6 has no Unknown: it is answered Invalid there. */
  authorize?: (station: string, idToken: string) => TokenStatus;
  onFrame?: (frame: WireFrame) => void;
  /**
   * Whether to lose the answer to a transaction's end (the connection drops right after the bench took it), so
   * the station, never answered, must send it again: the bench must still take it once.
   */
  loseEndAnswer?: (station: string) => boolean;
  /** A station connected or lost its connection. */
  onLink?: (station: string, event: 'connected' | 'disconnected') => void;
  /** The bench's clock (unix seconds) for wire-log times and currentTime answers. */
  now?: () => number;
  /** The clock transactions are stamped with as they arrive (default `now`): a run's case time. */
  receivedClock?: () => number;
  heartbeatIntervalS?: number;
}

/** What a run sets on the central system per case (it lives for the whole run). */
export type CaseHooks = Pick<
  CentralSystemOptions,
  'authorize' | 'onFrame' | 'onLink' | 'loseEndAnswer' | 'receivedClock'
>;

interface StationLink {
  spec: OcppStationSpec;
  client?: ConnectedStation;
  boot?: BootInfo;
  connections: number;
  /** Until when (performance.now() ms) the bench refuses the station, as if its network were down. */
  cutUntil?: number;
}

/** The slice of ocpp-rpc's server-side client the bench uses (its typings declare most of it loosely). */
interface ConnectedStation {
  identity: string;
  protocol: string;
  handle(method: string, handler: (call: { params: unknown; method: string }) => unknown): void;
  handle(handler: (call: { params: unknown; method: string }) => unknown): void;
  call(method: string, params?: unknown, options?: Record<string, unknown>): Promise<unknown>;
  close(options?: Record<string, unknown>): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): void;
}

export class CentralSystem {
  private readonly server: RPCServer;
  private http?: Server;
  private readonly links = new Map<string, StationLink>();
  private book: TransactionBook;
  /** What a run changes per case: the tokens it knows, where the wire log goes, the clock arrivals are stamped by. */
  private hooks: CaseHooks;
  private nextRemoteStartId = 1;
  /** CALLERRORs sent, by code; calls the bench answered, by action. */
  readonly errorsSent = new Map<string, number>();
  readonly callsTaken = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: CentralSystemOptions) {
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.hooks = {
      authorize: opts.authorize,
      onFrame: opts.onFrame,
      onLink: opts.onLink,
      loseEndAnswer: opts.loseEndAnswer,
      receivedClock: opts.receivedClock,
    };
    this.book = new TransactionBook(() => (this.hooks.receivedClock ?? this.now)());
    for (const spec of opts.stations) this.links.set(spec.identity, { spec, connections: 0 });
    // Required here rather than imported: ocpp-rpc and the ajv its schemas need take a quarter of a second to load,
    // which every command that reaches the instrument registry (certify on `sim`) paid for nothing.
    const { RPCServer: Server } = createRequire(import.meta.url)('ocpp-rpc') as typeof import('ocpp-rpc');
    this.server = new Server({
      protocols: ['ocpp2.0.1', 'ocpp1.6'],
      strictMode: true,
      // A station that sends garbage stays connected: every bad frame is answered and counted, never fatal.
      maxBadMessages: Number.POSITIVE_INFINITY,
      callTimeoutMs: 30_000,
    });
    this.server.auth((accept, reject, handshake) => {
      const link = this.links.get(handshake.identity);
      if (!link) return reject(404, `no station ${handshake.identity} on this bench`);
      if (link.spec.password !== undefined && handshake.password?.toString('utf8') !== link.spec.password)
        return reject(401, 'wrong or missing password');
      if (!handshake.protocols.has(link.spec.version))
        return reject(400, `station ${handshake.identity} is set up for ${link.spec.version}`);
      if (link.cutUntil !== undefined && performance.now() < link.cutUntil)
        return reject(503, 'the bench has cut this station off');
      accept({ identity: handshake.identity }, link.spec.version);
    });
    this.server.on('client', (client: ConnectedStation) => this.attach(client));
  }

  /** Listens; resolves with the URL stations connect to (their identity appended). */
  async start(): Promise<string> {
    compileSchemas(this.opts.stations.map((s) => s.version));
    const server = this.opts.tls ? createHttpsServer({ ...this.opts.tls, minVersion: 'TLSv1.2' }) : createHttpServer();
    server.on('upgrade', this.server.handleUpgrade);
    server.on('request', (_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new RigError(`cannot listen on ${this.opts.host ?? '127.0.0.1'}:${this.opts.port ?? 0}: ${e.message}`, {
            code: 'LISTEN',
            device: 'ocpp',
          }),
        ),
      );
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', resolve);
    });
    this.http = server;
    const { port } = server.address() as AddressInfo;
    return `${this.opts.tls ? 'wss' : 'ws'}://${this.opts.host ?? '127.0.0.1'}:${port}/`;
  }

  async close(): Promise<void> {
    await this.server.close({ force: true }).catch(() => undefined);
    await new Promise<void>((r) => (this.http ? this.http.close(() => r()) : r()));
  }

  /**
   * Sets what one case of a run needs (a central system stays up for the whole run, so a station keeps its
   * connection between cases): its tokens, its wire log and its clock. Options left out keep their value.
   */
  useCaseHooks(hooks: CaseHooks): void {
    this.hooks = { ...this.hooks, ...hooks };
  }

  boot(identity: string): BootInfo | undefined {
    return this.links.get(identity)?.boot;
  }

  /** Connections the station opened so far (a reconnect counts). */
  connections(identity: string): number {
    return this.links.get(identity)?.connections ?? 0;
  }

  /** Waits for the station's BootNotification (or returns the one it sent). */
  async waitForBoot(identity: string, signal?: AbortSignal): Promise<BootInfo> {
    for (;;) {
      const boot = this.boot(identity);
      if (boot) return boot;
      await sleep(20, undefined, { signal });
    }
  }

  transactions(station?: string): OcppTransaction[] {
    return this.book.all(station);
  }

  /**
   * Cuts the station off for `forMs` wall milliseconds, as a network outage would: its connection is dropped
   * without a close handshake and every reconnection is refused (HTTP 503) until then. A station must queue what
   * happens meanwhile and send it when it is back.
   */
  async cut(identity: string, forMs: number): Promise<void> {
    const link = this.links.get(identity);
    if (!link) return;
    link.cutUntil = performance.now() + forMs;
    await link.client?.close({ force: true }).catch(() => undefined);
  }

  /**
   * Restarts the central system as a process restart would: every station dropped at once and refused for
   * `downForMs` wall milliseconds, and the transactions it held in memory gone, rebuilt from the wire log it recorded
   * (`frames`, on the received clock: TransactionBook.fromWireLog). Stations reconnect and go on.
   */
  async restart(downForMs: number, frames: Parameters<typeof TransactionBook.fromWireLog>[0]): Promise<void> {
    const until = performance.now() + downForMs;
    const dropped = [...this.links.values()].map((link) => {
      link.cutUntil = until;
      return link.client?.close({ force: true }).catch(() => undefined);
    });
    this.book = TransactionBook.fromWireLog(frames, () => (this.hooks.receivedClock ?? this.now)());
    await Promise.all(dropped);
  }

  /** RemoteStartTransaction (1.6) / RequestStartTransaction (2.0.1): the station's answer status. */
  async remoteStart(identity: string, idToken: string, connector = 1): Promise<string> {
    const link = this.linkOf(identity);
    if (link.spec.version === 'ocpp1.6') {
      const r = (await link.client!.call('RemoteStartTransaction', { idTag: idToken, connectorId: connector })) as {
        status: string;
      };
      return r.status;
    }
    const r = (await link.client!.call('RequestStartTransaction', {
      idToken: { idToken, type: 'eMAID' },
      remoteStartId: this.nextRemoteStartId++,
      evseId: connector,
    })) as { status: string };
    return r.status;
  }

  /**
   * Sets the interval of the station's meter values during a transaction: ChangeConfiguration
   * MeterValueSampleInterval (1.6) or SetVariables SampledDataCtrlr.TxUpdatedInterval (2.0.1). The station's answer.
   */
  async setMeterValuesInterval(identity: string, seconds: number): Promise<string> {
    const link = this.linkOf(identity);
    if (link.spec.version === 'ocpp1.6') {
      const r = (await link.client!.call('ChangeConfiguration', {
        key: 'MeterValueSampleInterval',
        value: String(seconds),
      })) as { status: string };
      return r.status;
    }
    const r = (await link.client!.call('SetVariables', {
      setVariableData: [
        {
          component: { name: 'SampledDataCtrlr' },
          variable: { name: 'TxUpdatedInterval' },
          attributeValue: String(seconds),
        },
      ],
    })) as { setVariableResult: Array<{ attributeStatus: string }> };
    return r.setVariableResult[0]?.attributeStatus ?? 'Rejected';
  }

  /** RemoteStopTransaction (1.6) / RequestStopTransaction (2.0.1). */
  async remoteStop(identity: string, transactionId: string): Promise<string> {
    const link = this.linkOf(identity);
    const r = (
      link.spec.version === 'ocpp1.6'
        ? await link.client!.call('RemoteStopTransaction', { transactionId: Number(transactionId) })
        : await link.client!.call('RequestStopTransaction', { transactionId })
    ) as { status: string };
    return r.status;
  }

  private linkOf(identity: string): StationLink {
    const link = this.links.get(identity);
    if (!link?.client)
      throw new RigError(`station ${identity} is not connected`, { device: identity, code: 'NO_DEVICE' });
    return link;
  }

  private attach(client: ConnectedStation): void {
    const link = this.links.get(client.identity)!;
    link.client = client;
    link.connections++;
    debug('%s connected (%s)', client.identity, client.protocol);
    client.on('message', (({ message, outbound }: { message: Buffer | string; outbound: boolean }) => {
      const frame = message.toString();
      this.hooks.onFrame?.({ t: this.now(), station: client.identity, direction: outbound ? 'out' : 'in', frame });
      // Errors are counted as they went out on the wire (the library maps some codes per version after its events).
      if (outbound && frame.startsWith('[4')) {
        const code = String((JSON.parse(frame) as unknown[])[2]);
        this.errorsSent.set(code, (this.errorsSent.get(code) ?? 0) + 1);
      }
    }) as never);
    this.hooks.onLink?.(client.identity, 'connected');
    client.on('close', (() => {
      if (link.client === client) link.client = undefined;
      this.hooks.onLink?.(client.identity, 'disconnected');
    }) as never);
    const v16 = client.protocol === 'ocpp1.6';
    const take = (method: string, fn: (params: never) => unknown) =>
      client.handle(method, ({ params }) => {
        this.callsTaken.set(method, (this.callsTaken.get(method) ?? 0) + 1);
        return fn(params as never);
      });
    const currentTime = () => new Date(this.now() * 1000).toISOString();
    const interval = this.opts.heartbeatIntervalS ?? 300;
    take('BootNotification', (p: Boot16 & Boot201) => {
      link.boot = v16
        ? {
            vendor: p.chargePointVendor,
            model: p.chargePointModel,
            serial: p.chargePointSerialNumber,
            firmware: p.firmwareVersion,
            meterSerial: p.meterSerialNumber,
            t: this.now(),
          }
        : {
            vendor: p.chargingStation.vendorName,
            model: p.chargingStation.model,
            serial: p.chargingStation.serialNumber,
            firmware: p.chargingStation.firmwareVersion,
            t: this.now(),
          };
      return { status: 'Accepted', currentTime: currentTime(), interval };
    });
    take('Heartbeat', () => ({ currentTime: currentTime() }));
    take('StatusNotification', () => ({}));
    if (v16) {
      take('Authorize', (p: { idTag: string }) => ({ idTagInfo: { status: this.status16(client.identity, p.idTag) } }));
      take('StartTransaction', (p: Start16) => ({
        transactionId: this.book.take(client.identity, 'StartTransaction', p),
        idTagInfo: { status: this.status16(client.identity, p.idTag) },
      }));
      take('MeterValues', (p: { transactionId?: number; meterValue: MeterValue16[] }) => {
        this.book.take(client.identity, 'MeterValues', p);
        return {};
      });
      take('StopTransaction', (p: Stop16) => {
        this.book.take(client.identity, 'StopTransaction', p);
        if (this.hooks.loseEndAnswer?.(client.identity)) return this.loseAnswer(client);
        return p.idTag ? { idTagInfo: { status: this.status16(client.identity, p.idTag) } } : {};
      });
    } else {
      take('Authorize', (p: { idToken: { idToken: string } }) => ({
        idTokenInfo: { status: this.status(client.identity, p.idToken.idToken) },
      }));
      // An event that carries a token is answered with the token's status.
      take('TransactionEvent', (p: TxEvent201) => {
        this.book.take(client.identity, 'TransactionEvent', p);
        if (p.eventType === 'Ended' && this.hooks.loseEndAnswer?.(client.identity)) return this.loseAnswer(client);
        return p.idToken ? { idTokenInfo: { status: this.status(client.identity, p.idToken.idToken) } } : {};
      });
      take('MeterValues', () => ({}));
      take('NotifyEvent', () => ({}));
      take('SecurityEventNotification', () => ({}));
    }
    // No wildcard handler: ocpp-rpc answers an action with no handler NotImplemented, as the specification says
    // (a wildcard would first meet strict validation, which answers an action it has no schema for ProtocolError).
  }

  /** Drops the connection before answering (the answer is lost on the way): a short outage of one second. */
  private async loseAnswer(client: ConnectedStation): Promise<never> {
    await this.cut(client.identity, LOST_ANSWER_OUTAGE_MS);
    throw new Error('answer lost with the connection');
  }

  private status(station: string, idToken: string): TokenStatus {
    return this.hooks.authorize?.(station, idToken) ?? 'Accepted';
  }

  private status16(station: string, idToken: string): Exclude<TokenStatus, 'Unknown'> {
    const s = this.status(station, idToken);
    return s === 'Unknown' ? 'Invalid' : s;
  }
}

interface Boot16 {
  chargePointVendor: string;
  chargePointModel: string;
  chargePointSerialNumber?: string;
  firmwareVersion?: string;
  meterSerialNumber?: string;
}
interface Boot201 {
  chargingStation: { vendorName: string; model: string; serialNumber?: string; firmwareVersion?: string };
}
