/** A scenario's ground truth: switch events, per-run energies, expected billing sessions and their costs. */
import { bandAt, computeCostMicro, milliWhPerBand, type Tariff } from '../billing/tariff.js';
import { DEFAULT_CURRENCY } from '../billing/tariff-file.js';
import type { TruthEnergy, TruthEvent, TruthSession } from '../core/record/truth.js';
import { BASE_LOAD_PF, eachRun, expandScenario, type LoadRun } from './expansion.js';
import { signatureId } from './library.js';
import { type Segment, segmentEnergyWh } from './play.js';
import { scenarioLedgerTariff } from './scenario.js';
import type { Scenario } from './scenario-schema.js';

export interface GroundTruth {
  epochS: number;
  durationS: number;
  events: TruthEvent[];
  energies: TruthEnergy[];
  sessions: TruthSession[];
  runs: LoadRun[];
}

/** Internal state changes of at least this size are switch events a meter should see (e.g. heater → motor). */
export const STEP_EVENT_W = 50;
/**
 * Adds an import segment's energy to the tariff band of each local hour it spans (power is linear over the
 * segment, so each piece's energy is exact). `into` is indexed by band.
 */
function addBandEnergyWh(s: Segment, epochS: number, tariff: Tariff, into: number[]): void {
  const d = s.to - s.from;
  if (d <= 0) return;
  const pAt = (t: number) => s.p0 + ((s.p1 - s.p0) * (t - s.from)) / d;
  const off = tariff.utcOffsetSeconds;
  for (let a = s.from; a < s.to; ) {
    const hourEnd = (Math.floor((epochS + a + off) / 3600) + 1) * 3600 - off - epochS;
    const b = Math.min(s.to, hourEnd);
    // The band of the piece's midpoint: its ends sit on hour boundaries, where rounding could pick either hour.
    const band = bandAt(tariff, BigInt(Math.floor(epochS + (a + b) / 2)));
    into[band]! += (((pAt(a) + pAt(b)) / 2) * (b - a)) / 3600;
    a = b;
  }
}

/** The switch events of one run: on, each step inside it of at least STEP_EVENT_W, off. */
function runEvents(r: LoadRun, base: Omit<TruthEvent, 't' | 'direction' | 'deltaP' | 'deltaQ'>): TruthEvent[] {
  const first = r.segments[0]!;
  const last = r.segments.at(-1)!;
  const events: TruthEvent[] = [{ ...base, t: r.start, direction: 'on', deltaP: first.p0, deltaQ: first.q0 }];
  for (let i = 1; i < r.segments.length; i++) {
    const a = r.segments[i - 1]!;
    const b = r.segments[i]!;
    const dp = b.p0 - a.p1;
    if (Math.abs(dp) >= STEP_EVENT_W) {
      // A step inside a run (heater → motor): 'on' when the load draws more, 'off' when less.
      events.push({
        ...base,
        t: b.from,
        direction: Math.abs(b.p0) > Math.abs(a.p1) ? 'on' : 'off',
        deltaP: dp,
        deltaQ: b.q0 - a.q1,
      });
    }
  }
  events.push({ ...base, t: r.end, direction: 'off', deltaP: -last.p1, deltaQ: -last.q1 });
  return events;
}

/**
 * How many switch events and expected billing sessions groundTruth would give, one run at a time: the counts
 * `bench scenario generate` prints, without holding the whole truth (1.3 GB for 200 houses over 31 days).
 */
export function truthCounts(scenario: Scenario, seed: number): { events: number; sessions: number } {
  let events = 0;
  const sessions = new Set<string>();
  eachRun(scenario, seed, (r) => {
    events += runEvents(r, { meterId: r.meterId, loadId: r.loadId, profile: '', class: r.profile.class }).length;
    // A session paused by smart charging has several runs: one plug-in, one expected billing record.
    if (r.ev) sessions.add(r.loadId);
  });
  return { events, sessions: sessions.size };
}

/** Switch events, per-run energies and expected billing sessions. Pure and deterministic given the seed. */
export function groundTruth(scenario: Scenario, seed: number): GroundTruth {
  const runs = expandScenario(scenario, seed);
  const events: TruthEvent[] = [];
  const energies: GroundTruth['energies'] = [];
  const sessions = new Map<string, TruthSession>();
  const contractOf = new Map(scenario.houses.map((h) => [h.id, h.contract]));
  const v = scenario.voltage.nominal;
  const epochS = Date.parse(scenario.start) / 1000;
  const tariff = scenarioLedgerTariff(scenario);
  for (const r of runs) {
    const cls = r.profile.class;
    const sig = signatureId(r.profile);
    const base = { meterId: r.meterId, loadId: r.loadId, profile: sig, class: cls };
    for (const e of runEvents(r, base)) events.push(e);
    let energyWh = 0;
    let importWh = 0;
    let exportWh = 0;
    let sumS = 0;
    let sumP = 0;
    let sumQ = 0;
    const bandWh = tariff.bandPrices.map(() => 0);
    for (const s of r.segments) {
      const e = segmentEnergyWh(s);
      energyWh += e;
      if (e >= 0) {
        importWh += e;
        if (r.ev) addBandEnergyWh(s, epochS, tariff, bandWh);
      } else exportWh -= e;
      const dur = s.to - s.from;
      sumS += Math.hypot((s.p0 + s.p1) / 2, (s.q0 + s.q1) / 2) * dur;
      sumP += Math.abs((s.p0 + s.p1) / 2) * dur;
      sumQ += ((s.q0 + s.q1) / 2) * dur;
    }
    const dur = r.end - r.start;
    // A test point's current is the current per phase: on a three-phase supply the most loaded phase's share.
    const most = r.shares.indexOf(Math.max(...r.shares));
    const phaseV = scenario.phaseVoltages?.[most]?.nominal ?? v;
    const onPhases = r.shares.filter((x) => x > 0).length;
    energies.push({
      ...base,
      start: r.start,
      end: r.end,
      energyWh,
      currentA: (sumS * r.shares[most]!) / dur / phaseV,
      ...(scenario.phases === 3 && { phases: onPhases > 1 ? 'L1L2L3' : (['L1', 'L2', 'L3'] as const)[most] }),
      pf: sumS ? (sumQ < 0 ? -1 : 1) * (sumP / sumS) : 1,
    });
    if (r.ev) {
      // A session paused by smart charging has several runs: one plug-in, one expected billing record.
      const host = contractOf.get(r.meterId)!;
      const open = sessions.get(r.loadId);
      if (open) {
        open.end = r.end;
        open.importWh += importWh;
        open.exportWh += exportWh;
        bandWh.forEach((e, b) => {
          open.bandWh[b]! += e;
        });
      } else {
        sessions.set(r.loadId, {
          sessionId: r.loadId,
          meterId: r.meterId,
          evId: r.ev.evId,
          ownerContractId: r.ev.owner,
          hostContractId: host,
          payerContractId: r.ev.authorise ? r.ev.owner : host,
          authorised: r.ev.authorise,
          // Only a refused token is written, so records of scenarios without one are unchanged.
          ...(r.ev.tokenStatus !== 'Accepted' && { tokenStatus: r.ev.tokenStatus }),
          roaming: r.meterId !== r.ev.home,
          plugIn: r.ev.plugIn,
          unplug: r.ev.unplug,
          start: r.start,
          end: r.end,
          importWh,
          exportWh,
          bandWh,
          cost: 0,
          currency: scenario.tariff?.currency ?? DEFAULT_CURRENCY,
        });
      }
    }
  }
  for (const s of sessions.values()) s.cost = expectedCost(tariff, epochS, s);
  for (const h of scenario.houses) {
    // The always-on standby load: part of the metered total, never a switch event.
    const pf = BASE_LOAD_PF;
    energies.push({
      meterId: h.id,
      loadId: 'base',
      class: 'base',
      profile: 'base',
      start: 0,
      end: scenario.durationS,
      energyWh: (h.baseLoadW * scenario.durationS) / 3600,
      currentA: h.baseLoadW / pf / v,
      pf,
    });
  }
  events.sort((a, b) => a.t - b.t || a.loadId.localeCompare(b.loadId));
  return { epochS, durationS: scenario.durationS, events, energies, sessions: [...sessions.values()], runs };
}

/**
 * What the meter should bill for a session: its version-2 record (unix start/end, the import energy in each
 * tariff band in milli-Wh, rounded as the meter rounds them) through billing/tariff.ts computeCostMicro, in
 * currency units.
 */
export function expectedCost(
  tariff: Tariff,
  epochS: number,
  s: Pick<TruthSession, 'start' | 'end' | 'bandWh' | 'exportWh'>,
): number {
  const bandMilliWh = milliWhPerBand(s.bandWh);
  const micro = computeCostMicro(tariff, {
    start: BigInt(Math.round(epochS + s.start)),
    end: BigInt(Math.round(epochS + s.end)),
    importMilliWh: bandMilliWh.reduce((a, b) => a + b, 0n),
    exportMilliWh: BigInt(Math.round(s.exportWh * 1000)),
    version: 2,
    bandMilliWh,
  });
  return Number(micro) / 1e6;
}
