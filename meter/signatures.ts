import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { listBuiltinProfiles, signatureId } from '../profiles/library.js';
import type { Profile } from '../profiles/schema.js';
import { stateQ } from '../profiles/schema.js';

/** What the meter knows of a load class: the step it makes when it switches on. */
export const signatureSchema = z
  .object({
    id: z.string(),
    class: z.string(),
    p: z.number(),
    q: z.number(),
    /** |ΔI_h| / |ΔI_1| for h = 3, 5, 7. */
    r3: z.number(),
    r5: z.number(),
    r7: z.number(),
    /**
     * A load that switches on low and ramps up (a soft-start drive): the power its ramp reaches. The meter gives the
     * drift of the ramp to it rather than to the base.
     */
    rampToP: z.number().optional(),
    /**
     * The phases the load draws on at switch-on where the supply has three: 1 (a household appliance, a
     * single-phase charger) or 3 (a three-phase charger). A three-phase meter sees which phases a step is on.
     */
    phases: z.union([z.literal(1), z.literal(3)]).optional(),
  })
  .strict();
export type Signature = z.infer<typeof signatureSchema>;

export const signatureFileSchema = z
  .object({ format: z.literal('bench.signatures/1'), signatures: z.array(signatureSchema) })
  .strict();

export interface StepFeatures {
  dp: number;
  dq: number;
  r3: number;
  r5: number;
  r7: number;
  /** A three-phase meter: ΔP on each phase. */
  phaseDp?: readonly number[];
}

/**
 * A phase takes part in a step when its ΔP is at least this share of the largest phase's: a balanced three-phase
 * charger's phases differ by a few %, an idle phase moves by its noise only.
 */
const PHASE_SHARE = 0.15;
/** ...and at least this many watts, so a step of a few tens of watts is not read as on every phase from noise. */
const PHASE_MIN_W = 10;

/** The phases (bit k = L(k+1)) a step, or a load's per-phase power, is on. */
export function phaseMask(phaseP: readonly number[]): number {
  let max = 0;
  for (const p of phaseP) max = Math.max(max, Math.abs(p));
  let mask = 0;
  phaseP.forEach((p, k) => {
    if (Math.abs(p) >= Math.max(PHASE_SHARE * max, PHASE_MIN_W)) mask |= 1 << k;
  });
  return mask;
}

/** A mask as the phases' names: L2, L2L3, L1L2L3. */
export function phaseNames(mask: number): string {
  return ['L1', 'L2', 'L3'].filter((_, k) => (mask >> k) & 1).join('');
}

/** How many phases a mask holds. */
export function phaseCount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m >>= 1) n += m & 1;
  return n;
}

/** Whether a step on a three-phase meter can be a load drawing on `phases` phases (always, without the pattern). */
export function phasesFit(f: Pick<StepFeatures, 'phaseDp'>, phases: 1 | 3 | undefined): boolean {
  if (!f.phaseDp || phases === undefined) return true;
  return phaseCount(phaseMask(f.phaseDp)) === phases;
}

/** Signatures from the profile library: the first state of each profile (its switch-on step). */
export function signaturesFromProfiles(profiles: readonly Profile[] = listBuiltinProfiles()): Signature[] {
  const byId = new Map<string, Signature>();
  for (const p of profiles) {
    const s = p.states[0]!;
    const power = s.kind === 'ramp' ? s.fromP! : s.p;
    const q = s.kind === 'ramp' ? stateQ(s) * (power / (s.p || 1)) : stateQ(s);
    const r = (o: number) => s.harmonics.find((h) => h.order === o)?.ratio ?? 0;
    const id = signatureId(p);
    if (!byId.has(id)) {
      byId.set(id, {
        id,
        class: p.class,
        p: power,
        q,
        r3: r(3),
        r5: r(5),
        r7: r(7),
        ...(s.kind === 'ramp' && s.p > power ? { rampToP: s.p } : {}),
        // The library's appliances are household single-phase loads; a charger says how it connects.
        phases: p.ev?.phases ?? 1,
      });
    }
  }
  return [...byId.values()];
}

/**
 * Normalised distance between a measured step and a signature: power terms relative to the load's size (10 %
 * or 40 W, whichever is larger), harmonic ratios on an absolute 0.04 scale. 1 ≈ "one typical tolerance away".
 * On a three-phase meter a step on another number of phases than the load draws on is not that load at all.
 */
export function distance(
  f: StepFeatures,
  s: Pick<Signature, 'p' | 'q' | 'r3' | 'r5' | 'r7' | 'phases'>,
  sign = 1,
): number {
  if (!phasesFit(f, s.phases)) return Number.POSITIVE_INFINITY;
  const scaleP = Math.max(Math.abs(s.p) * 0.1, 40);
  const dp = (f.dp * sign - s.p) / scaleP;
  const dq = (f.dq * sign - s.q) / scaleP;
  const h3 = (f.r3 - s.r3) / 0.04;
  const h5 = (f.r5 - s.r5) / 0.04;
  const h7 = (f.r7 - s.r7) / 0.04;
  return Math.sqrt(dp * dp + dq * dq + h3 * h3 + h5 * h5 + h7 * h7);
}

/** Beyond this distance from every signature an event is "unknown". */
export const UNKNOWN_DISTANCE = 3;

export function nearestSignature(
  f: StepFeatures,
  library: readonly Signature[],
  sign = 1,
): { sig?: Signature; d: number } {
  let best: Signature | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const s of library) {
    const d = distance(f, s, sign);
    if (d < bestD) {
      bestD = d;
      best = s;
    }
  }
  return bestD <= UNKNOWN_DISTANCE ? { sig: best, d: bestD } : { d: bestD };
}

/**
 * Two loads switching on within one detection window make one step: a microwave and a kettle started together read
 * as 3.4 kW, close to an EV charger. The step is matched against every pair of non-EV signatures too: powers add,
 * and each harmonic ratio is the pair's ratios weighted by each load's fundamental current (its apparent power at
 * the same voltage), as if the harmonic currents were in phase. EVs are left out: an EV's start is a session, and
 * a pair that looks like one is exactly the confusion this resolves.
 */
export function nearestPair(
  f: StepFeatures,
  library: readonly Signature[],
): { pair?: readonly [Signature, Signature]; d: number } {
  // Two single-phase loads: on one phase or on two (a three-phase meter sees which).
  const stepPhases = f.phaseDp ? phaseCount(phaseMask(f.phaseDp)) : 1;
  if (stepPhases > 2) return { d: Number.POSITIVE_INFINITY };
  const loads = library.filter((s) => s.class !== 'ev' && s.p > 0 && s.phases !== 3);
  let best: readonly [Signature, Signature] | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < loads.length; i++) {
    for (let j = i; j < loads.length; j++) {
      const a = loads[i]!;
      const b = loads[j]!;
      const sa = Math.hypot(a.p, a.q);
      const sb = Math.hypot(b.p, b.q);
      const mix = (ra: number, rb: number) => (ra * sa + rb * sb) / (sa + sb);
      const whole = distance(
        { ...f, phaseDp: undefined },
        {
          p: a.p + b.p,
          q: a.q + b.q,
          r3: mix(a.r3, b.r3),
          r5: mix(a.r5, b.r5),
          r7: mix(a.r7, b.r7),
        },
      );
      const d = stepPhases === 2 ? Math.hypot(whole, splitDistance(f.phaseDp!, a.p, b.p)) : whole;
      if (d < bestD) {
        bestD = d;
        best = [a, b];
      }
    }
  }
  return bestD <= UNKNOWN_DISTANCE && best ? { pair: best, d: bestD } : { d: bestD };
}

/** How far a step on two phases is from loads of pa and pb watts each on one of them (the better way round). */
function splitDistance(phaseDp: readonly number[], pa: number, pb: number): number {
  const [x, y] = phaseDp.filter((_, k) => (phaseMask(phaseDp) >> k) & 1) as [number, number];
  const term = (dp: number, p: number) => (dp - p) / Math.max(Math.abs(p) * 0.1, 40);
  return Math.min(Math.hypot(term(x, pa), term(y, pb)), Math.hypot(term(x, pb), term(y, pa)));
}

/**
 * Learns signatures from a labelled run (`bench meter train`): the mean measured step of every labelled on-event
 * per signature id replaces or adds the library entry.
 */
export function trainSignatures(
  base: readonly Signature[],
  labelled: ReadonlyArray<{ id: string; class: string; features: StepFeatures; phases?: string }>,
): Signature[] {
  const sums = new Map<string, { cls: string; n: number; f: StepFeatures; phases: Set<number> }>();
  for (const l of labelled) {
    const acc = sums.get(l.id) ?? {
      cls: l.class,
      n: 0,
      f: { dp: 0, dq: 0, r3: 0, r5: 0, r7: 0 },
      phases: new Set<number>(),
    };
    // Seen by a three-phase meter: on how many phases the load switched on.
    if (l.phases) acc.phases.add(l.phases.length / 2);
    acc.n++;
    for (const k of ['dp', 'dq', 'r3', 'r5', 'r7'] as const) acc.f[k] += l.features[k];
    sums.set(l.id, acc);
  }
  const out = new Map(base.map((s) => [s.id, s]));
  for (const [id, { cls, n, f, phases }] of sums) {
    const rampToP = out.get(id)?.rampToP;
    // One phase count in every example (1 or 3) is learnt; none seen keeps the library's.
    const [only] = phases;
    const learnt = phases.size === 1 && (only === 1 || only === 3) ? only : out.get(id)?.phases;
    out.set(id, {
      id,
      class: cls,
      p: f.dp / n,
      q: f.dq / n,
      r3: f.r3 / n,
      r5: f.r5 / n,
      r7: f.r7 / n,
      ...(rampToP !== undefined ? { rampToP } : {}),
      ...(learnt !== undefined ? { phases: learnt } : {}),
    });
  }
  return [...out.values()];
}

export function saveSignatures(file: string, signatures: readonly Signature[]): void {
  writeFileSync(file, `${JSON.stringify({ format: 'bench.signatures/1', signatures }, null, 2)}\n`);
}

export function loadSignatures(file: string): Signature[] {
  return signatureFileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).signatures;
}
