import { stringify } from 'yaml';
import { InputError } from '../core/errors.js';
import { type Random, seededRandom } from '../core/random.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';

/** Every option added after the first release defaults off, so a scenario once generated stays the same. */
export interface GenerateOptions {
  houses: number;
  /** EV sessions at a neighbour's meter, spread over the days. */
  evVisits: number;
  days: number;
  seed: number;
  start?: string;
  /** Draw each session's energy (kWh) from SESSION_ENERGY: the EV stops charging when it has it. */
  sessionEnergy?: boolean;
  /** This many of the EV visits present no token (billed to the host under the unattributed policy). */
  unauthorised?: number;
  /** This many houses (the first ones) have a rooftop PV inverter exporting around midday. */
  pv?: number;
  /** This many houses (the last ones) run a heat pump a few times a day. */
  heatPumps?: number;
  /** This many EVs (the last ones) have bidirectional chargers: they export (V2H/V2G) wherever they plug in. */
  v2g?: number;
  /** This many EVs (the first ones) follow the TOU tariff: they pause charging in the peak band. */
  smart?: number;
}

/**
 * Energy per charging session: log-normal, median 9 kWh and log-σ 0.6 (90 % of sessions between 3.4 and 24 kWh),
 * truncated to 1..40 kWh. Why: published session data (ACN-Data's kWhDelivered, Lee, Li & Low, e-Energy 2019;
 * the Norwegian residential charging reports of Sørensen et al., Data in Brief 2021) is right-skewed with most
 * sessions a fraction of a battery, which a log-normal fits; the median is a typical daily top-up (~50 km).
 */
export const SESSION_ENERGY = { medianKWh: 9, sigma: 0.6, minKWh: 1, maxKWh: 40 } as const;

export function drawSessionKWh(rnd: Random): number {
  const e = SESSION_ENERGY;
  const kWh = e.medianKWh * Math.exp(e.sigma * rnd.normal());
  return Math.round(Math.min(e.maxKWh, Math.max(e.minKWh, kWh)) * 100) / 100;
}

/** Independent streams per option: turning one option on leaves every other draw as it was. */
const stream = (seed: number, salt: number) => seededRandom((seed ^ salt) >>> 0);

const EV_PROFILES = ['ev-1ph-7.4kw', 'ev-1ph-3.7kw', 'ev-3ph-11kw', 'ev-l1-1.44kw'];
const APPLIANCES: Array<[string, number, number]> = [
  ['kettle', 90, 200],
  ['microwave', 60, 300],
  ['led-tv', 1800, 7200],
  ['induction-hob', 300, 1500],
  ['hair-dryer', 120, 400],
  ['vacuum-cleaner', 300, 900],
];

/**
 * A seeded multi-house scenario: each house has a fridge, random appliance use and an EV charging at home every
 * evening; `evVisits` sessions take an EV to a neighbour's house (authorised with its owner's token, as the
 * survey's key case). Arrival times follow the evening peak of residential charging in ACN-Data
 * (mean 18:30, σ 1 h); plug-in durations are log-normal (median 2.5 h), as in published session statistics.
 */
export function generateScenario(o: GenerateOptions): Scenario {
  const problem = (field: string, message: string) =>
    new InputError(message, [{ file: 'bench scenario generate', field, message }]);
  if (o.houses < 1) throw problem('houses', 'at least one house');
  if (o.evVisits > 0 && o.houses < 2) throw problem('ev-visits', 'EV visits need at least two houses');
  if ((o.unauthorised ?? 0) > o.evVisits) throw problem('unauthorised', 'more unauthorised visits than EV visits');
  for (const k of ['pv', 'heatPumps', 'v2g', 'smart'] as const)
    if ((o[k] ?? 0) > o.houses) throw problem(k, `${k}: more than the ${o.houses} houses`);
  if ((o.v2g ?? 0) + (o.smart ?? 0) > o.houses) throw problem('smart', 'v2g and smart EVs together exceed the EVs');
  const rnd = seededRandom(o.seed);
  const durationS = o.days * 86400;
  const houses = Array.from({ length: o.houses }, (_, i) => ({
    id: `house-${i + 1}`,
    contract: `C-HOUSE-${i + 1}`,
    baseLoadW: Math.round(rnd.uniform(80, 200)),
    loads: [{ id: `fridge-${i + 1}`, profile: 'fridge', on: Math.round(rnd.uniform(0, 1200)) }],
    randomLoads: APPLIANCES.map(([profile, min, max]) => ({
      profile,
      count: Math.max(1, Math.round(rnd.uniform(1, 3) * o.days)),
      minDurationS: min,
      maxDurationS: max,
    })),
  }));
  const sessionAt = (day: number) => {
    const arrival = Math.min(23.5, Math.max(15, 18.5 + rnd.normal())) * 3600;
    const duration = Math.min(5 * 3600, Math.max(1800, 2.5 * 3600 * Math.exp(0.4 * rnd.normal())));
    const plugIn = Math.round(day * 86400 + arrival);
    return { plugIn, unplug: Math.min(durationS - 60, Math.round(plugIn + duration)) };
  };
  const evs = houses.map((h, i) => {
    const sessions = [];
    for (let d = 0; d < o.days; d++) {
      const s = sessionAt(d);
      if (s.unplug > s.plugIn + 600) sessions.push({ at: h.id, ...s, authorise: true });
    }
    return {
      id: `ev-${i + 1}`,
      owner: h.contract,
      home: h.id,
      profile: EV_PROFILES[i % EV_PROFILES.length]!,
      sessions,
    };
  });
  for (let k = 0; k < o.evVisits; k++) {
    const ev = evs[Math.floor(rnd.next() * evs.length)]!;
    const others = houses.filter((h) => h.id !== ev.home);
    const host = others[Math.floor(rnd.next() * others.length)]!;
    const day = Math.floor(rnd.next() * o.days);
    // A daytime visit, so it never overlaps the owner's evening session at home.
    const plugIn = Math.round(day * 86400 + rnd.uniform(9, 13) * 3600);
    ev.sessions.push({
      at: host.id,
      plugIn,
      unplug: plugIn + Math.round(rnd.uniform(1800, 3 * 3600)),
      authorise: true,
    });
  }
  for (const ev of evs) ev.sessions = oneAtATime(ev.sessions, durationS);
  const extras = applyExtras(o, houses, evs);
  return scenarioSchema.parse({
    name: `generated-${o.houses}h-${o.days}d-${o.evVisits}v-s${o.seed}${extras.suffix}`,
    description: `Generated by bench scenario generate --houses ${o.houses} --ev-visits ${o.evVisits} --days ${o.days} --seed ${o.seed}${extras.flags}`,
    start: o.start ?? '2026-03-02T00:00:00Z',
    durationS,
    houses,
    evs: evs.filter((e) => e.sessions.length > 0),
  });
}

/**
 * Time an EV needs between unplugging at one house and plugging in at another: driving between neighbours plus
 * parking and connecting. An assumption (the generated houses are neighbours on one feeder, a few minutes apart),
 * not a measured figure; sessions at the same house only need not overlap.
 */
export const TRAVEL_S = 15 * 60;
/** A session shorter than this is no charging session (the same floor the evening sessions are drawn with). */
const MIN_SESSION_S = 600;

/**
 * One car is in one place at a time: the sessions in time order, each starting no earlier than the previous one's
 * unplug (plus TRAVEL_S when it moves house). A session drawn too early is moved later, keeping its length (the
 * owner comes home from the neighbour's later, a second visit follows the first); one that no longer fits before
 * the scenario's end is left out. No random draw is added, so every seed whose sessions never clashed generates
 * exactly what it did before.
 */
function oneAtATime<S extends { at: string; plugIn: number; unplug: number }>(sessions: S[], durationS: number): S[] {
  const out: S[] = [];
  for (const s of [...sessions].sort((a, b) => a.plugIn - b.plugIn)) {
    const prev = out.at(-1);
    const free = prev ? prev.unplug + (prev.at === s.at ? 0 : TRAVEL_S) : 0;
    if (s.plugIn >= free) {
      out.push(s);
      continue;
    }
    const moved = { ...s, plugIn: free, unplug: Math.min(durationS - 60, free + (s.unplug - s.plugIn)) };
    if (moved.unplug - moved.plugIn >= MIN_SESSION_S) out.push(moved);
  }
  return out;
}

interface GenHouse {
  id: string;
  loads: Array<{ id: string; profile: string; on: number; off?: number }>;
  randomLoads: Array<{ profile: string; count: number; minDurationS: number; maxDurationS: number }>;
}
interface GenEv {
  id: string;
  home: string;
  profile: string;
  smart?: { tariff: { bands: string[]; kW: number } };
  sessions: Array<{ at: string; plugIn: number; unplug: number; authorise: boolean; energyKWh?: number }>;
}

/** The options that default off, applied after the base draws (each from its own stream). */
function applyExtras(o: GenerateOptions, houses: GenHouse[], evs: GenEv[]) {
  const flags: string[] = [];
  const visits = evs.flatMap((ev) => ev.sessions.filter((s) => s.at !== ev.home));
  // Visits are already in random order of EV, host and day; the first K of them (by time) go unauthorised.
  visits.sort((a, b) => a.plugIn - b.plugIn);
  for (const v of visits.slice(0, o.unauthorised ?? 0)) v.authorise = false;
  if (o.unauthorised) flags.push(`--unauthorised ${o.unauthorised}`);

  const pv = stream(o.seed, 0x5011);
  houses.slice(0, o.pv ?? 0).forEach((h, i) => {
    for (let d = 0; d < o.days; d++) {
      // Export from mid-morning to mid-afternoon, when a 3 kW array beats the house's own draw.
      const on = Math.round(d * 86400 + pv.uniform(9.5, 11) * 3600);
      h.loads.push({
        id: `pv-${i + 1}-d${d}`,
        profile: 'pv-inverter-3kw',
        on,
        off: on + Math.round(pv.uniform(4, 6) * 3600),
      });
    }
  });
  if (o.pv) flags.push(`--pv ${o.pv}`);

  const hp = stream(o.seed, 0x4ea7);
  for (const h of houses.slice(houses.length - (o.heatPumps ?? 0))) {
    h.randomLoads.push({
      profile: 'heat-pump',
      count: Math.max(1, Math.round(hp.uniform(2, 4) * o.days)),
      minDurationS: 1200,
      maxDurationS: 3600,
    });
  }
  if (o.heatPumps) flags.push(`--heat-pumps ${o.heatPumps}`);

  // A bidirectional car exports wherever it plugs in: at home in the evening (V2H), on a visit to the host.
  for (const ev of evs.slice(evs.length - (o.v2g ?? 0))) ev.profile = 'ev-v2g-7.4kw';
  if (o.v2g) flags.push(`--v2g ${o.v2g}`);
  for (const ev of evs.slice(0, o.smart ?? 0)) {
    ev.profile = 'ev-smart-7.4kw';
    ev.smart = { tariff: { bands: ['peak'], kW: 0 } };
  }
  if (o.smart) flags.push(`--smart ${o.smart}`);

  if (o.sessionEnergy) {
    const energy = stream(o.seed, 0xe4e6);
    for (const ev of evs) for (const s of ev.sessions) s.energyKWh = drawSessionKWh(energy);
    flags.push('--session-energy');
  }
  return {
    flags: flags.map((f) => ` ${f}`).join(''),
    suffix: flags.map((f) => `-${f.replace(/^--/, '').replace(' ', '')}`).join(''),
  };
}

/** A scenario as it is written out: a single-phase supply is the default and goes unsaid, as before phases existed. */
export function scenarioDocument(s: Scenario): Omit<Scenario, 'phases'> & { phases?: 3 } {
  const { phases, ...rest } = s;
  return phases === 1 ? rest : { ...rest, phases };
}

export function scenarioToYaml(s: Scenario): string {
  return stringify(scenarioDocument(s), { lineWidth: 120 });
}
