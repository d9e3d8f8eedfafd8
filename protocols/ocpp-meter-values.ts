/**
 * Meter values as OCPP carries them, in the two protocol versions the bench speaks, read into one form and written
 * by the emulated station. Signed values: OCPP 2.0.1 has SignedMeterValueType {signedMeterData, signingMethod,
 * encodingMethod, publicKey}; in 1.6 the OCA application note "Signed Meter Values in OCPP" puts that type,
 * JSON-serialised, in a sampled value of format "SignedData" (signedMeterData Base64 of the OCMF text, publicKey
 * Base64 of `oca:base16:asn1:<SPKI hex>`). Stations in the field also send the plain OCMF text there: both are taken.
 */

export type OcppVersion = 'ocpp1.6' | 'ocpp2.0.1';
export const OCPP_VERSIONS: readonly OcppVersion[] = ['ocpp1.6', 'ocpp2.0.1'];

/** One signed meter value as the station sent it, decoded. */
export interface SignedMeterValue {
  /** The OCMF text (`OCMF|…|…`), or what the station sent when it is not OCMF. */
  data: string;
  encoding: string;
  /** The public key the station sent beside it, in its wire form (see protocols/ocmf.ts ocmfPublicKey). */
  publicKey?: string;
}

/** A meter value at one time: the register and power the station reported, and any signed values. */
export interface MeterSample {
  /** Unix seconds. */
  t: number;
  /** Energy.Active.Import.Register in Wh. */
  energyWh?: number;
  /** Power.Active.Import in W. */
  powerW?: number;
  context?: string;
  signed: SignedMeterValue[];
}

interface SampledValue16 {
  value: string;
  context?: string;
  format?: string;
  measurand?: string;
  unit?: string;
}

interface SampledValue201 {
  value: number;
  context?: string;
  measurand?: string;
  unitOfMeasure?: { unit?: string; multiplier?: number };
  signedMeterValue?: { signedMeterData: string; signingMethod?: string; encodingMethod: string; publicKey?: string };
}

export interface MeterValue16 {
  timestamp: string;
  sampledValue: SampledValue16[];
}
export interface MeterValue201 {
  timestamp: string;
  sampledValue: SampledValue201[];
}

const ENERGY = 'Energy.Active.Import.Register';
const POWER = 'Power.Active.Import';

/** Wh or W from a value with its unit and multiplier (kWh, kW, 10^n). */
function toBase(value: number, unit: string | undefined, multiplier = 0): number {
  const kilo = unit === 'kWh' || unit === 'kW' ? 1000 : 1;
  return value * kilo * 10 ** multiplier;
}

/** The text in signedMeterData: Base64 of the OCMF text, or the text itself. */
export function decodeSignedData(data: string): string {
  if (data.startsWith('OCMF|')) return data;
  const decoded = Buffer.from(data, 'base64').toString('utf8');
  return decoded.startsWith('OCMF|') ? decoded : data;
}

/** A public key sent Base64-encoded (`oca:base16:asn1:…` inside), or as it is. */
function decodePublicKey(key: string | undefined): string | undefined {
  if (!key) return undefined;
  const decoded = Buffer.from(key, 'base64').toString('utf8');
  return /^oca:/i.test(decoded) ? decoded : key;
}

/** Meter values of OCPP 1.6 (values are strings; the measurand defaults to the energy register). */
export function samplesFrom16(values: readonly MeterValue16[]): MeterSample[] {
  return values.map((mv) => {
    const sample: MeterSample = { t: Date.parse(mv.timestamp) / 1000, signed: [] };
    for (const sv of mv.sampledValue) {
      sample.context ??= sv.context;
      if (sv.format === 'SignedData') {
        sample.signed.push(signedFrom16(sv.value));
        continue;
      }
      const measurand = sv.measurand ?? ENERGY;
      const n = Number(sv.value);
      if (!Number.isFinite(n)) continue;
      if (measurand === ENERGY) sample.energyWh = toBase(n, sv.unit ?? 'Wh');
      else if (measurand === POWER) sample.powerW = toBase(n, sv.unit ?? 'W');
    }
    return sample;
  });
}

function signedFrom16(value: string): SignedMeterValue {
  if (value.startsWith('OCMF|')) return { data: value, encoding: 'OCMF' };
  try {
    const smv = JSON.parse(value) as { signedMeterData?: string; encodingMethod?: string; publicKey?: string };
    if (typeof smv.signedMeterData === 'string')
      return {
        data: decodeSignedData(smv.signedMeterData),
        encoding: smv.encodingMethod ?? 'OCMF',
        publicKey: decodePublicKey(smv.publicKey),
      };
  } catch {
    // not JSON: neither form of the note; kept as sent so the check can say what came
  }
  return { data: decodeSignedData(value), encoding: 'unknown' };
}

/** Meter values of OCPP 2.0.1. */
export function samplesFrom201(values: readonly MeterValue201[]): MeterSample[] {
  return values.map((mv) => {
    const sample: MeterSample = { t: Date.parse(mv.timestamp) / 1000, signed: [] };
    for (const sv of mv.sampledValue) {
      sample.context ??= sv.context;
      const measurand = sv.measurand ?? ENERGY;
      const unit = sv.unitOfMeasure?.unit;
      const multiplier = sv.unitOfMeasure?.multiplier;
      if (measurand === ENERGY) sample.energyWh = toBase(sv.value, unit ?? 'Wh', multiplier);
      else if (measurand === POWER) sample.powerW = toBase(sv.value, unit ?? 'W', multiplier);
      const smv = sv.signedMeterValue;
      if (smv)
        sample.signed.push({
          data: decodeSignedData(smv.signedMeterData),
          encoding: smv.encodingMethod,
          publicKey: decodePublicKey(smv.publicKey),
        });
    }
    return sample;
  });
}

/** Writes a sample in a version's form: the energy register, power, and the OCMF text signed as the note says. */
export function meterValueOf(
  version: OcppVersion,
  s: { t: number; energyWh: number; powerW?: number; context?: string; ocmf?: string; publicKey?: string },
): MeterValue16 | MeterValue201 {
  const timestamp = new Date(s.t * 1000).toISOString();
  const context = s.context ?? 'Sample.Periodic';
  const publicKey = s.publicKey && Buffer.from(s.publicKey).toString('base64');
  if (version === 'ocpp1.6') {
    const sampledValue: SampledValue16[] = [{ value: s.energyWh.toFixed(0), context, measurand: ENERGY, unit: 'Wh' }];
    if (s.powerW !== undefined) sampledValue.push({ value: s.powerW.toFixed(0), context, measurand: POWER, unit: 'W' });
    if (s.ocmf) {
      const smv = {
        signedMeterData: Buffer.from(s.ocmf).toString('base64'),
        signingMethod: 'ECDSA-secp256r1-SHA256',
        encodingMethod: 'OCMF',
        publicKey,
      };
      sampledValue.push({ value: JSON.stringify(smv), context, format: 'SignedData', measurand: ENERGY, unit: 'Wh' });
    }
    return { timestamp, sampledValue };
  }
  const energy: SampledValue201 = {
    value: Math.round(s.energyWh),
    context,
    measurand: ENERGY,
    unitOfMeasure: { unit: 'Wh' },
  };
  if (s.ocmf)
    energy.signedMeterValue = {
      signedMeterData: Buffer.from(s.ocmf).toString('base64'),
      signingMethod: 'ECDSA-secp256r1-SHA256',
      encodingMethod: 'OCMF',
      publicKey: publicKey ?? '',
    };
  const sampledValue: SampledValue201[] = [energy];
  if (s.powerW !== undefined)
    sampledValue.push({ value: Math.round(s.powerW), context, measurand: POWER, unitOfMeasure: { unit: 'W' } });
  return { timestamp, sampledValue };
}
