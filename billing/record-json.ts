/** JSON forms of the billing record (run records, stream lines, CLI output): bigints as decimal strings. */
import { getAddress, isAddress, isHexString } from 'ethers';
import {
  BILLING_RECORD_V3_EIP712_TYPES,
  type BillingRecord,
  hasBands,
  MAX_RECORD_BANDS,
  RECORD_VERSION_BANDS,
  RECORD_VERSION_STATION,
  type SignedBillingRecord,
} from './billing-record.js';

/** Version 1 keeps its original JSON form (no version or band fields), so records stored before still parse. */
export type BillingRecordJson = {
  [K in Exclude<
    keyof BillingRecord,
    'version' | 'bandMilliWh' | 'stationKey' | 'ocmfHash'
  >]: BillingRecord[K] extends bigint ? string : BillingRecord[K];
} & { version?: number; bandMilliWh?: string[]; stationKey?: string; ocmfHash?: string };

export interface SignedBillingRecordJson {
  record: BillingRecordJson;
  signature: string;
}

const BIGINT_FIELDS = [
  'seq',
  'start',
  'end',
  'importMilliWh',
  'exportMilliWh',
  'costMicro',
  'tariffVersion',
] as const satisfies ReadonlyArray<keyof BillingRecord>;
const BYTES32_FIELDS = ['payer', 'host', 'loadClass'] as const satisfies ReadonlyArray<keyof BillingRecord>;
const UINT_BITS: Record<(typeof BIGINT_FIELDS)[number], number> = {
  seq: 64,
  start: 64,
  end: 64,
  importMilliWh: 64,
  exportMilliWh: 64,
  costMicro: 128,
  tariffVersion: 32,
};

export function billingRecordToJson(record: BillingRecord): BillingRecordJson {
  return {
    meter: record.meter,
    seq: record.seq.toString(),
    payer: record.payer,
    host: record.host,
    start: record.start.toString(),
    end: record.end.toString(),
    importMilliWh: record.importMilliWh.toString(),
    exportMilliWh: record.exportMilliWh.toString(),
    costMicro: record.costMicro.toString(),
    tariffVersion: record.tariffVersion.toString(),
    loadClass: record.loadClass,
    attributed: record.attributed,
    ...(record.version === 1 ? {} : { version: record.version, bandMilliWh: record.bandMilliWh.map(String) }),
    ...(record.version === RECORD_VERSION_STATION ? { stationKey: record.stationKey, ocmfHash: record.ocmfHash } : {}),
  };
}

/** Parses and range-checks the JSON form; throws a TypeError naming the field on any problem. */
export function billingRecordFromJson(json: unknown): BillingRecord {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TypeError('billing record: not an object');
  const o = json as Record<string, unknown>;
  const known = new Set(BILLING_RECORD_V3_EIP712_TYPES.BillingRecord.map((f) => f.name as string));
  for (const k of Object.keys(o)) if (!known.has(k)) throw new TypeError(`billing record: unknown field "${k}"`);
  if (typeof o.meter !== 'string' || !isAddress(o.meter))
    throw new TypeError('billing record: meter is not an address');
  for (const f of BYTES32_FIELDS) {
    const v = o[f];
    if (typeof v !== 'string' || !isHexString(v, 32)) throw new TypeError(`billing record: ${f} is not a bytes32 hex`);
  }
  if (typeof o.attributed !== 'boolean') throw new TypeError('billing record: attributed is not a boolean');
  const ints = {} as Record<(typeof BIGINT_FIELDS)[number], bigint>;
  for (const f of BIGINT_FIELDS) {
    const v = o[f];
    const text = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (typeof text !== 'string' || !/^-?\d+$/.test(text))
      throw new TypeError(`billing record: ${f} is not a decimal integer`);
    const n = BigInt(text);
    const bits = UINT_BITS[f];
    const ok = f === 'costMicro' ? n >= -(1n << 127n) && n < 1n << 127n : n >= 0n && n < 1n << BigInt(bits);
    if (!ok) throw new TypeError(`billing record: ${f} ${text} is out of range`);
    ints[f] = n;
  }
  const version = o.version ?? 1;
  if (version !== 1 && version !== RECORD_VERSION_BANDS && version !== RECORD_VERSION_STATION)
    throw new TypeError(
      `billing record: version ${String(version)} is unknown (1, ${RECORD_VERSION_BANDS} or ${RECORD_VERSION_STATION})`,
    );
  const bands = o.bandMilliWh ?? [];
  if (!Array.isArray(bands)) throw new TypeError('billing record: bandMilliWh is not an array');
  if (version === 1 && bands.length > 0) throw new TypeError('billing record: version 1 has no bandMilliWh');
  if (hasBands(version) && (bands.length === 0 || bands.length > MAX_RECORD_BANDS))
    throw new TypeError(`billing record: bandMilliWh needs 1 to ${MAX_RECORD_BANDS} band energies`);
  const bandMilliWh = bands.map((v, i) => {
    const text = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (typeof text !== 'string' || !/^\d+$/.test(text) || BigInt(text) >= 1n << 64n)
      throw new TypeError(`billing record: bandMilliWh[${i}] is not a uint64 decimal`);
    return BigInt(text);
  });
  const station = version === RECORD_VERSION_STATION;
  for (const f of ['stationKey', 'ocmfHash'] as const) {
    if (!station && o[f] !== undefined)
      throw new TypeError(`billing record: ${f} belongs to version ${RECORD_VERSION_STATION}`);
    if (station && (typeof o[f] !== 'string' || !isHexString(o[f], 32)))
      throw new TypeError(`billing record: ${f} is not a bytes32 hex`);
  }
  return {
    meter: getAddress(o.meter),
    seq: ints.seq,
    payer: (o.payer as string).toLowerCase(),
    host: (o.host as string).toLowerCase(),
    start: ints.start,
    end: ints.end,
    importMilliWh: ints.importMilliWh,
    exportMilliWh: ints.exportMilliWh,
    costMicro: ints.costMicro,
    tariffVersion: ints.tariffVersion,
    loadClass: (o.loadClass as string).toLowerCase(),
    attributed: o.attributed,
    version,
    bandMilliWh,
    ...(station
      ? { stationKey: (o.stationKey as string).toLowerCase(), ocmfHash: (o.ocmfHash as string).toLowerCase() }
      : {}),
  };
}

export function signedBillingRecordToJson(signed: SignedBillingRecord): SignedBillingRecordJson {
  return { record: billingRecordToJson(signed.record), signature: signed.signature };
}

/** Accepts `{ record, signature }` or the flat form `{ ...record, signature }`. */
export function signedBillingRecordFromJson(json: unknown): SignedBillingRecord {
  if (typeof json !== 'object' || json === null) throw new TypeError('signed billing record: not an object');
  const { signature, record, ...rest } = json as Record<string, unknown>;
  if (typeof signature !== 'string' || !isHexString(signature)) {
    throw new TypeError('signed billing record: signature is not a hex string');
  }
  return { record: billingRecordFromJson(record ?? rest), signature };
}
