import { z } from 'zod';
import { CAPABILITIES } from '../core/rig.js';
import { SCPI_DIALECTS } from './drivers/scpi-dialects.js';

/** Resource data (labgrid style): where an instrument is and how to reach it. */
const serialTransport = z
  .object({
    kind: z.literal('serial'),
    path: z.string().min(1).describe('device path, e.g. /dev/ttyUSB0 or a socat PTY link'),
    baudRate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

const tcpTransport = z
  .object({
    kind: z.literal('tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
  })
  .strict();

/** The bench listens and the instrument connects to it: a charging station dialling the bench's OCPP central system. */
const listenTransport = z
  .object({
    kind: z.literal('listen'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('address to listen on (0.0.0.0 for a station on the lab network)'),
    port: z.number().int().min(1).max(65535),
    /** TLS certificate and key files (PEM): wss:// (OCPP security profile 2, with a password). */
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

const simTransport = z.object({ kind: z.literal('sim') }).strict();

export const transportSchema = z.discriminatedUnion('kind', [
  serialTransport,
  tcpTransport,
  listenTransport,
  simTransport,
]);
export type TransportConfig = z.output<typeof transportSchema>;

/**
 * A reference standard's metrology, as its calibration certificate (or, without one, its accuracy class) states
 * it: the start of every energy error's uncertainty budget. A certificate past its due date makes the run's
 * metrology cases ERROR.
 */
export const calibrationSchema = z
  .object({
    accuracyClass: z
      .number()
      .positive()
      .max(5)
      .optional()
      .describe('accuracy class index in % (a class 0.2 S standard: 0.2); taken as a rectangular ±class'),
    certificate: z.string().min(1).optional().describe('calibration certificate id'),
    expandedUncertaintyPct: z
      .number()
      .positive()
      .max(5)
      .optional()
      .describe("the certificate's expanded uncertainty of the energy, % of reading"),
    coverageFactor: z.number().positive().max(4).default(2).describe('the coverage factor k of that uncertainty'),
    due: z.iso.date().optional().describe('date after which the calibration is no longer valid (YYYY-MM-DD)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.accuracyClass === undefined && c.expandedUncertaintyPct === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['accuracyClass'],
        message: "give accuracyClass or the certificate's expandedUncertaintyPct",
      });
    if (c.expandedUncertaintyPct !== undefined && c.certificate === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['certificate'],
        message: 'an expanded uncertainty comes from a certificate: name it',
      });
  });
export type CalibrationConfig = z.output<typeof calibrationSchema>;

export const instrumentSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case id'),
    role: z.enum(['load', 'dut', 'reference', 'io']),
    dialect: z
      .string()
      .min(1)
      .describe('protocol dialect: chroma-63800, sdm630, iec62056-21, jsonl, firmata, ocpp1.6, ocpp2.0.1, sim'),
    transport: transportSchema,
    capabilities: z.array(z.enum(CAPABILITIES)).default([]),
    /** Per-request timeout in ms. */
    timeoutMs: z.number().int().positive().default(1000),
    /** Modbus unit id, Firmata pin map and other driver options. */
    options: z.record(z.string(), z.unknown()).optional(),
    /** A reference instrument's calibration (role reference only). */
    calibration: calibrationSchema.optional(),
  })
  .strict();
export type InstrumentConfig = z.output<typeof instrumentSchema>;

export const rigSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /**
     * The meter under test as the lab declares it (nameplate): printed on the certificate beside what the device
     * itself answers (identify, *IDN?), so a swapped meter or firmware shows.
     */
    dut: z
      .object({
        vendor: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        serial: z.string().min(1).optional(),
        firmware: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    instruments: z.array(instrumentSchema).min(1),
  })
  .strict()
  .superRefine((rig, ctx) => {
    const seen = new Set<string>();
    rig.instruments.forEach((inst, i) => {
      if (seen.has(inst.id)) {
        ctx.addIssue({ code: 'custom', path: ['instruments', i, 'id'], message: `duplicate instrument id ${inst.id}` });
      }
      seen.add(inst.id);
      // A three-phase supply is played by a load that addresses each phase (a dialect with `phases`).
      if (inst.capabilities.includes('supply.three-phase') && !SCPI_DIALECTS[inst.dialect]?.phases)
        ctx.addIssue({
          code: 'custom',
          path: ['instruments', i, 'capabilities'],
          message: `supply.three-phase needs a three-phase load dialect (${Object.entries(SCPI_DIALECTS)
            .filter(([, d]) => d.phases)
            .map(([n]) => n)
            .join(', ')}), not ${inst.dialect}`,
        });
      if (inst.calibration && inst.role !== 'reference')
        ctx.addIssue({
          code: 'custom',
          path: ['instruments', i, 'calibration'],
          message: `only a reference instrument has a calibration (${inst.id} is ${inst.role})`,
        });
    });
  });
export type RigConfig = z.output<typeof rigSchema>;

/** The union of the capabilities the rig's instruments declare. */
export function rigCapabilities(rig: RigConfig): Set<(typeof CAPABILITIES)[number]> {
  return new Set(rig.instruments.flatMap((i) => i.capabilities));
}

/**
 * The instrument option `bench sim up --dir` writes into the rig file it serves: the time scale its emulators run
 * at. Drivers ignore it; `bench certify` refuses another --time-scale before the run starts (a mismatch otherwise
 * shows up as timeouts and wrong readings deep inside the run).
 */
export const SERVED_TIME_SCALE = 'servedTimeScale';

export function withServedTimeScale(config: RigConfig, timeScale: number): RigConfig {
  return {
    ...config,
    instruments: config.instruments.map((i) =>
      i.transport.kind === 'serial' ? { ...i, options: { ...i.options, [SERVED_TIME_SCALE]: timeScale } } : i,
    ),
  };
}

export function servedTimeScaleOf(config: RigConfig): number | undefined {
  for (const i of config.instruments) {
    const v = i.options?.[SERVED_TIME_SCALE];
    if (typeof v === 'number') return v;
  }
  return undefined;
}
