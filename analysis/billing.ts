import type { BillingDomain, SignedBillingRecord } from '../billing/billing-record.js';
import { type LandedRecord, type LandedRecordJson, landedFromJson } from '../billing/landed.js';
import { signedBillingRecordFromJson } from '../billing/record-json.js';
import { stationEvidence } from '../billing/station-record.js';
import { bandChanges, milliWhPerBand, type Tariff, type TariffJson, tariffFromJson } from '../billing/tariff.js';
import { verifyBilling } from '../billing/verify.js';
import type { ExpectedRecord, LedgerVerification, MeterState, SubmissionOutcome } from '../billing/verify-types.js';
import { ENTRY, type OcppTransactionData, type TruthSessionData } from '../core/record/entries.js';
import type { CaseAnalyser, CaseAnalysis } from './case-analysis.js';
import type { CaseEntries } from './case-entries.js';
import { registerAt } from './energy.js';
import { midMpe, parseMidClass } from './standards/mid.js';

/** One row of the billing table: a record on the ledger with what the verifier found wrong with it. */
export interface BillingRow {
  meterId: string;
  seq: string;
  payer: string;
  start: number;
  end: number;
  importWh: number;
  exportWh: number;
  cost: number;
  /** ISO 4217 code of the currency of the record's tariff version, when the run recorded it. */
  currency?: string;
  status: 'ok' | 'issues';
  sessionId?: string;
  /** The host meter's import register (kWh) at the record's start and end, for OCMF readings. */
  registerBeginKWh?: number;
  registerEndKWh?: number;
  /** The import register (kWh) at each tariff change inside the record's [start, end), for OCMF readings (TX T). */
  tariffChanges?: Array<{ t: number; registerKWh: number }>;
  problems: string[];
}

export interface BillingSection {
  rows: BillingRow[];
  verification: LedgerVerification;
}

interface LedgerState {
  domain: { name: string; version: string; chainId: string; verifyingContract: string };
  meters: MeterState[];
  tariffs: Record<string, TariffJson>;
  /** ISO 4217 currency of the tariff versions the run published (the chain stores only micro-units). */
  currencies?: Record<string, string>;
}

const MICRO = 1e6;

/**
 * Billing verification record by record (DESIGN §6) with the ledger's own pure verifier: what landed on the chain
 * (read back by block range), what the meter emitted, what the relayer was told, and what the ground truth expects
 * (payer and host pseudonyms, times, energy), with the tariff cost recomputed from the registry's tariff.
 * Energy tolerance is the MID class MPE; times ±billingTimeToleranceS (default 2 s).
 */
export const billingAnalyser: CaseAnalyser = (
  entries: CaseEntries,
  params: Record<string, unknown>,
  out: CaseAnalysis,
) => {
  const sessions: TruthSessionData[] = [];
  const landed: LandedRecord[] = [];
  const observed: SignedBillingRecord[] = [];
  const submissions: SubmissionOutcome[] = [];
  const registers = entries.registers(ENTRY.meterMeasurement);
  const stationTransactions: OcppTransactionData[] = [];
  let state: LedgerState | undefined;
  for (const e of entries.kept) {
    const d = e.data;
    switch (e.kind) {
      case ENTRY.truthSession:
        sessions.push(d as unknown as TruthSessionData);
        break;
      case ENTRY.ledgerLanded:
        landed.push(landedFromJson(d as unknown as LandedRecordJson));
        break;
      case ENTRY.meterBilling:
        observed.push(signedBillingRecordFromJson(d.signed));
        break;
      case ENTRY.ledgerSubmission:
        submissions.push({
          meter: String(d.meter),
          seq: BigInt(String(d.seq)),
          status: d.status as SubmissionOutcome['status'],
          reason: d.reason as string | undefined,
        });
        break;
      case ENTRY.ocppTransaction:
        stationTransactions.push(d as unknown as OcppTransactionData);
        break;
      case ENTRY.ledgerState:
        state = d as unknown as LedgerState;
        break;
    }
  }
  if (!state) return;

  const domain: BillingDomain = { ...state.domain, chainId: BigInt(state.domain.chainId) };
  const tariffs = new Map<number, Tariff>(
    Object.entries(state.tariffs).map(([v, t]) => [Number(v), tariffFromJson(t)]),
  );
  // EV charging draws amperes (6 A and up, IEC 61851-1), far above any meter's Itr: the Itr ≤ I ≤ Imax MPE applies.
  const energyPct = midMpe({ midClass: parseMidClass(params.midClass ?? 'B'), current: 'itr-imax' }).mpePct;
  // A session whose token the back office refused (a station answered Blocked, Invalid…) is billed to nobody.
  const billable = sessions.filter((s) => !s.tokenStatus);
  // At a charging station the record runs by the station's clock, which is not the scenario's (a real station keeps
  // wall time): its times and band split are checked against what the station signed and reported (the evidence
  // check), its payer, host and energy against the truth here.
  const atStation = stationTransactions.length > 0;
  const expected: ExpectedRecord[] = billable.map((s) => ({
    meter: s.meterAddress,
    payer: s.payerPseudonym,
    host: s.hostPseudonym,
    ...(!atStation && { start: BigInt(Math.round(s.startUnix)), end: BigInt(Math.round(s.endUnix)) }),
    importMilliWh: BigInt(Math.round(s.importWh * 1000)),
    exportMilliWh: BigInt(Math.round(s.exportWh * 1000)),
    // Run records from before per-band ground truth have no bandWh.
    bandMilliWh: atStation ? undefined : s.bandWh && milliWhPerBand(s.bandWh),
    label: s.sessionId,
  }));
  const verification = verifyBilling({
    domain,
    landed,
    observed,
    submissions,
    expected,
    meters: state.meters,
    tariffs,
    ...(stationTransactions.length && { stationEvidence: stationEvidence(stationTransactions) }),
    tolerances: {
      timeSeconds: BigInt(Math.round(Number(params.billingTimeToleranceS ?? 2))),
      energyPpm: BigInt(Math.round(energyPct * 10_000)),
    },
  });

  const meterIdOf = new Map(sessions.map((s) => [s.meterAddress.toLowerCase(), s.meterId]));
  // The verifier's one-to-one assignment of records to sessions is the one every per-session figure below uses.
  const sessionOf = new Map<string, TruthSessionData>();
  for (const [i, a] of verification.assignment.entries()) {
    if (a.seq !== undefined) sessionOf.set(`${a.meter.toLowerCase()}#${a.seq}`, billable[i]!);
  }
  const rows: BillingRow[] = landed.map((l) => {
    const r = l.record;
    const meterId = meterIdOf.get(r.meter.toLowerCase()) ?? r.meter;
    const problems = verification.issues
      .filter((i) => i.meter.toLowerCase() === r.meter.toLowerCase() && i.seq === r.seq.toString())
      .map((i) => `${i.kind}: ${i.message}`);
    const session = sessionOf.get(`${r.meter.toLowerCase()}#${r.seq}`);
    const series = registers.get(meterId);
    const epoch = sessions[0] ? sessions[0].startUnix - sessions[0].start : undefined;
    const tariff = tariffs.get(Number(r.tariffVersion));
    return {
      meterId,
      seq: r.seq.toString(),
      payer: r.payer,
      start: Number(r.start),
      end: Number(r.end),
      importWh: Number(r.importMilliWh) / 1000,
      exportWh: Number(r.exportMilliWh) / 1000,
      cost: Number(r.costMicro) / MICRO,
      currency: state.currencies?.[r.tariffVersion.toString()] ?? session?.currency,
      status: problems.length ? 'issues' : 'ok',
      sessionId: session?.sessionId,
      registerBeginKWh:
        series && epoch !== undefined ? registerAt(series, Number(r.start) - epoch, 'importWh') / 1000 : undefined,
      registerEndKWh:
        series && epoch !== undefined ? registerAt(series, Number(r.end) - epoch, 'importWh') / 1000 : undefined,
      tariffChanges:
        series && epoch !== undefined && tariff && r.end >= r.start
          ? bandChanges(tariff, r.start, r.end).map((c) => ({
              t: Number(c.at),
              registerKWh: registerAt(series, Number(c.at) - epoch, 'importWh') / 1000,
            }))
          : undefined,
      problems,
    };
  });
  // Billed EV energy per expected session against the truth, through the same assignment.
  const recordOf = new Map(landed.map((l) => [`${l.record.meter.toLowerCase()}#${l.record.seq}`, l.record]));
  let worstEvErrorPct = Number.NaN;
  for (const [i, s] of billable.entries()) {
    const a = verification.assignment[i];
    const rec = a?.seq !== undefined ? recordOf.get(`${a.meter.toLowerCase()}#${a.seq}`) : undefined;
    if (!rec) continue;
    const trueWh = s.importWh + s.exportWh;
    const billedWh = (Number(rec.importMilliWh) + Number(rec.exportMilliWh)) / 1000;
    const err = trueWh > 0 ? (Math.abs(billedWh - trueWh) / trueWh) * 100 : 0;
    worstEvErrorPct = Number.isNaN(worstEvErrorPct) ? err : Math.max(worstEvErrorPct, err);
  }
  if (!Number.isNaN(worstEvErrorPct)) out.metrics['energy.ev_error_pct_max'] = worstEvErrorPct;
  out.sections.billing = { rows, verification } satisfies BillingSection;
  const c = verification.counts;
  Object.assign(out.metrics, {
    'billing.expected': billable.length,
    'billing.missing': c.missing,
    'billing.duplicates': c.duplicates,
    'billing.rejected': c.rejected,
    'billing.invalid_signature': c.forged,
    'billing.sequence_errors': c.sequenceErrors,
    'billing.payer_mismatch': c.payerMismatch,
    'billing.host_mismatch': c.hostMismatch,
    'billing.time_mismatch': c.timeMismatch,
    'billing.energy_mismatch': c.energyMismatch,
    'billing.cost_mismatch': c.costMismatch,
    'billing.v2g_uncredited': c.v2gUncredited,
    'billing.unattested': c.unattested + c.unregistered + c.revoked,
    'billing.tampered': c.tampered,
    'billing.evidence_mismatch': c.evidenceMismatch,
  });
};
