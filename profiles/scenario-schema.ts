import { z } from 'zod';
import { DEFAULT_TARIFF_BANDS, scenarioTariffSchema } from '../billing/tariff-file.js';
import { profileSchema } from './schema.js';

/**
 * A scenario: a timeline over one or more houses (meters). Times are seconds from `start` (an ISO instant, so TOU
 * bands apply). Loads switch at fixed times or at seeded random times; EVs belong to an owner contract and charge
 * at home or at a neighbour's meter (the survey's key case), authorised with their contract token or not.
 */
/** The phases of a three-phase supply a load is connected to: one of them, or all three. */
export const PHASE_CONNECTIONS = ['L1', 'L2', 'L3', 'L1L2L3'] as const;
export type PhaseConnection = (typeof PHASE_CONNECTIONS)[number];

/** Where a load draws on a three-phase supply: its phase(s), and for a three-phase load its share on each. */
const phaseFields = {
  /**
   * The phase a single-phase load is on, or L1L2L3 for a three-phase load. Omitted: L1, or all three for a
   * three-phase profile (an EV charger with `ev.phases: 3`). A single-phase supply has L1 only.
   */
  phase: z.enum(PHASE_CONNECTIONS).optional(),
  /** A three-phase load's share of its power on L1, L2, L3 (summing to 1); omitted: balanced. */
  shares: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]).optional(),
};

const loadSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    profile: z.string().min(1),
    on: z.number().min(0),
    /** Omitted: until the profile's states end, or the scenario ends. */
    off: z.number().positive().optional(),
    ...phaseFields,
  })
  .strict()
  .refine((l) => l.off === undefined || l.off > l.on, { message: 'off must be after on', path: ['off'] });

const randomLoadsSchema = z
  .object({
    profile: z.string().min(1),
    count: z.number().int().min(1).max(1000),
    minDurationS: z.number().positive(),
    maxDurationS: z.number().positive(),
    ...phaseFields,
  })
  .strict()
  .refine((r) => r.maxDurationS >= r.minDurationS, {
    message: 'maxDurationS below minDurationS',
    path: ['maxDurationS'],
  });

const houseSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    /** The household's contract id: the host account billed for unattributed charging. */
    contract: z.string().min(1),
    baseLoadW: z.number().min(0).max(2000).default(120),
    loads: z.array(loadSchema).default([]),
    randomLoads: z.array(randomLoadsSchema).default([]),
  })
  .strict();

const sessionSchema = z
  .object({
    /** The house whose meter the EV charges at. */
    at: z.string().min(1),
    plugIn: z.number().min(0),
    unplug: z.number().positive(),
    /** Whether the EV presents its contract token on the meter's authorisation channel. */
    authorise: z.boolean().default(true),
    /**
     * Energy the EV takes in this session (ACN-Data's kWhDelivered): it charges until it has it (a bulk stage
     * followed by a taper ends the taper there), then stays plugged in, drawing nothing, until `unplug`. Omitted:
     * it charges until its profile ends or it is unplugged. A V2G profile exports this much instead.
     */
    energyKWh: z.number().positive().max(500).optional(),
  })
  .strict()
  .refine((s) => s.unplug > s.plugIn, { message: 'unplug must be after plugIn', path: ['unplug'] });

/**
 * Smart charging: the charge point caps the EV's charging power (the IEC 61851-1 pilot's current limit or an
 * ISO 15118 schedule) and the EV follows at once. The cap is the lowest of the setpoint signal in force and the
 * tariff rule; exported power (V2G) is not capped. A cap of 0 pauses charging (the EV stays plugged in).
 */
const smartSchema = z
  .object({
    /** A setpoint signal: from scenario second `t` on, charge at most `kW` (until the next setpoint). */
    setpoints: z
      .array(z.object({ t: z.number().min(0), kW: z.number().min(0).max(50) }).strict())
      .min(1)
      .optional(),
    /**
     * Follow the scenario's TOU tariff (the ledger's default tariff when the scenario has none: bands off-peak,
     * day, peak): in the hours of the named bands, or whose band price is above `abovePrice`, charge at most `kW`.
     */
    tariff: z
      .object({
        bands: z.array(z.string().min(1)).min(1).optional(),
        abovePrice: z.number().min(0).optional(),
        kW: z.number().min(0).max(50),
      })
      .strict()
      .refine((t) => (t.bands === undefined) !== (t.abovePrice === undefined), {
        message: 'give bands or abovePrice',
        path: ['bands'],
      })
      .optional(),
  })
  .strict()
  .refine((s) => s.setpoints !== undefined || s.tariff !== undefined, {
    message: 'smart charging needs setpoints or a tariff rule',
    path: ['setpoints'],
  })
  .refine((s) => (s.setpoints ?? []).every((p, i, a) => i === 0 || p.t > a[i - 1]!.t), {
    message: 'setpoint times must increase',
    path: ['setpoints'],
  });

const evSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    /** Contract id of the EV's owner (the payer when it authorises). */
    owner: z.string().min(1),
    /**
     * What the operator's back office answers for the owner's token (OCPP Authorize: idTagInfo / idTokenInfo).
     * A charging station must refuse a token that is not Accepted: its sessions are expected to start no
     * transaction. Left out: Accepted. A token no EV of the scenario carries is Unknown (Invalid in OCPP 1.6).
     */
    tokenStatus: z.enum(['Accepted', 'Blocked', 'Expired', 'Invalid']).optional(),
    /**
     * The owner's house in this scenario. Left out for a visitor from outside it: every session is then roaming,
     * which lets a one-meter bench certify roaming billing (the EV's owner pays, the DUT's household hosts).
     */
    home: z.string().min(1).optional(),
    profile: z.string().min(1),
    /** The charger's connection on a three-phase supply (as a load's `phase` and `shares`). */
    ...phaseFields,
    /**
     * The EV follows a smart-charging signal in every session. A `control: smart` profile's later states are the
     * schedule it follows when the scenario gives none; with a signal it charges at its first (full-rate) state.
     */
    smart: smartSchema.optional(),
    sessions: z.array(sessionSchema).min(1),
  })
  .strict();

const supplyVoltageSchema = z
  .object({
    // From 50 V: the lower end of a 100 V (Japan) or 110 V supply's rated range is below 100 V.
    nominal: z.number().min(50).max(400),
    // Up to 10 %: metrology's harmonic test puts 10 % of the 5th on the supply (IEC 62053-21 §8.2.1).
    h3: z.number().min(0).max(0.1),
    h5: z.number().min(0).max(0.1),
  })
  .strict();

/** Problems of a load's (or an EV's) phase connection on the scenario's supply, at `path`. */
function checkPhases(
  c: { phase?: PhaseConnection; shares?: readonly number[] },
  phases: 1 | 3,
  path: PropertyKey[],
  ctx: z.RefinementCtx,
) {
  if (phases === 1 && c.phase !== undefined && c.phase !== 'L1')
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'phase'],
      message: `the supply has one phase (L1): ${c.phase} needs phases: 3`,
    });
  if (c.shares === undefined) return;
  if (c.phase !== 'L1L2L3')
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'shares'],
      message: 'shares are for a three-phase load: phase: L1L2L3',
    });
  const sum = c.shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'shares'],
      message: `the shares of L1, L2 and L3 must sum to 1, not ${Math.round(sum * 1e6) / 1e6}`,
    });
}

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    start: z.iso.datetime({ offset: true }),
    durationS: z
      .number()
      .positive()
      .max(31 * 86400),
    /**
     * Supply frequency in Hz: 50 or 60 in service; a test plan's influence points move it within MI-003 §2.2's
     * ±2 % (e.g. 49 Hz), so any value a programmable source gives is accepted.
     */
    frequency: z.number().min(45).max(66).default(50),
    /** 1: a single-phase supply (L1 and neutral); 3: L1, L2, L3 at 120° and neutral (a polyphase meter). */
    phases: z.union([z.literal(1), z.literal(3)]).default(1),
    /** The supply's line-to-neutral voltage and distortion (every phase of a three-phase supply). */
    voltage: supplyVoltageSchema.default({ nominal: 230, h3: 0.01, h5: 0.006 }),
    /** A three-phase supply's phases one by one (L1, L2, L3), where they differ; instead of `voltage`. */
    phaseVoltages: z.tuple([supplyVoltageSchema, supplyVoltageSchema, supplyVoltageSchema]).optional(),
    /** Extra profiles defined by this scenario (e.g. metrology test points); loads may name them like library ones. */
    profiles: z.array(profileSchema).default([]),
    houses: z.array(houseSchema).min(1),
    /** The tariff for this scenario; omitted: the ledger's default three-band tariff. */
    tariff: scenarioTariffSchema.optional(),
    evs: z.array(evSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const houses = new Set(s.houses.map((h) => h.id));
    if (houses.size !== s.houses.length)
      ctx.addIssue({ code: 'custom', path: ['houses'], message: 'duplicate house id' });
    const bandNames = new Set<string>(s.tariff ? s.tariff.bands.map((b) => b.name) : DEFAULT_TARIFF_BANDS);
    s.evs.forEach((ev, i) => {
      for (const [k, b] of (ev.smart?.tariff?.bands ?? []).entries()) {
        if (!bandNames.has(b))
          ctx.addIssue({
            code: 'custom',
            path: ['evs', i, 'smart', 'tariff', 'bands', k],
            message: `no tariff band ${b} (bands: ${[...bandNames].join(', ')})`,
          });
      }
      if (ev.home !== undefined && !houses.has(ev.home))
        ctx.addIssue({ code: 'custom', path: ['evs', i, 'home'], message: `no house ${ev.home}` });
      // One car is in one place at a time: a session that starts before the EV's previous one (in time) has ended
      // is reported at the later one, the session to move or remove.
      const byTime = ev.sessions.map((se, j) => ({ se, j })).sort((a, b) => a.se.plugIn - b.se.plugIn);
      for (let k = 1; k < byTime.length; k++) {
        const a = byTime[k - 1]!;
        const b = byTime[k]!;
        if (b.se.plugIn < a.se.unplug)
          ctx.addIssue({
            code: 'custom',
            path: ['evs', i, 'sessions', b.j, 'plugIn'],
            message: `${ev.id} is still plugged in at ${a.se.at} until ${a.se.unplug} s (sessions[${a.j}]): one EV's sessions must not overlap`,
          });
      }
      ev.sessions.forEach((se, j) => {
        if (!houses.has(se.at))
          ctx.addIssue({ code: 'custom', path: ['evs', i, 'sessions', j, 'at'], message: `no house ${se.at}` });
        if (se.unplug > s.durationS) {
          ctx.addIssue({
            code: 'custom',
            path: ['evs', i, 'sessions', j, 'unplug'],
            message: 'after the end of the scenario',
          });
        }
      });
    });
    if (s.phaseVoltages !== undefined && s.phases !== 3)
      ctx.addIssue({ code: 'custom', path: ['phaseVoltages'], message: 'phaseVoltages needs phases: 3' });
    s.evs.forEach((ev, i) => {
      checkPhases(ev, s.phases, ['evs', i], ctx);
    });
    s.houses.forEach((h, i) => {
      h.loads.forEach((l, j) => {
        checkPhases(l, s.phases, ['houses', i, 'loads', j], ctx);
      });
      h.randomLoads.forEach((r, j) => {
        checkPhases(r, s.phases, ['houses', i, 'randomLoads', j], ctx);
      });
      h.loads.forEach((l, j) => {
        if (l.on >= s.durationS)
          ctx.addIssue({
            code: 'custom',
            path: ['houses', i, 'loads', j, 'on'],
            message: 'after the end of the scenario',
          });
      });
    });
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type House = Scenario['houses'][number];
