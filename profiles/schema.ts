import { z } from 'zod';

/**
 * A load-signature profile: what a load draws, state by state, with the features a load-identifying meter uses
 * (P, Q or PF, harmonic current spectrum, inrush, switching transient). Units: W, var, seconds, ratios of the
 * fundamental current.
 */
export const harmonicSchema = z
  .object({
    order: z.number().int().min(2, 'harmonic order starts at 2 (the fundamental is implied)').max(15),
    /** |I_h| / |I_1|. */
    ratio: z.number().min(0).max(2),
    phaseDeg: z.number().min(-360).max(360).default(0),
  })
  .strict();

export const stateSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['steady', 'ramp', 'taper', 'cycling']).default('steady'),
    /** How long the state lasts; omitted = until the load is switched off. */
    durationS: z.number().positive().optional(),
    /** Active power in W; negative = export (PV, V2G). */
    p: z.number().min(-50_000).max(50_000),
    /** Reactive power in var (positive = inductive); or give pf. */
    q: z.number().min(-50_000).max(50_000).optional(),
    /** Displacement power factor of the fundamental; negative = capacitive (leading). */
    pf: z.number().min(-1).max(1).optional(),
    /** ramp: power goes linearly from `fromP` to `p`; taper: from `p` down to `toP` over durationS. */
    fromP: z.number().optional(),
    toP: z.number().optional(),
    /** cycling: on for onS at p, off for offS (e.g. a compressor). */
    onS: z.number().positive().optional(),
    offS: z.number().positive().optional(),
    harmonics: z.array(harmonicSchema).default([]),
    /**
     * A three-phase load drawing this state on one phase only (an EV charger switching from three phases to one for
     * PV-surplus charging): on its first phase. Omitted: as connected.
     */
    phases: z.literal(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.q !== undefined && s.pf !== undefined)
      ctx.addIssue({ code: 'custom', path: ['pf'], message: 'give q or pf, not both' });
    if (s.pf !== undefined && s.pf === 0)
      ctx.addIssue({ code: 'custom', path: ['pf'], message: 'pf 0 means no active power' });
    if (s.kind === 'ramp' && s.fromP === undefined)
      ctx.addIssue({ code: 'custom', path: ['fromP'], message: 'a ramp needs fromP' });
    if (s.kind === 'taper' && (s.toP === undefined || s.durationS === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['toP'], message: 'a taper needs toP and durationS' });
    }
    if (s.kind === 'cycling' && (s.onS === undefined || s.offS === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['onS'], message: 'cycling needs onS and offS' });
    }
    const orders = s.harmonics.map((h) => h.order);
    if (new Set(orders).size !== orders.length)
      ctx.addIssue({ code: 'custom', path: ['harmonics'], message: 'duplicate harmonic order' });
  });

export const profileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'lower-case letters, digits, dots and dashes'),
    class: z.string().regex(/^[a-z][a-z0-9-]*$/),
    description: z.string().min(1),
    /** Where the values come from (datasheet, measurement campaign, standard) or why they are plausible. */
    source: z.string().min(1),
    states: z.array(stateSchema).min(1),
    inrush: z
      .object({ peakMultiple: z.number().min(1).max(20), decayMs: z.number().positive().max(5000) })
      .strict()
      .optional(),
    transient: z
      .object({
        ringHz: z.number().positive().max(3000),
        amplitudeMultiple: z.number().min(0).max(5),
        decayMs: z.number().positive().max(500),
      })
      .strict()
      .optional(),
    /** Relative RMS noise on the current. */
    noise: z.number().min(0).max(0.1).default(0.002),
    ev: z
      .object({
        charger: z.string().min(1),
        phases: z.union([z.literal(1), z.literal(3)]),
        maxCurrentA: z.number().positive().max(80),
        control: z.enum(['uncontrolled', 'smart', 'v2g']),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.class === 'ev' && !p.ev)
      ctx.addIssue({ code: 'custom', path: ['ev'], message: 'an EV profile needs its ev block' });
  });

export type Profile = z.output<typeof profileSchema>;
export type ProfileState = Profile['states'][number];

/** Reactive power of a state from q or pf (inductive positive). */
export function stateQ(s: Pick<ProfileState, 'p' | 'q' | 'pf'>): number {
  if (s.q !== undefined) return s.q;
  if (s.pf === undefined) return 0;
  const pf = Math.abs(s.pf);
  const q = Math.abs(s.p) * Math.sqrt(1 / (pf * pf) - 1);
  return s.pf < 0 ? -q : q;
}
