import createDebug from 'debug';
import type { TypedDataSigner } from '../billing/billing-record.js';
import { RigError } from '../core/errors.js';
import { ENTRY, type TransportLatencyData } from '../core/record/entries.js';
import type { Capability, CaseContext, CasePlan, InstrumentIdentity, Rig, RigIdentity } from '../core/rig.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import type { CommissionCommand, MeterIdentityLine } from '../protocols/stream-commands.js';
import type { FirmataBoardDriver } from './drivers/firmata-board.js';
import type { JsonlStreamDriver } from './drivers/jsonl-stream.js';
import type { ModbusMeterDriver } from './drivers/modbus-meter.js';
import type { ScpiLoadDriver } from './drivers/scpi-load.js';
import { endpointOf } from './endpoints.js';
import type { CpPins } from './ev-cp.js';
import { CaseRun } from './hardware/case-run.js';
import { Playback, playbackOf, whyUnplayable } from './hardware/playback.js';
import { Polling } from './hardware/polling.js';
import { StationCase, type StationRunLog } from './hardware/station.js';
import { StationBiller, type StationBillingParams } from './hardware/station-billing.js';
import { type RelayFor, StreamRelay } from './hardware/stream-relay.js';
import { type InstrumentHandle, runEntryFor } from './instrument-registry.js';
import { scenarioEvSignals, scenarioSetpoints } from './scenario-setpoints.js';
import { type InstrumentConfig, type RigConfig, rigCapabilities } from './schema.js';
import type { LatencyStats } from './transports/transport.js';

const log = createDebug('bench:rigs:hardware');

/**
 * A Rig over real drivers (sim-serial and real benches). Plays a scenario's loads in (scaled) real time as power
 * setpoints on the load (rigs/scenario-setpoints.ts), polls the DUT's registers, counts the DUT's pulse output on the I/O board, and
 * records measurements, pulses, transport latency per instrument and every gap through ctx.observe. The bench has
 * one DUT, so a case's scenario must have exactly one meter (house); the measurements carry that house's id.
 */
export class HardwareRig implements Rig {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  private load?: ScpiLoadDriver;
  private meter?: ModbusMeterDriver;
  private reference?: ModbusMeterDriver;
  private referenceInstrument = 'reference';
  /** An IEC 62056-21 optical port polled by readout (a path; each readout opens it afresh, as the protocol does). */
  private optical?: { path: string; timeoutMs: number };
  private board?: FirmataBoardDriver;
  private cpPins?: CpPins;
  private stream?: JsonlStreamDriver;
  private streamInstrument = 'dut-stream';
  private streamBills = false;
  private meterInstrument = 'dut';
  private boardInstrument = 'board';
  private boardWireMs = 0;
  private boardImpPerKWh?: number;
  /** A charging station under test and its central system (one for the run: the station stays connected). */
  private station?: Extract<InstrumentHandle, { kind: 'ocpp' }>;
  /** What a station did over the run: the transactions already recorded, and the wire log (case time per case). */
  private readonly stationRun: StationRunLog = { recorded: new Set<string>(), wireLog: [] };

  private dutIdentity?: MeterIdentityLine;

  constructor(
    private readonly config: RigConfig,
    private readonly opts: HardwareRigOptions = {},
  ) {
    this.name = config.name;
    this.capabilities = rigCapabilities(config);
  }

  async open(): Promise<RigIdentity> {
    const instruments: InstrumentIdentity[] = [];
    for (const inst of this.config.instruments) {
      const endpoint = endpointOf(inst);
      const entry = runEntryFor(inst);
      const handle = entry.driver(inst, endpoint);
      // Held before it talks, so close() also closes a driver whose identify failed.
      this.hold(inst, handle);
      const identity = await entry.identify(handle, inst);
      if (handle.kind === 'stream') this.dutIdentity = handle.dut;
      instruments.push({
        id: inst.id,
        role: inst.role,
        identity,
        transport: inst.transport.kind,
        capabilities: inst.capabilities,
      });
    }
    return { name: this.name, instruments, dut: this.dutIdentity ? { ...this.dutIdentity } : undefined };
  }

  /** Keeps a run's driver in the slot the case loops use it from. */
  private hold(inst: InstrumentConfig, h: InstrumentHandle): void {
    switch (h.kind) {
      case 'load':
        this.load = h.driver;
        return;
      case 'modbus-meter':
        if (inst.role === 'reference') {
          this.reference = h.driver;
          this.referenceInstrument = inst.id;
        } else {
          this.meter = h.driver;
          this.meterInstrument = inst.id;
        }
        return;
      case 'optical':
        this.optical = { path: h.path, timeoutMs: h.timeoutMs };
        this.meterInstrument = inst.id;
        return;
      case 'stream':
        this.stream = h.driver;
        this.streamInstrument = inst.id;
        this.streamBills = h.bills;
        return;
      case 'board':
        this.board = h.driver;
        this.cpPins = h.cpPins;
        this.boardInstrument = inst.id;
        this.boardWireMs = h.wireMs;
        this.boardImpPerKWh = h.impPerKWh;
        return;
      case 'ocpp':
        this.station = h;
        this.meterInstrument = inst.id;
        return;
    }
  }

  /** The DUT's identity from its stream face (signing address, firmware, host pseudonym), once open. */
  get dut(): MeterIdentityLine | undefined {
    return this.dutIdentity;
  }

  /**
   * Plays one case: the playback (rigs/hardware/playback.ts) and the polling (polling.ts) run side by side while the
   * DUT's stream is taken into the record and relayed to the ledger (stream-relay.ts); the case always ends with
   * the load off and the pilot in A.
   */
  async runCase(plan: CasePlan, ctx: CaseContext): Promise<void> {
    const scenario = plan.scenario as Scenario;
    const unplayable = whyUnplayable(scenario, ctx.seed, this.name);
    if (unplayable) throw new RigError(unplayable, { device: this.meterInstrument, code: 'SCENARIO' });
    const house = scenario.houses[0] as Scenario['houses'][number];
    const meterId = house.id;
    const { timeScale, pollMs, tailS } = playbackOf(plan.params);
    const commission = plan.params.commission as Omit<CommissionCommand, 'type'> | undefined;
    const schedule = scenarioSetpoints(scenario, meterId, ctx.seed);
    const signals = scenarioEvSignals(scenario, meterId, ctx.seed);
    const endT = Math.max(scenario.durationS, (schedule.at(-1)?.t ?? 0) + tailS);
    const run = new CaseRun(plan.caseId, meterId, ctx, timeScale);
    const onReconnect = (gapMs: number) =>
      run.gap(this.load?.transport.device ?? 'load', `reconnected after ${gapMs} ms`);
    const stream = new StreamRelay(
      run,
      this.stream,
      this.streamInstrument,
      this.streamBills,
      commission !== undefined,
      this.opts.relayFor,
    );
    const { load, board, cpPins } = this;
    const billing = plan.params.stationBilling as StationBillingParams | undefined;
    const { stationSigner, relayFor } = this.opts;
    const biller =
      this.station && billing && stationSigner && relayFor
        ? new StationBiller(
            run,
            this.station.station.identity,
            stationSigner,
            billing,
            relayFor(ctx.observe),
            this.station.station.stationKey,
          )
        : undefined;
    const station =
      this.station && new StationCase(run, this.station.central, this.station.station, this.stationRun, biller);
    station?.begin(scenario, plan.params, this.config.dut);
    await station?.configure(plan.params);
    const playback = new Playback(
      run,
      { load, board, cpPins, stream: this.stream, station },
      schedule,
      signals,
      endT,
      pollMs,
    );
    await playback.settle();
    if (commission && this.stream) await this.stream.send({ type: 'commission', ...commission });
    run.startClock();
    station?.stageOutage(plan.params);
    station?.stageRestart(plan.params);
    station?.stageRemoteStop(plan.params);
    const polling = new Polling(
      run,
      {
        meter: this.meter,
        optical: this.optical,
        meterInstrument: this.meterInstrument,
        reference: this.reference,
        board,
        boardInstrument: this.boardInstrument,
        boardWireMs: this.boardWireMs,
        boardImpPerKWh: this.boardImpPerKWh,
      },
      endT,
      pollMs,
      scenario.phases,
    );
    this.load?.transport.on('reconnect', onReconnect);
    stream.listen();
    try {
      // Playback and polling run side by side: a slow meter read (an optical readout takes about a second at 300 Bd)
      // must not hold back a load step, or the DUT's detection latency would be measured against a late switch.
      await run.sideBySide(
        () => playback.loop(),
        () => polling.loop(),
      );
    } finally {
      // What the station started in the case is recorded, ended or not, before the case ends.
      await station?.end(meterId);
      run.end();
      this.load?.transport.off('reconnect', onReconnect);
      await stream.stop();
      // A case always ends with the load off and no EV on the pilot, whatever happened.
      await this.load?.apply({ kind: 'off' }).catch((e) => log('load off: %s', (e as Error).message));
      if (this.board && this.cpPins) {
        try {
          this.board.setCp('A', this.cpPins);
        } catch (e) {
          log('pilot to A: %s', (e as Error).message);
        }
      }
    }
    this.recordLatency(ctx, polling.meterLatency, polling.referenceLatency, timeScale);
  }

  /** Round-trip latency per instrument over the case (the meters' from the polls, the load's from its transport). */
  private recordLatency(
    ctx: CaseContext,
    meterLatency: LatencyStats,
    referenceLatency: LatencyStats,
    timeScale: number,
  ): void {
    const lat: Array<[string, LatencyStats, NonNullable<TransportLatencyData['role']>]> = [
      [this.meterInstrument, meterLatency, 'dut'],
      [this.referenceInstrument, referenceLatency, 'reference'],
    ];
    if (this.load) lat.push([this.load.transport.device, this.load.transport.latency, 'load']);
    for (const [instrument, stats, role] of lat) {
      if (!stats.count) continue;
      const d: TransportLatencyData = {
        instrument,
        role,
        timeScale,
        samples: stats.count,
        p50Ms: stats.quantile(0.5) ?? 0,
        p99Ms: stats.quantile(0.99) ?? 0,
      };
      ctx.observe(ENTRY.transportLatency, { ...d });
    }
  }

  async close(): Promise<void> {
    await this.load?.deactivate().catch((e) => log('load deactivate: %s', (e as Error).message));
    await this.meter?.deactivate().catch(() => undefined);
    await this.reference?.deactivate().catch(() => undefined);
    await this.board?.deactivate().catch(() => undefined);
    await this.stream?.deactivate().catch(() => undefined);
    await this.station?.central.close();
  }
}

export interface HardwareRigOptions {
  /** Where billing records streamed by the DUT go (the run's ledger); records are observed into the record either way. */
  relayFor?: RelayFor;
  /** The bench's billing key for the rig's charging station (engine/ledger-session.ts stationSigner). */
  stationSigner?: TypedDataSigner & { address: string };
}
