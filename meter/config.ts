import { z } from 'zod';
import { loadYamlFile } from '../core/files/load-yaml.js';
import { DEFAULT_START_THRESHOLD_W } from './registers.js';

/** Fault knobs: all off by default. Each makes the meter misbehave in one way a suite must catch. */
export const faultsSchema = z
  .object({
    /** Current-channel gain error in %: energy and power read high (positive) or low. */
    gainErrorPct: z.number().min(-50).max(50).default(0),
    /**
     * Books the fundamental's active power only (Re V₁·I₁*), as a meter with a narrow-band front end does: harmonic
     * power goes unregistered, and MI-003 Table 3's harmonics test must catch it.
     */
    fundamentalOnly: z.boolean().default(false),
    /**
     * A polyphase meter wired wrong: this phase's current transformer mounted reversed (its current, and so its
     * power, read with the wrong sign). Ignored on a single-phase supply.
     */
    reversedCurrentPhase: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
    /**
     * A wrong phase sequence at the voltage terminals (L2's and L3's voltage leads swapped, L1 L3 L2): each of
     * those phases' currents is measured against the other phase's voltage, 240° away, so a resistive load on them
     * books −½ of its power (cos 240°) and ∓0.87 of it as reactive. Ignored on a single-phase supply.
     */
    swappedVoltagePhases: z.boolean().default(false),
    /** Fraction of switch events the detector drops (seeded). */
    missedEventRate: z.number().min(0).max(1).default(0),
    /** Added detection latency: events are decided and timestamped this much later. */
    addedLatencyMs: z.number().min(0).max(600_000).default(0),
    /**
     * Clock drift in parts per million: the meter's oscillator runs fast (positive) or slow. Syncs correct it, so
     * the offset grows to drift × clockSyncIntervalS between them (2000 ppm and hourly syncs: up to 7.2 s).
     */
    clockDriftPpm: z.number().min(-100_000).max(100_000).default(0),
    /** Bills every session twice, under two sequence numbers. */
    duplicateSubmission: z.boolean().default(false),
    /** Bills sessions to the host instead of the authorised EV owner. */
    wrongPayer: z.boolean().default(false),
    /** Signs records with a key that is not the registered one. */
    badSignature: z.boolean().default(false),
    /** Prices every kWh at the highest band, ignoring TOU and the EV incentive. */
    wrongTariff: z.boolean().default(false),
    /** Runs firmware whose hash is not attested on the ledger. */
    unattestedFirmware: z.boolean().default(false),
    /** Sends no periodic reports. */
    dropPeriodicReports: z.boolean().default(false),
  })
  .strict();

export const meterConfigSchema = z
  .object({
    model: z.string().default('bench reference meter'),
    firmwareVersion: z.string().default('1.0.0'),
    /** Policy for EV sessions without an authorisation token: bill the host account, or do not bill at all. */
    unattributedPolicy: z.enum(['bill-host', 'no-bill']).default('bill-host'),
    /** Seconds between periodic reports. */
    reportIntervalS: z.number().positive().default(900),
    /** Seconds between measurement outputs. */
    measurementIntervalS: z.number().positive().default(1),
    /**
     * Seconds between clock syncs from the time source (the bench's clock, or the ledger's); each is logged with the
     * offset it removed. 0: never synced, the clock free-runs with its drift.
     */
    clockSyncIntervalS: z.number().min(0).default(3600),
    /**
     * Below this |P| (W) the energy registers stand still: the meter's starting threshold. A value above U·Ist
     * fails the starting test (MI-003 §5.5).
     */
    startThresholdW: z.number().min(0).max(1000).default(DEFAULT_START_THRESHOLD_W),
    /** Minimum step the detector reports (W). */
    eventThresholdW: z.number().positive().default(40),
    /**
     * EV sessions on a charge point that does not report its pilot (plug) state: a pause (the EV's power to 0)
     * that resumes within this many seconds continues the session; a longer one ends it at the pause. With pilot
     * reports the session runs from plug-in to unplug, however long it pauses. 0: it ends at the first stop, at
     * once (a bench that reads the record right after the stop gets it).
     */
    evPauseHoldS: z.number().min(0).max(86_400).default(0),
    /** Salt of payer/host pseudonyms; the utility's, so pseudonyms are stable across meters. */
    pseudonymSalt: z.string().default('bench-pseudonym-salt-v1'),
    /** Ledger outage window (scenario seconds) during which forwarding fails; tests store-and-forward. */
    ledgerOutage: z
      .object({ fromS: z.number().min(0), toS: z.number().positive() })
      .strict()
      .optional(),
    /** Inject a measurement fault (a dead current channel for 5 s) at this scenario second. */
    injectMeasurementFaultAtS: z.number().min(0).optional(),
    /**
     * Samples per mains cycle of the meter's ADC (a power of two, 32…1024); the built-in sim rig synthesizes the
     * waveforms at this rate. Omitted: the rig's default (128). Long load runs use 32 to play weeks in minutes.
     */
    samplesPerCycle: z
      .number()
      .int()
      .min(32)
      .max(1024)
      .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two (fft.js radix-4)' })
      .optional(),
    /** A signature file from `bench meter train`; default: signatures built from the profile library. */
    signaturesFile: z.string().optional(),
    faults: faultsSchema.default(faultsSchema.parse({})),
  })
  .strict();

export type MeterConfig = z.output<typeof meterConfigSchema>;
export type MeterConfigInput = z.input<typeof meterConfigSchema>;
export type Faults = z.output<typeof faultsSchema>;

export function loadMeterConfigFile(file: string): MeterConfigInput {
  return loadYamlFile(file, meterConfigSchema.partial().strict()) as MeterConfigInput;
}

export function parseMeterConfig(input: unknown, where = 'meter config'): MeterConfig {
  const r = meterConfigSchema.safeParse(input ?? {});
  if (!r.success)
    throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
