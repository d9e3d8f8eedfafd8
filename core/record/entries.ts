/**
 * The vocabulary of a run record: the entry kinds a rig and the executor write, and analysis reads.
 * Times are scenario seconds (from the scenario's start), so sim and hardware runs compare directly.
 */
import type { TruthEnergy, TruthSession } from './truth.js';

export const ENTRY = {
  header: 'header',
  identity: 'identity',
  caseStart: 'case.start',
  caseVerdict: 'case.verdict',
  caseError: 'case.error',
  truthEvent: 'truth.event',
  truthLoadEnergy: 'truth.energy',
  truthSession: 'truth.session',
  meterEvent: 'obs.meter.event',
  meterMeasurement: 'obs.meter.measurement',
  /** The rig's reference meter on the DUT's circuit (a metrology bench's standard), same shape as a measurement. */
  referenceMeasurement: 'obs.reference.measurement',
  meterBilling: 'obs.meter.billing',
  meterReport: 'obs.meter.report',
  meterLog: 'obs.meter.log',
  pulse: 'obs.pulse',
  ledgerLanded: 'obs.ledger.landed',
  ledgerSubmission: 'obs.ledger.submission',
  ledgerState: 'obs.ledger.state',
  transportLatency: 'rig.latency',
  rigGap: 'rig.gap',
  rigError: 'rig.error',
  /** The bench's EV simulator changed the control-pilot state (IEC 61851 A/B/C). */
  rigCp: 'rig.cp',
  /** The bench presented an EV's contract token to the meter's authorisation channel. */
  rigAuth: 'rig.auth',
  /** The reference standard the rig measures the DUT's energy against, as the lab declared it (metrology cases). */
  referenceStandard: 'rig.reference',
  /** A frame between the bench's OCPP central system and a charging station under test (the wire log). */
  ocppFrame: 'obs.ocpp.frame',
  /** A charging transaction as the central system took it from a station, with its signed meter values. */
  ocppTransaction: 'obs.ocpp.transaction',
  /** A station's connection came up or went down; or the bench cut it off (a network outage it stages). */
  ocppLink: 'obs.ocpp.link',
  /** A command the bench's central system sent a station on its own (a remote stop), with the station's answer. */
  ocppCommand: 'obs.ocpp.command',
  /** The station's BootNotification as the central system took it, beside the nameplate the rig file declares. */
  ocppBoot: 'obs.ocpp.boot',
  end: 'end',
} as const;

/** Kinds written at a high rate (one per poll or more): most of a record's bytes, and what readers that do not analyse
 * signals skip. */
export const HIGH_RATE_KINDS: ReadonlySet<string> = new Set([
  ENTRY.meterMeasurement,
  ENTRY.referenceMeasurement,
  ENTRY.pulse,
]);

export type Direction = 'on' | 'off';

/** Every case-scoped entry carries its case id so one record holds a whole suite. */
interface CaseScoped {
  caseId: string;
}

/** A ground-truth switch event from the scenario. */
export interface TruthEventData extends CaseScoped {
  t: number;
  meterId: string;
  loadId: string;
  profile: string;
  class: string;
  direction: Direction;
  deltaP: number;
  deltaQ: number;
}

/** An event the meter under test reported. */
export interface MeterEventData extends CaseScoped {
  meterId: string;
  /** Event time by the meter's own clock, when the meter timestamps events. */
  tMeter?: number;
  /** Time the bench first saw the event (bench clock). */
  tObserved: number;
  direction: Direction;
  /** Identified class, or 'unknown'. */
  class: string;
  /** The signature the meter matched (EVs: the on-board charger). */
  profile?: string;
  deltaP: number;
  deltaQ: number;
  transient?: { peakA: number; durationMs: number };
  /** A three-phase meter: the phases the step was on (L2, L2L3, L1L2L3). */
  phases?: string;
  /**
   * Energy (Wh) the meter assigned to this event's load since the load's previous event (its switch-on, a power
   * change or a resume), on the events that end such a stretch: the meter's own disaggregation of energy by class.
   */
  energyWh?: number;
}

/** What a meter measures of a circuit: powers, RMS values and energy registers. */
interface CircuitValues {
  p: number;
  q: number;
  vrms: number;
  irms: number;
  pf: number;
  importWh: number;
  exportWh: number;
}

export interface MeasurementData extends CaseScoped, CircuitValues {
  meterId: string;
  t: number;
  /** Reactive energy registers (Q > 0 and Q < 0 integrated), where the meter has them. */
  importVarh?: number;
  exportVarh?: number;
  /** A polyphase meter's L1, L2, L3 (the fields above are then its totals, vrms and irms L1's). */
  phases?: PhaseMeasurement[];
}

/** One phase of a polyphase meter's measurement. */
export interface PhaseMeasurement extends CircuitValues {
  importVarh: number;
  exportVarh: number;
  /** Total harmonic distortion of the phase's current over the interval, % of its fundamental. */
  thdPct?: number;
  /** The same of the phase's voltage (orders 2–15). */
  voltageThdPct?: number;
}

/** A signed billing record as the meter emitted it (bigints as decimal strings). */
export interface BillingObservationData extends CaseScoped {
  meterId: string;
  tObserved: number;
  signed: { record: Record<string, string | boolean>; signature: string };
}

export interface MeterLogData extends CaseScoped {
  meterId: string;
  t: number;
  level: 'info' | 'warn' | 'error';
  code: string;
  message: string;
  /** On clock-sync entries: the offset the sync removed (meter clock − time source, s). */
  offsetS?: number;
}

export interface PulseData extends CaseScoped {
  channel: string;
  /** The meter whose output was counted (a hardware rig says; the simulated rig names it in the channel). */
  meterId?: string;
  /** Case time of the latest pulse in `count`. */
  t: number;
  count: number;
  /**
   * Where `t` comes from. 'host-receive': when the bench received the I/O board's report of the edge (a Firmata
   * board sends no time), so `t` is later than the edge by at least `minDelayMs` plus USB and OS scheduling delay.
   * Absent: the rig's own clock (the simulated rig, exact).
   */
  timeSource?: 'host-receive';
  /** Least delay of a host-received `t` after the edge: the edge report's time on the wire at the board's baud. */
  minDelayMs?: number;
  /** The meter constant of the output counted (imp/kWh), when the rig knows it: the error calculator needs it. */
  impPerKWh?: number;
}

/** A stretch of a case in which an instrument could not be read or was reconnecting (its data is missing). */
export interface RigGapData extends CaseScoped {
  instrument: string;
  t: number;
  reason: string;
  /** The RigError code when a typed instrument error made the gap (TIMEOUT, BAD_FRAME, …), so gaps count by code. */
  code?: string;
}

/** A typed instrument error that did not stop the case (a malformed frame, a rejected setpoint), counted. */
export interface RigErrorData extends CaseScoped {
  instrument: string;
  t: number;
  code: string;
  message: string;
}

export interface TransportLatencyData {
  instrument: string;
  /** What the instrument is on the rig (the metrology budget times the DUT's and the reference's polls). */
  role?: 'dut' | 'reference' | 'load';
  /** Scenario seconds per wall second of the case (its --time-scale): what a wall-clock delay is in case time. */
  timeScale?: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

/** The rig's reference standard as declared: what the energy error's uncertainty budget starts from. */
export interface ReferenceStandardData extends CaseScoped {
  /** The reference instrument's id, or `virtual` for the simulated rig's exact synthesis. */
  instrument: string;
  description: string;
  /** Accuracy class index (%): without a calibration, a rectangular ±class (IEC 62053-22 0.2 S, 0.5 S). */
  accuracyClass?: number;
  /** Calibration certificate id, its expanded uncertainty (% of reading, coverage factor k) and due date. */
  certificate?: string;
  expandedUncertaintyPct?: number;
  coverageFactor?: number;
  /** ISO date (YYYY-MM-DD) after which the calibration is no longer valid. */
  due?: string;
}

/** True energy of one load instance (one on→off run) from the scenario. */
export interface TruthEnergyData extends CaseScoped, TruthEnergy {}

/** A billing session the ground truth expects the meter to bill, with what the ledger must show for it. */
export interface TruthSessionData extends CaseScoped, TruthSession {
  /** Expected cost in currency units under the tariff in force. */
  cost: number;
  /** Signing address of the host meter, as registered on the ledger. */
  meterAddress: string;
  /** Session start/end in unix seconds (scenario start + offset), as the billing record states them. */
  startUnix: number;
  endUnix: number;
  /** On-chain pseudonyms (bytes32) the record must carry for payer and host. */
  payerPseudonym: string;
  hostPseudonym: string;
}

/** One OCPP-J frame on the wire, as sent or received (the text exactly as it went). */
export interface OcppFrameData extends CaseScoped {
  station: string;
  /** Case time (scenario seconds) the bench sent or received it. */
  t: number;
  direction: 'in' | 'out';
  frame: string;
}

/** A charging transaction a station reported, in one form for OCPP 1.6 and 2.0.1. */
export interface OcppTransactionData extends CaseScoped {
  meterId: string;
  station: string;
  version: string;
  transactionId: string;
  idToken: string;
  /** Case times (scenario seconds) the bench received the transaction's start and its end, if it ended. */
  tStart: number;
  tEnd?: number;
  /** The station's own times (unix seconds) and register readings (Wh) for the start and the end. */
  stationStart: number;
  stationEnd?: number;
  meterStartWh?: number;
  meterStopWh?: number;
  stopReason?: string;
  /**
   * Meter values sampled during the transaction (Sample.Periodic and the rest), by the station's clock, each with
   * the case time the bench received it.
   */
  samples: Array<{ t: number; received?: number; energyWh?: number; powerW?: number; context?: string }>;
  /** What the rig file says the station signs with and its meter's serial, when it says. */
  stationKey?: string;
  meterSerial?: string;
  /** Signed meter values (OCMF text, with the public key sent beside each), in the order they came. */
  signed: Array<{ data: string; publicKey?: string }>;
  /** Messages that repeated one already taken; messages the station sent from its offline queue. */
  duplicates: number;
  offlineMessages: number;
}

export interface StationIdentity {
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
}

export interface OcppBootData extends CaseScoped {
  station: string;
  /** Whether the station sent a BootNotification on this run's connection. */
  booted: boolean;
  /** What it said (vendor, model, serial, firmware). */
  reported?: StationIdentity;
  /** The rig file's `dut` nameplate, when it declares one. */
  declared?: StationIdentity;
}

export interface OcppCommandData extends CaseScoped {
  station: string;
  t: number;
  command: 'remote-stop';
  transactionId: string;
  /** The station's answer (Accepted, Rejected), or Failed when none came. */
  status: string;
}

export interface OcppLinkData extends CaseScoped {
  station: string;
  t: number;
  /** `restart`: the bench's central system restarted (every station dropped, its memory rebuilt from the wire log). */
  event: 'connected' | 'disconnected' | 'cut' | 'restart';
  /** On a cut or restart: how long the bench keeps the station off (scenario seconds). */
  forS?: number;
}
