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
      });
    }
  }
  return [...byId.values()];
}

/**
 * Normalised distance between a measured step and a signature: power terms relative to the load's size (10 %
 * or 40 W, whichever is larger), harmonic ratios on an absolute 0.04 scale. 1 ≈ "one typical tolerance away".
 */
export function distance(f: StepFeatures, s: Pick<Signature, 'p' | 'q' | 'r3' | 'r5' | 'r7'>, sign = 1): number {
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
  const loads = library.filter((s) => s.class !== 'ev' && s.p > 0);
  let best: readonly [Signature, Signature] | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < loads.length; i++) {
    for (let j = i; j < loads.length; j++) {
      const a = loads[i]!;
      const b = loads[j]!;
      const sa = Math.hypot(a.p, a.q);
      const sb = Math.hypot(b.p, b.q);
      const mix = (ra: number, rb: number) => (ra * sa + rb * sb) / (sa + sb);
      const d = distance(f, {
        p: a.p + b.p,
        q: a.q + b.q,
        r3: mix(a.r3, b.r3),
        r5: mix(a.r5, b.r5),
        r7: mix(a.r7, b.r7),
      });
      if (d < bestD) {
        bestD = d;
        best = [a, b];
      }
    }
  }
  return bestD <= UNKNOWN_DISTANCE && best ? { pair: best, d: bestD } : { d: bestD };
}

/**
 * Learns signatures from a labelled run (`bench meter train`): the mean measured step of every labelled on-event
 * per signature id replaces or adds the library entry.
 */
export function trainSignatures(
  base: readonly Signature[],
  labelled: ReadonlyArray<{ id: string; class: string; features: StepFeatures }>,
): Signature[] {
  const sums = new Map<string, { cls: string; n: number; f: StepFeatures }>();
  for (const l of labelled) {
    const acc = sums.get(l.id) ?? { cls: l.class, n: 0, f: { dp: 0, dq: 0, r3: 0, r5: 0, r7: 0 } };
    acc.n++;
    for (const k of ['dp', 'dq', 'r3', 'r5', 'r7'] as const) acc.f[k] += l.features[k];
    sums.set(l.id, acc);
  }
  const out = new Map(base.map((s) => [s.id, s]));
  for (const [id, { cls, n, f }] of sums) {
    const rampToP = out.get(id)?.rampToP;
    out.set(id, {
      id,
      class: cls,
      p: f.dp / n,
      q: f.dq / n,
      r3: f.r3 / n,
      r5: f.r5 / n,
      r7: f.r7 / n,
      ...(rampToP !== undefined ? { rampToP } : {}),
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
