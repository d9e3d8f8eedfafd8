import { maxWeightAssignment } from '../../billing/assignment.js';
import {
  ENTRY,
  type OcppBootData,
  type OcppCommandData,
  type OcppFrameData,
  type OcppLinkData,
  type OcppTransactionData,
  type TruthSessionData,
} from '../../core/record/entries.js';
import type { CaseAnalyser } from '../case-analysis.js';
import { registerAt } from '../energy.js';
import { checkOcmfTransaction, type OcmfIssue } from '../ocmf-transaction.js';
import { midMpe, parseMidClass } from '../standards/mid.js';

/**
 * A charging station under test (OCPP): its transactions against the scenario's EV sessions, one to one, each
 * transaction's signed meter values (OCMF) checked for conformance and compatibility, its signed energy within
 * the MID class of the reference (the bench's reference meter over the transaction; the scenario's session
 * energy on a rig with no reference meter), and the
 * CALLERRORs the bench had to send it. Only cases with a station have these metrics.
 */

/** One transaction with the session it was assigned to and what its check found. */
export interface OcppRow {
  transactionId: string;
  station: string;
  version: string;
  idToken: string;
  session?: string;
  tStart: number;
  tEnd?: number;
  stopReason?: string;
  /** End minus begin of the signed readings, else of the transaction's start/stop registers (Wh). */
  energyWh?: number;
  signedEnergy: boolean;
  /** The reference energy over the transaction (see above). */
  truthWh?: number;
  errorPct?: number;
  conformance: boolean;
  compatibility: boolean;
  issues: OcmfIssue[];
  records: Array<{ pg: string; sha256: string; keyFingerprint?: string }>;
  duplicates: number;
  offlineMessages: number;
  /** The station's register went back between two of the transaction's meter values. */
  registerWentBack: boolean;
  /** Why this transaction counts against the station, if it does. */
  problem?: 'refused token' | 'double' | 'unexpected' | 'not ended';
}

export interface OcppSection {
  rows: OcppRow[];
  /** Sessions the station should have run a transaction for and did not. */
  missing: string[];
  frames: { in: number; out: number };
  /** CALLERRORs the bench sent the station, by error code. */
  callErrors: Record<string, number>;
  mpePct: number;
  /** The wire log for the report: the first WIRE_LOG_FRAMES frames of the case (all of them are in the record). */
  wire: Array<{ t: number; station: string; direction: 'in' | 'out'; frame: string }>;
}

/** Frames a report shows; a long case's MeterValues stay in the record, which holds every frame. */
export const WIRE_LOG_FRAMES = 400;

/** Seconds a transaction may start before the plug-in (a token presented before the cable) or end after unplug. */
const SESSION_SLACK_S = 30;

export const ocppAnalyser: CaseAnalyser = (entries, params, out) => {
  const txs = entries.ofKind<OcppTransactionData>(ENTRY.ocppTransaction);
  const frames = entries.ofKind<OcppFrameData>(ENTRY.ocppFrame);
  const links = entries.ofKind<OcppLinkData>(ENTRY.ocppLink);
  const commands = entries.ofKind<OcppCommandData>(ENTRY.ocppCommand);
  const boots = entries.ofKind<OcppBootData>(ENTRY.ocppBoot);
  if (txs.length === 0 && frames.length === 0 && boots.length === 0) return;
  const sessions = entries.ofKind<TruthSessionData>(ENTRY.truthSession);
  const reference = entries.registers(ENTRY.referenceMeasurement);
  /** The energy the bench's reference measured over a transaction; without one, the session's true energy. */
  const referenceWh = (tx: OcppTransactionData, session?: TruthSessionData) => {
    const readings = reference.get(tx.meterId);
    if (!readings || readings.length < 2 || tx.tEnd === undefined) return session?.importWh;
    const offset = stationClockOffset(tx);
    if (offset === undefined || tx.stationEnd === undefined)
      return registerAt(readings, tx.tEnd, 'importWh') - registerAt(readings, tx.tStart, 'importWh');
    return (
      registerAt(readings, tx.stationEnd + offset, 'importWh') -
      registerAt(readings, tx.stationStart + offset, 'importWh')
    );
  };
  const mpePct = midMpe({ midClass: parseMidClass(params.midClass ?? 'B'), current: 'itr-imax' }).mpePct;

  // A session's owner token opened it, at a time that overlaps it: the best overlap wins, each used once.
  const overlap = (s: TruthSessionData, tx: OcppTransactionData) => {
    if (tx.idToken !== s.ownerContractId || !s.authorised) return 0;
    const from = Math.max(s.plugIn - SESSION_SLACK_S, tx.tStart);
    const to = Math.min(s.unplug + SESSION_SLACK_S, tx.tEnd ?? Number.POSITIVE_INFINITY);
    return to > from ? 1 + (to - from) : 0;
  };
  const assigned = maxWeightAssignment(sessions.length, txs.length, (r, c) => overlap(sessions[r]!, txs[c]!));
  const sessionOfTx = new Map<number, TruthSessionData>();
  assigned.forEach((c, r) => {
    if (c >= 0) sessionOfTx.set(c, sessions[r]!);
  });

  const rows: OcppRow[] = txs.map((tx, c) => {
    const session = sessionOfTx.get(c);
    const check = checkOcmfTransaction({
      idToken: tx.idToken,
      signed: tx.signed,
      stationKey: tx.stationKey,
      meterSerial: tx.meterSerial,
      // The energy is judged by its own metric against the class, so conformance stays the specification's.
    });
    const registers =
      tx.meterStartWh !== undefined && tx.meterStopWh !== undefined ? tx.meterStopWh - tx.meterStartWh : undefined;
    const energyWh = check.energyWh ?? registers;
    const truthWh = session && referenceWh(tx, session);
    const errorPct =
      energyWh !== undefined && truthWh !== undefined && truthWh > 0
        ? ((energyWh - truthWh) / truthWh) * 100
        : undefined;
    let problem: OcppRow['problem'];
    if (session?.tokenStatus) problem = 'refused token';
    else if (!session) problem = sessions.some((s) => overlap(s, tx) > 0) ? 'double' : 'unexpected';
    else if (tx.tEnd === undefined) problem = 'not ended';
    return {
      transactionId: tx.transactionId,
      station: tx.station,
      version: tx.version,
      idToken: tx.idToken,
      session: session?.sessionId,
      tStart: tx.tStart,
      tEnd: tx.tEnd,
      stopReason: tx.stopReason,
      energyWh,
      signedEnergy: check.energyWh !== undefined,
      truthWh,
      errorPct,
      conformance: check.conformance.ok,
      compatibility: check.compatibility.ok,
      issues: check.conformance.issues,
      records: check.records,
      duplicates: tx.duplicates,
      offlineMessages: tx.offlineMessages,
      registerWentBack: wentBack(tx),
      ...(problem && { problem }),
    };
  });

  // Sessions a station must run: an authorised session whose token the back office accepts, that drew energy.
  const expected = sessions.filter((s) => s.authorised && !s.tokenStatus && s.importWh > 0);
  const billed = new Set(rows.flatMap((r) => (r.session ? [r.session] : [])));
  const missing = expected.filter((s) => !billed.has(s.sessionId)).map((s) => s.sessionId);
  const callErrors: Record<string, number> = {};
  for (const f of frames) {
    if (f.direction !== 'out' || !f.frame.startsWith('[4')) continue;
    const code = String((JSON.parse(f.frame) as unknown[])[2]);
    callErrors[code] = (callErrors[code] ?? 0) + 1;
  }
  const counted = rows.filter((r) => r.session && !r.problem);
  const count = (p: OcppRow['problem']) => rows.filter((r) => r.problem === p).length;
  Object.assign(out.metrics, {
    'ocpp.transactions': rows.length,
    'ocpp.sessions_missing': missing.length,
    'ocpp.sessions_double': count('double'),
    'ocpp.unexpected_transactions': count('unexpected'),
    'ocpp.refused_token_charged': count('refused token'),
    'ocpp.not_ended': count('not ended'),
    'ocpp.ocmf_conformance_failures': counted.filter((r) => !r.conformance).length,
    'ocpp.ocmf_compatibility_failures': counted.filter((r) => !r.compatibility).length,
    'ocpp.register_not_monotonic': rows.filter((r) => r.registerWentBack).length,
    'ocpp.call_errors': Object.values(callErrors).reduce((a, b) => a + b, 0),
    'ocpp.duplicate_messages': rows.reduce((a, r) => a + r.duplicates, 0),
    'ocpp.offline_messages': rows.reduce((a, r) => a + r.offlineMessages, 0),
    'ocpp.outages': links.filter((l) => l.event === 'cut').length,
    'ocpp.bench_restarts': links.filter((l) => l.event === 'restart').length,
    'ocpp.boot_notifications': boots.filter((b) => b.booted).length,
    'ocpp.identity_mismatches': boots.reduce((n, b) => n + identityMismatches(b).length, 0),
    'ocpp.remote_stops': commands.filter((c) => c.command === 'remote-stop').length,
    'ocpp.remote_stops_not_honoured': commands.filter((c) => c.command === 'remote-stop' && !remoteStopHonoured(c, txs))
      .length,
    'ocpp.reconnections': links.filter((l) => l.event === 'connected').length,
  });
  // The meter values' cadence against the interval the bench set the station to (the case's meterValuesIntervalS).
  const interval = params.meterValuesIntervalS;
  if (typeof interval === 'number' && interval > 0) {
    const gaps = txs.filter((_, c) => sessionOfTx.has(c)).flatMap((tx) => sampleGaps(tx));
    if (gaps.length) out.metrics['ocpp.meter_values_interval_ratio_max'] = Math.max(...gaps) / interval;
  }
  const errors = counted.flatMap((r) => (r.errorPct === undefined ? [] : [Math.abs(r.errorPct)]));
  if (errors.length) out.metrics['ocpp.energy_error_pct_max'] = Math.max(...errors);
  const section: OcppSection = {
    rows,
    missing,
    frames: {
      in: frames.filter((f) => f.direction === 'in').length,
      out: frames.filter((f) => f.direction === 'out').length,
    },
    callErrors,
    mpePct,
    wire: frames
      .slice(0, WIRE_LOG_FRAMES)
      .map((f) => ({ t: f.t, station: f.station, direction: f.direction, frame: f.frame })),
  };
  out.sections.ocpp = section;
};

/** The fields of the rig's nameplate that the station's own BootNotification contradicts. */
export function identityMismatches(b: OcppBootData): string[] {
  const fields = ['vendor', 'model', 'serial', 'firmware'] as const;
  return fields.filter((f) => b.declared?.[f] !== undefined && b.declared[f] !== b.reported?.[f]);
}

/**
 * A remote stop is honoured when the station accepted it and the transaction then ended as remotely stopped (1.6
 * reason Remote, 2.0.1 stoppedReason Remote).
 */
function remoteStopHonoured(c: OcppCommandData, txs: readonly OcppTransactionData[]): boolean {
  const tx = txs.find((t) => t.station === c.station && t.transactionId === c.transactionId);
  return c.status === 'Accepted' && tx?.tEnd !== undefined && tx.stopReason === 'Remote';
}

/** Whether the energy register of a transaction's meter values (in the station's time order) ever went back. */
function wentBack(tx: OcppTransactionData): boolean {
  const registers = [...tx.samples]
    .sort((a, b) => a.t - b.t)
    .flatMap((s) => (s.energyWh === undefined ? [] : [s.energyWh]));
  return registers.some((wh, i) => i > 0 && wh < registers[i - 1]!);
}

/** Seconds between consecutive meter values of a transaction (begin, periodic, end), by the station's clock. */
function sampleGaps(tx: OcppTransactionData): number[] {
  const times = [...new Set(tx.samples.map((s) => s.t))].sort((a, b) => a - b);
  return times.slice(1).map((t, i) => t - times[i]!);
}

/**
 * Case time minus station time, from the meter value that reached the bench soonest after the station stamped it
 * (every message arrives late by its delay, so the least delay is the best estimate: NTP's rule). The reference
 * window is then the station's begin and end readings placed on the case's clock: the begin reading precedes an
 * Authorize and a start message, and every message waits on a loaded bench, whose delays must not count as
 * charging time. Undefined when no sample carries its arrival time (a record from before arrival times).
 */
function stationClockOffset(tx: OcppTransactionData): number | undefined {
  const delays = tx.samples.flatMap((s) => (s.received === undefined ? [] : [s.received - s.t]));
  return delays.length ? Math.min(...delays) : undefined;
}
