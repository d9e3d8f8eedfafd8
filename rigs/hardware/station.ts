import { setTimeout as sleep } from 'node:timers/promises';
import {
  ENTRY,
  type OcppBootData,
  type OcppCommandData,
  type OcppFrameData,
  type OcppLinkData,
  type OcppTransactionData,
  type StationIdentity,
} from '../../core/record/entries.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import type { CentralSystem, TokenStatus } from '../drivers/ocpp-central.js';
import { type OcppTransaction, signedValuesOf } from '../drivers/ocpp-transactions.js';
import type { OcppStationOptions } from '../instrument-registry.js';
import type { CaseRun } from './case-run.js';
import type { StationBiller } from './station-billing.js';

/** What the bench keeps of a station over a run (its central system lives as long as the run). */
export interface StationRunLog {
  /** Transaction ids recorded by earlier cases. */
  recorded: Set<string>;
  /** Every frame so far, as recorded (each case's on its own case clock): what a restarted bench rebuilds from. */
  wireLog: OcppFrameData[];
}

/** Wall milliseconds a case waits, after its last scenario second, for the station to end what it started. */
const DRAIN_MS = 10_000;

/**
 * A charging station under test during one case: the bench's central system answers its tokens from the
 * scenario's EVs, every frame goes to the record as the wire log, an EV's token is presented by remote start
 * (the way an app or a roaming platform starts a session, which every OCPP station takes), and the transactions
 * the station reported are recorded when the case ends.
 */
export class StationCase {
  constructor(
    private readonly run: CaseRun,
    private readonly central: CentralSystem,
    private readonly station: OcppStationOptions,
    private readonly log: StationRunLog,
    /** Bills each transaction that ended with verifiable signed values (a run with a ledger). */
    private readonly biller?: StationBiller,
  ) {}

  /**
   * From now on the central system answers with this scenario's tokens and logs frames into this case. With the
   * case param `stationLoseEndAnswer`, the answer to the case's first transaction end is lost with the connection.
   */
  begin(scenario: Scenario, params: Record<string, unknown> = {}, nameplate?: StationIdentity): void {
    const { run } = this;
    const boot = this.central.boot(this.station.identity);
    const d: OcppBootData = {
      caseId: run.caseId,
      station: this.station.identity,
      booted: boot !== undefined,
      ...(boot && {
        reported: {
          vendor: boot.vendor,
          model: boot.model,
          ...(boot.serial !== undefined && { serial: boot.serial }),
          ...(boot.firmware !== undefined && { firmware: boot.firmware }),
        },
      }),
      ...(nameplate && { declared: { ...nameplate } }),
    };
    run.ctx.observe(ENTRY.ocppBoot, { ...d });
    let loseEndAnswer = params.stationLoseEndAnswer === true;
    const statusOf = new Map<string, TokenStatus>(scenario.evs.map((ev) => [ev.owner, ev.tokenStatus ?? 'Accepted']));
    this.central.useCaseHooks({
      authorize: (_station, token) => statusOf.get(token) ?? 'Unknown',
      onFrame: (f) => {
        const d: OcppFrameData = {
          caseId: run.caseId,
          station: f.station,
          t: run.benchT(),
          direction: f.direction,
          frame: f.frame,
        };
        run.ctx.observe(ENTRY.ocppFrame, { ...d });
        this.log.wireLog.push(d);
      },
      loseEndAnswer: () => {
        const lose = loseEndAnswer;
        loseEndAnswer = false;
        return lose;
      },
      onLink: (station, event) => this.link({ caseId: run.caseId, station, t: run.benchT(), event }),
      receivedClock: () => run.benchT(),
    });
  }

  /**
   * Configures the station for the case: the interval of its meter values during a transaction when the case asks
   * (param `meterValuesIntervalS`). A station that refuses is recorded as a rig error; the interval it keeps is
   * then what the analysis measures.
   */
  async configure(params: Record<string, unknown>): Promise<void> {
    const seconds = params.meterValuesIntervalS;
    if (typeof seconds !== 'number') return;
    const id = this.station.identity;
    try {
      const status = await this.central.setMeterValuesInterval(id, seconds);
      if (status !== 'Accepted')
        this.run.rigError(id, 'CONFIG_REJECTED', `meter values interval ${seconds} s: ${status}`);
    } catch (e) {
      this.run.rigError(id, 'CONFIG_REJECTED', `meter values interval ${seconds} s: ${(e as Error).message}`);
    }
  }

  /**
   * Once the case's clock runs: a network outage the case asks for (params `stationOfflineAtS`, `stationOfflineForS`,
   * scenario seconds), staged by the central system dropping the station and refusing it until the outage ends.
   */
  stageOutage(params: Record<string, unknown>): void {
    const at = params.stationOfflineAtS;
    const forS = params.stationOfflineForS;
    if (typeof at !== 'number' || typeof forS !== 'number') return;
    const { run } = this;
    this.outage = setTimeout(
      () => {
        this.link({ caseId: run.caseId, station: this.station.identity, t: run.benchT(), event: 'cut', forS });
        void this.central.cut(this.station.identity, (forS / run.timeScale) * 1000);
      },
      Math.max(0, ((at - run.benchT()) / run.timeScale) * 1000),
    );
  }

  /**
   * Once the case's clock runs: a restart of the bench's central system the case asks for (params
   * `benchRestartAtS`, `benchRestartForS`, scenario seconds): every station dropped and refused while it is down,
   * and the transactions it held rebuilt from the wire log recorded so far, as a restarted process has only that.
   */
  stageRestart(params: Record<string, unknown>): void {
    const at = params.benchRestartAtS;
    const forS = params.benchRestartForS ?? 30;
    if (typeof at !== 'number' || typeof forS !== 'number') return;
    const { run } = this;
    this.restart = setTimeout(
      () => {
        this.link({ caseId: run.caseId, station: this.station.identity, t: run.benchT(), event: 'restart', forS });
        void this.central.restart((forS / run.timeScale) * 1000, this.log.wireLog);
      },
      Math.max(0, ((at - run.benchT()) / run.timeScale) * 1000),
    );
  }

  /**
   * Once the case's clock runs: a remote stop the case asks for (param `stationRemoteStopAtS`, scenario seconds):
   * RemoteStopTransaction (1.6) / RequestStopTransaction (2.0.1) for each transaction of the case still open then,
   * recorded with the station's answer (`obs.ocpp.command`).
   */
  stageRemoteStop(params: Record<string, unknown>): void {
    const at = params.stationRemoteStopAtS;
    if (typeof at !== 'number') return;
    const { run } = this;
    const id = this.station.identity;
    this.remoteStop = setTimeout(
      () => {
        const open = this.central
          .transactions(id)
          .filter((t) => t.end === undefined && !this.log.recorded.has(t.transactionId));
        for (const tx of open) {
          const t = run.benchT();
          void this.central.remoteStop(id, tx.transactionId).then(
            (status) =>
              this.command({
                caseId: run.caseId,
                station: id,
                t,
                command: 'remote-stop',
                transactionId: tx.transactionId,
                status,
              }),
            (e) => {
              this.command({
                caseId: run.caseId,
                station: id,
                t,
                command: 'remote-stop',
                transactionId: tx.transactionId,
                status: 'Failed',
              });
              run.rigError(id, 'REMOTE_STOP', (e as Error).message);
            },
          );
        }
      },
      Math.max(0, ((at - run.benchT()) / run.timeScale) * 1000),
    );
  }

  private command(d: OcppCommandData): void {
    this.run.ctx.observe(ENTRY.ocppCommand, { ...d });
  }

  private outage?: NodeJS.Timeout;
  private restart?: NodeJS.Timeout;
  private remoteStop?: NodeJS.Timeout;

  private link(d: OcppLinkData): void {
    this.run.ctx.observe(ENTRY.ocppLink, { ...d });
  }

  /** Presents an EV's token: RemoteStartTransaction (1.6) / RequestStartTransaction (2.0.1). */
  async presentToken(contractId: string): Promise<string> {
    try {
      return await this.central.remoteStart(this.station.identity, contractId, this.station.evse);
    } catch (e) {
      this.run.rigError(this.station.identity, 'REMOTE_START', (e as Error).message);
      return 'Failed';
    }
  }

  /**
   * Waits (a bounded time) for the transactions of this case to end, records each, and stops logging into the
   * case. A transaction still open is recorded as it stands: the analysis counts it as not ended.
   */
  async end(meterId: string): Promise<void> {
    clearTimeout(this.outage);
    clearTimeout(this.restart);
    clearTimeout(this.remoteStop);
    const mine = () =>
      this.central.transactions(this.station.identity).filter((t) => !this.log.recorded.has(t.transactionId));
    const until = performance.now() + DRAIN_MS;
    // An aborted run (Ctrl-C, the case's time limit) records what it has at once.
    const aborted = () => this.run.ctx.signal.aborted;
    while (mine().some((t) => t.end === undefined) && performance.now() < until && !aborted()) await sleep(50);
    for (const tx of mine()) {
      this.log.recorded.add(tx.transactionId);
      this.run.ctx.observe(ENTRY.ocppTransaction, { ...this.entryOf(tx, meterId) });
      await this.biller?.bill(tx);
    }
    this.central.useCaseHooks({
      authorize: () => 'Unknown',
      onFrame: () => undefined,
      onLink: () => undefined,
      loseEndAnswer: () => false,
      receivedClock: undefined,
    });
  }

  private entryOf(tx: OcppTransaction, meterId: string): OcppTransactionData {
    return {
      caseId: this.run.caseId,
      meterId,
      station: tx.station,
      version: tx.version,
      transactionId: tx.transactionId,
      idToken: tx.idToken,
      tStart: tx.receivedStart,
      ...(tx.receivedEnd !== undefined && { tEnd: tx.receivedEnd }),
      stationStart: tx.start,
      ...(tx.end !== undefined && { stationEnd: tx.end }),
      ...(tx.meterStartWh !== undefined && { meterStartWh: tx.meterStartWh }),
      ...(tx.meterStopWh !== undefined && { meterStopWh: tx.meterStopWh }),
      ...(tx.stopReason !== undefined && { stopReason: tx.stopReason }),
      ...(this.station.stationKey && { stationKey: this.station.stationKey }),
      ...(this.station.meterSerial && { meterSerial: this.station.meterSerial }),
      samples: tx.samples.map((s) => ({
        t: s.t,
        received: s.received,
        ...(s.energyWh !== undefined && { energyWh: s.energyWh }),
        ...(s.powerW !== undefined && { powerW: s.powerW }),
        ...(s.context !== undefined && { context: s.context }),
      })),
      signed: signedValuesOf(tx),
      duplicates: tx.duplicates,
      offlineMessages: tx.offlineMessages,
    };
  }
}
