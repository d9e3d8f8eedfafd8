import { basename, join } from 'node:path';
import { FileValidationError } from '../core/errors.js';
import { readInputText, readJsonFile } from '../core/files/io.js';
import { playEvSession } from './ev-charging.js';
import { getBuiltinProfile } from './library.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';
import { type Profile, profileSchema } from './schema.js';

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'load';

/**
 * One DFT bin over whole cycles. Hand-written because PLAID's 500 samples per cycle (30 kHz / 60 Hz) is not a
 * power of two, which fft.js requires, and only 15 bins are needed.
 */
function bin(x: Float64Array, from: number, count: number, cycles: number, h: number): { re: number; im: number } {
  let re = 0;
  let im = 0;
  for (let k = 0; k < count; k++) {
    const a = (2 * Math.PI * h * cycles * k) / count;
    re += x[from + k]! * Math.cos(a);
    im -= x[from + k]! * Math.sin(a);
  }
  return { re: (re * Math.SQRT2) / count, im: (im * Math.SQRT2) / count };
}

/**
 * PLAID (Plug Load Appliance Identification Dataset): a headerless CSV of `current,voltage` at 30 kHz and a
 * metadata JSON keyed by the record id with `appliance.type` and `header.sampling_frequency` ("30000Hz").
 * The profile is fitted from the last 10 mains cycles: P, Q and current harmonics 2..15.
 */
export function importPlaid(csvFile: string, metaFile: string, opts: { mainsHz?: number } = {}): Profile {
  const id = basename(csvFile).replace(/\.csv$/, '');
  const meta = readJsonFile(metaFile, 'the PLAID metadata JSON (--meta; the record CSV is the argument)') as Record<
    string,
    { appliance?: { type?: string }; header?: { sampling_frequency?: string } }
  >;
  const entry = meta?.[id];
  if (!entry?.appliance?.type) {
    throw new FileValidationError(metaFile, [
      { file: metaFile, field: `${id}.appliance.type`, message: `no metadata for record ${id}` },
    ]);
  }
  const fs = Number.parseFloat(entry.header?.sampling_frequency ?? '30000');
  const mains = opts.mainsHz ?? 60;
  const lines = readInputText(csvFile)
    .split('\n')
    .filter((l) => l.trim());
  const i = new Float64Array(lines.length);
  const v = new Float64Array(lines.length);
  lines.forEach((line, n) => {
    const [a, b] = line.split(',').map(Number);
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      throw new FileValidationError(csvFile, [
        { file: csvFile, line: n + 1, column: 1, message: 'expected "current,voltage" numbers' },
      ]);
    }
    i[n] = a!;
    v[n] = b!;
  });
  const perCycle = Math.round(fs / mains);
  const cycles = Math.min(10, Math.floor(lines.length / perCycle));
  if (cycles < 1)
    throw new FileValidationError(csvFile, [
      { file: csvFile, line: 1, message: 'less than one mains cycle of samples' },
    ]);
  const count = cycles * perCycle;
  const from = lines.length - count;
  let p = 0;
  for (let k = from; k < lines.length; k++) p += v[k]! * i[k]!;
  p /= count;
  let q = 0;
  const harmonics: Profile['states'][number]['harmonics'] = [];
  const v1 = bin(v, from, count, cycles, 1);
  const i1 = bin(i, from, count, cycles, 1);
  const i1mag = Math.hypot(i1.re, i1.im);
  const v1phase = Math.atan2(v1.im, v1.re);
  for (let h = 1; h <= 15; h++) {
    const vh = h === 1 ? v1 : bin(v, from, count, cycles, h);
    const ih = h === 1 ? i1 : bin(i, from, count, cycles, h);
    q += vh.im * ih.re - vh.re * ih.im;
    const ratio = Math.hypot(ih.re, ih.im) / i1mag;
    if (h >= 2 && ratio >= 0.005) {
      const phase = ((Math.atan2(ih.im, ih.re) - h * v1phase) * 180) / Math.PI;
      const rel = phase - (h * ((Math.atan2(i1.im, i1.re) - v1phase) * 180)) / Math.PI;
      harmonics.push({
        order: h,
        ratio: Number(ratio.toFixed(4)),
        phaseDeg: Number(((((rel % 360) + 540) % 360) - 180).toFixed(1)),
      });
    }
  }
  return profileSchema.parse({
    name: `plaid-${slug(entry.appliance.type)}-${slug(id)}`,
    class: slug(entry.appliance.type),
    description: `${entry.appliance.type} fitted from PLAID record ${id}`,
    source: `PLAID record ${id} (${fs} Hz), last ${cycles} cycles`,
    states: [{ name: 'steady', kind: 'steady', p: Number(p.toFixed(2)), q: Number(q.toFixed(2)), harmonics }],
  });
}

interface AcnSession {
  connectionTime: string;
  disconnectTime: string;
  doneChargingTime?: string | null;
  kWhDelivered: number;
  userID?: string | null;
  stationID: string;
  sessionID: string;
}

/** The uncontrolled chargers of the library an imported session may have used, with their rated power. */
const ACN_CHARGERS: Array<[string, number]> = [
  ['ev-l1-1.44kw', 1440],
  ['ev-1ph-3.7kw', 3680],
  ['ev-1ph-7.4kw', 7360],
  ['ev-3ph-11kw', 11000],
];

/**
 * The charger of a user's sessions: the one rated nearest the highest mean charging power among them, of those
 * that can deliver every session's kWhDelivered within its plug-in window.
 */
function acnChargerFor(
  file: string,
  sessions: Array<{ idx: number; plugIn: number; unplug: number; wh: number; meanW: number }>,
): string {
  const meanW = Math.max(...sessions.map((s) => s.meanW));
  const able = ACN_CHARGERS.filter(([name]) => {
    const profile = getBuiltinProfile(name);
    return sessions.every((s) => {
      const runs = playEvSession(profile, s.plugIn, s.unplug, { energyWh: s.wh });
      const wh = runs
        .flatMap((r) => r.segments)
        .reduce((e, g) => e + (((g.p0 + g.p1) / 2) * (g.to - g.from)) / 3600, 0);
      return wh >= s.wh * (1 - 1e-9);
    });
  });
  if (!able.length) {
    const worst = sessions.reduce((a, b) => (b.meanW > a.meanW ? b : a));
    throw new FileValidationError(file, [
      {
        file,
        field: `_items[${worst.idx}].kWhDelivered`,
        message: `${worst.wh / 1000} kWh cannot be delivered between connectionTime and disconnectTime by an 11 kW charger`,
      },
    ]);
  }
  return able.reduce((best, o) => (Math.abs(o[1] - meanW) < Math.abs(best[1] - meanW) ? o : best))[0];
}

/**
 * ACN-Data sessions (`{"_items": [{connectionTime, disconnectTime, doneChargingTime, kWhDelivered, userID,
 * stationID, sessionID}]}`) → a scenario: one house per station, one EV per user, one session per record,
 * plugged in from connectionTime to disconnectTime and taking exactly kWhDelivered (the EV then stays plugged in
 * without drawing, as most ACN-Data sessions do). The charger is the library's nearest to the session's mean power
 * while charging (until doneChargingTime) that can deliver the energy in the window.
 */
export function importAcnSessions(file: string): Scenario {
  const data = readJsonFile(file, 'ACN-Data sessions ({"_items": [...]})') as { _items?: AcnSession[] };
  const items = data._items;
  if (!Array.isArray(items) || items.length === 0) {
    throw new FileValidationError(file, [
      { file, field: '_items', message: 'expected a non-empty _items array of sessions' },
    ]);
  }
  const t = (s: string, field: string, idx: number) => {
    const ms = Date.parse(s);
    if (Number.isNaN(ms))
      throw new FileValidationError(file, [{ file, field: `_items[${idx}].${field}`, message: `not a date: ${s}` }]);
    return ms / 1000;
  };
  const first = Math.min(...items.map((s, k) => t(s.connectionTime, 'connectionTime', k)));
  const start = Math.floor(first / 86400) * 86400;
  const stations = [...new Set(items.map((s) => s.stationID))];
  const houseOf = (station: string) => `station-${slug(station)}`;
  const users = new Map<
    string,
    Array<{ idx: number; at: string; plugIn: number; unplug: number; wh: number; meanW: number; authorise: boolean }>
  >();
  let end = 0;
  items.forEach((s, k) => {
    const plugIn = t(s.connectionTime, 'connectionTime', k) - start;
    const unplug = t(s.disconnectTime, 'disconnectTime', k) - start;
    if (!(unplug > plugIn))
      throw new FileValidationError(file, [
        { file, field: `_items[${k}].disconnectTime`, message: 'not after connectionTime' },
      ]);
    if (!(typeof s.kWhDelivered === 'number' && s.kWhDelivered > 0))
      throw new FileValidationError(file, [
        { file, field: `_items[${k}].kWhDelivered`, message: 'expected a positive number of kWh' },
      ]);
    const done = s.doneChargingTime ? t(s.doneChargingTime, 'doneChargingTime', k) - start : unplug;
    const chargingS = Math.max(60, Math.min(unplug, done) - plugIn);
    const user = s.userID ?? `anonymous-${s.sessionID}`;
    const list = users.get(user) ?? [];
    list.push({
      idx: k,
      at: houseOf(s.stationID),
      plugIn,
      unplug,
      wh: s.kWhDelivered * 1000,
      meanW: (s.kWhDelivered * 3_600_000) / chargingS,
      authorise: s.userID != null,
    });
    users.set(user, list);
    end = Math.max(end, unplug);
  });
  const evs = [...users.entries()].map(([user, sessions]) => ({
    id: `ev-${slug(user)}`,
    owner: `C-${slug(user).toUpperCase()}`,
    home: sessions[0]!.at,
    profile: acnChargerFor(file, sessions),
    sessions: sessions.map((s) => ({
      at: s.at,
      plugIn: s.plugIn,
      unplug: s.unplug,
      authorise: s.authorise,
      energyKWh: s.wh / 1000,
    })),
  }));
  return scenarioSchema.parse({
    name: `acn-${slug(basename(file))}`,
    description: `Imported from ACN-Data sessions ${basename(file)} (${items.length} sessions)`,
    start: new Date(start * 1000).toISOString(),
    durationS: Math.ceil((end + 60) / 60) * 60,
    houses: stations.map((st) => ({ id: houseOf(st), contract: `C-${slug(st).toUpperCase()}`, baseLoadW: 0 })),
    evs,
  });
}

/**
 * REDD / UK-DALE low-frequency data: a house folder with `labels.dat` ("<channel> <label>") and
 * `channel_<n>.dat` ("<unix_ts> <watts>"). Each appliance channel becomes a load whose on-periods (above
 * `onThresholdW`) are loads of an inline profile with the channel's mean on-power; mains channels are skipped.
 */
export function importReddHouse(dir: string, opts: { onThresholdW?: number } = {}): Scenario {
  const threshold = opts.onThresholdW ?? 15;
  const labelsFile = join(dir, 'labels.dat');
  const labels = readInputText(labelsFile)
    .split('\n')
    .filter((l) => l.trim())
    .map((l, n) => {
      const [ch, label] = l.trim().split(/\s+/);
      if (!ch || !label || !/^\d+$/.test(ch))
        throw new FileValidationError(labelsFile, [
          { file: labelsFile, line: n + 1, message: 'expected "<channel> <label>"' },
        ]);
      return { channel: Number(ch), label };
    });
  const profiles: Array<Record<string, unknown>> = [];
  const loads: Array<{ id: string; profile: string; on: number; off: number }> = [];
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = 0;
  const series = labels
    .filter((l) => l.label !== 'mains')
    .map((l) => {
      const file = join(dir, `channel_${l.channel}.dat`);
      const rows = readInputText(file)
        .split('\n')
        .filter((x) => x.trim())
        .map((x, n) => {
          const [ts, w] = x.trim().split(/\s+/).map(Number);
          if (!Number.isFinite(ts) || !Number.isFinite(w))
            throw new FileValidationError(file, [{ file, line: n + 1, message: 'expected "<unix_ts> <watts>"' }]);
          return { ts: ts!, w: w! };
        });
      if (rows.length) {
        t0 = Math.min(t0, rows[0]!.ts);
        t1 = Math.max(t1, rows.at(-1)!.ts);
      }
      return { ...l, rows };
    });
  for (const s of series) {
    const runs: Array<{ on: number; off: number; sum: number; n: number }> = [];
    let cur: (typeof runs)[number] | undefined;
    for (const r of s.rows) {
      if (r.w >= threshold) {
        cur ??= { on: r.ts, off: r.ts, sum: 0, n: 0 };
        cur.off = r.ts;
        cur.sum += r.w;
        cur.n++;
      } else if (cur) {
        runs.push(cur);
        cur = undefined;
      }
    }
    if (cur) runs.push(cur);
    const used = runs.filter((r) => r.off > r.on);
    if (!used.length) continue;
    const meanW = used.reduce((a, r) => a + r.sum, 0) / used.reduce((a, r) => a + r.n, 0);
    const name = `redd-${slug(s.label)}-ch${s.channel}`;
    profiles.push({
      name,
      class: slug(s.label).split('-')[0],
      description: `${s.label} (REDD channel ${s.channel})`,
      source: `REDD low-frequency channel_${s.channel}.dat, mean on-power`,
      states: [{ name: 'on', p: Number(meanW.toFixed(1)), pf: 1 }],
    });
    for (const [k, r] of used.entries()) {
      loads.push({ id: `${slug(s.label)}-${s.channel}-${k}`, profile: name, on: r.on - t0, off: r.off - t0 });
    }
  }
  return scenarioSchema.parse({
    name: `redd-${slug(basename(dir))}`,
    description: `Imported from REDD low-frequency data in ${basename(dir)}`,
    start: new Date(t0 * 1000).toISOString(),
    durationS: Math.max(1, t1 - t0 + 1),
    profiles,
    houses: [{ id: slug(basename(dir)), contract: `C-${slug(basename(dir)).toUpperCase()}`, baseLoadW: 0, loads }],
  });
}
