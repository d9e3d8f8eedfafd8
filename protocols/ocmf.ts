import { createHash, createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { p256 } from '@noble/curves/p256';
import { z } from 'zod';

/**
 * OCMF (S.A.F.E. Open Charge Metering Format): `OCMF|{payload}|{signature}`. The one place the format is written:
 * the OCMF report, the emulated charging station and the bench's OCPP central system all use it.
 *
 * The signature is over the payload's exact bytes as sent (never a re-serialisation), so a parsed record keeps
 * its payload text. Keys come in the forms stations send them (OCA's "Signed Meter Values in OCPP" note:
 * `oca:base16:asn1:<SPKI DER hex>`; 2.0.1's publicKey is the same in Base64 or hex; PEM from a rig file).
 */

/** Signature algorithms OCMF names (SA) and the curve and hash each means. */
export const OCMF_SIGNATURE_ALGORITHMS = {
  'ECDSA-secp256r1-SHA256': { curve: 'prime256v1', hash: 'sha256' },
  'ECDSA-secp384r1-SHA256': { curve: 'secp384r1', hash: 'sha256' },
  'ECDSA-brainpool256r1-SHA256': { curve: 'brainpoolP256r1', hash: 'sha256' },
  'ECDSA-secp192k1-SHA256': { curve: 'secp192k1', hash: 'sha256' },
  'ECDSA-secp256k1-SHA256': { curve: 'secp256k1', hash: 'sha256' },
} as const;
export type OcmfSignatureAlgorithm = keyof typeof OCMF_SIGNATURE_ALGORITHMS;

/** Reading types (TX): B begin, C charging, X exception, E end, L limit, R remote, A ack, P periodic, S suspended, T tariff change. */
export const OCMF_READING_TYPES = ['B', 'C', 'X', 'E', 'L', 'R', 'A', 'P', 'S', 'T'] as const;

/** `2018-07-24T13:22:04,000+0200 S`: local time with offset, then the clock status (U unknown, I informative, S synchronised, R relative). */
const OCMF_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}),(\d{3})([+-]\d{4}) ([UISR])$/;

const readingSchema = z.looseObject({
  TM: z.string().regex(OCMF_TIME, 'time as YYYY-MM-DDThh:mm:ss,fff+zzzz followed by a clock status U, I, S or R'),
  TX: z.enum(OCMF_READING_TYPES).optional(),
  RV: z.number(),
  RI: z.string().optional(),
  RU: z.string(),
  RT: z.string().optional(),
  EF: z.string().optional(),
  ST: z.string(),
});

/**
 * The payload fields the bench reads; others (CT, CI, TT, LC, U…, vendor fields) are kept as they are. Fields the
 * specification makes mandatory but stations in the field leave out (MS) are optional here and checked for
 * conformance by the caller, so a record is still read and compared.
 */
export const ocmfPayloadSchema = z.looseObject({
  FV: z.string(),
  GI: z.string().optional(),
  GS: z.string().optional(),
  GV: z.string().optional(),
  PG: z.string().regex(/^[TF]\d+$/, 'pagination T<n> (transaction) or F<n> (fiscal)'),
  MV: z.string().optional(),
  MM: z.string().optional(),
  MS: z.string().optional(),
  MF: z.string().optional(),
  IS: z.boolean(),
  IL: z.string().optional(),
  IF: z.array(z.string()).optional(),
  IT: z.string(),
  ID: z.string().optional(),
  RD: z.array(readingSchema).min(1),
});
export type OcmfPayload = z.output<typeof ocmfPayloadSchema>;
export type OcmfReading = OcmfPayload['RD'][number];

const signatureSchema = z.looseObject({
  SA: z.string().default('ECDSA-secp256r1-SHA256'),
  SE: z.string().optional(),
  SM: z.string().optional(),
  SD: z.string().regex(/^[0-9a-fA-F]+$/, 'hex'),
});

export interface OcmfRecord {
  payload: OcmfPayload;
  /** The payload exactly as signed. */
  payloadText: string;
  signature: z.output<typeof signatureSchema>;
  /** SHA-256 of the whole `OCMF|…|…` text: the record's name on the ledger. */
  sha256: string;
}

export class OcmfFormatError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Parses an OCMF text; a wrong frame, bad JSON or a missing field is an OcmfFormatError naming the field. */
export function parseOcmf(text: string): OcmfRecord {
  const trimmed = text.trim();
  if (!trimmed.startsWith('OCMF|')) throw new OcmfFormatError('not OCMF: it does not start with "OCMF|"');
  // The payload is JSON and may hold '|', the signature section holds none: split at the last '|'.
  const cut = trimmed.lastIndexOf('|');
  if (cut <= 5) throw new OcmfFormatError('not OCMF: no signature section after the payload');
  const payloadText = trimmed.slice(5, cut);
  const payload = ocmfPayloadSchema.safeParse(parseJson(payloadText, 'payload'));
  if (!payload.success) throw zodFailure(payload.error, 'payload');
  const signature = signatureSchema.safeParse(parseJson(trimmed.slice(cut + 1), 'signature'));
  if (!signature.success) throw zodFailure(signature.error, 'signature');
  return {
    payload: payload.data,
    payloadText,
    signature: signature.data,
    sha256: createHash('sha256').update(trimmed).digest('hex'),
  };
}

function parseJson(text: string, section: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new OcmfFormatError(`OCMF ${section} is not JSON: ${(e as Error).message}`, section);
  }
}

function zodFailure(error: z.ZodError, section: string): OcmfFormatError {
  const issue = error.issues[0]!;
  const field = [section, ...issue.path].join('.');
  return new OcmfFormatError(`OCMF ${field}: ${issue.message}`, field);
}

/**
 * A public key as stations and rig files give it: `oca:base16:asn1:<hex>`, SPKI DER in hex or Base64, or PEM.
 * An uncompressed P-256 point in hex (65 bytes, 04…) is taken too: it is what the bench's own OCMF export prints.
 */
export function ocmfPublicKey(wire: string): KeyObject {
  const text = wire.trim();
  if (text.startsWith('-----BEGIN')) return createPublicKey(text);
  const body = text.replace(/^oca:base16:asn1:/i, '');
  const der = /^[0-9a-fA-F]+$/.test(body) ? Buffer.from(body, 'hex') : Buffer.from(body, 'base64');
  if (der.length === 65 && der[0] === 0x04)
    return createPublicKey({ key: p256SpkiOf(der), format: 'der', type: 'spki' });
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The SPKI DER of an uncompressed P-256 point: the fixed ASN.1 header of id-ecPublicKey + prime256v1, then the point. */
function p256SpkiOf(point: Buffer): Buffer {
  return Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), point]);
}

/** The key in OCA's wire form, `oca:base16:asn1:<SPKI DER hex>`. */
export function ocaPublicKey(key: KeyObject): string {
  return `oca:base16:asn1:${key.export({ format: 'der', type: 'spki' }).toString('hex')}`;
}

/** SHA-256 of the key's SPKI DER: how a billing record names the station key that signed its OCMF. */
export function keyFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** Why a signature does not verify, or undefined when it does. */
export function ocmfSignatureProblem(record: OcmfRecord, key: KeyObject): string | undefined {
  const algorithm = OCMF_SIGNATURE_ALGORITHMS[record.signature.SA as OcmfSignatureAlgorithm];
  if (!algorithm) return `signature algorithm ${record.signature.SA} is not one OCMF names`;
  if (record.signature.SE && record.signature.SE !== 'hex')
    return `signature encoding ${record.signature.SE} (OCMF: hex)`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== algorithm.curve)
    return `the key is on ${curve ?? 'no named curve'}, the record says ${record.signature.SA}`;
  const ok = verifySignature(
    algorithm.hash,
    Buffer.from(record.payloadText),
    { key, dsaEncoding: 'der' },
    Buffer.from(record.signature.SD, 'hex'),
  );
  return ok ? undefined : 'the signature does not match the payload and key';
}

/** Signs a payload with a P-256 key: deterministic (RFC 6979), so the same record always gives the same text. */
export function signOcmf(payload: Record<string, unknown>, privateKeyHex: string): string {
  const json = JSON.stringify(payload);
  const digest = createHash('sha256').update(json).digest();
  const signature = p256.sign(digest, privateKeyHex).toDERHex();
  return `OCMF|${json}|${JSON.stringify({ SA: 'ECDSA-secp256r1-SHA256', SD: signature.toUpperCase() })}`;
}

/** The uncompressed public point (hex) of a P-256 private key. */
export function p256PublicKeyHex(privateKeyHex: string): string {
  return Buffer.from(p256.getPublicKey(privateKeyHex, false)).toString('hex');
}

/** An OCMF time for a unix time in seconds, UTC, with the clock status. */
export function ocmfTime(unixSeconds: number, clock: 'U' | 'I' | 'S' | 'R' = 'S'): string {
  const iso = new Date(unixSeconds * 1000).toISOString(); // 2026-11-24T15:20:40.123Z
  return `${iso.slice(0, 19)},${iso.slice(20, 23)}+0000 ${clock}`;
}

/** An AC import-register reading in kWh (OBIS 1-b:1.8.0) at a unix time, as the bench's meters sign them. */
export function ocmfReading(
  unixSeconds: number,
  tx: OcmfReading['TX'],
  kwh: number,
  clock: 'U' | 'I' | 'S' | 'R' = 'S',
) {
  return {
    TM: ocmfTime(unixSeconds, clock),
    TX: tx,
    RV: Number(kwh.toFixed(3)),
    RI: '1-b:1.8.0',
    RU: 'kWh',
    RT: 'AC',
    ST: 'G',
  };
}

/** A reading's time (unix seconds) and clock status. */
export function readingTime(reading: Pick<OcmfReading, 'TM'>): { unix: number; clock: 'U' | 'I' | 'S' | 'R' } {
  const m = OCMF_TIME.exec(reading.TM);
  if (!m) throw new OcmfFormatError(`reading time ${reading.TM} is not an OCMF time`, 'RD.TM');
  const [, local, ms, offset, clock] = m;
  const sign = offset!.startsWith('-') ? '-' : '+';
  const iso = `${local}.${ms}${sign}${offset!.slice(1, 3)}:${offset!.slice(3, 5)}`;
  return { unix: Date.parse(iso) / 1000, clock: clock as 'U' | 'I' | 'S' | 'R' };
}

/**
 * The digest a billing record cites for a transaction's OCMF: SHA-256 over the SHA-256 of each distinct signed
 * record, in pagination order (a one-record transaction gives SHA-256 of its record's hash). Anyone holding the
 * station's records recomputes it; the order makes it independent of how the records arrived (an offline queue).
 */
export function ocmfTransactionDigest(records: ReadonlyArray<{ pg: string; sha256: string }>): string {
  const ordered = [...new Map(records.map((r) => [r.sha256, r])).values()].sort(
    (a, b) => Number(a.pg.slice(1)) - Number(b.pg.slice(1)) || a.sha256.localeCompare(b.sha256),
  );
  const h = createHash('sha256');
  for (const r of ordered) h.update(Buffer.from(r.sha256, 'hex'));
  return `0x${h.digest('hex')}`;
}

/** What a billing record can cite of a transaction: its signed begin and end, under one key. */
export interface OcmfEvidence {
  /** ocmfTransactionDigest of its records (bytes32, 0x…). */
  digest: string;
  /** keyFingerprint of the key every record verified under (bytes32, 0x…). */
  keyFingerprint: string;
  begin: { unix: number; wh: number };
  end: { unix: number; wh: number };
}

/**
 * A transaction's signed values as billing evidence, or why they are none: every record readable and signed under
 * the station's key (the rig file's, else the one sent beside it), one begin and one end reading, the register not
 * going back. This is what a central system needs before it bills; the stricter conformance checks are the
 * analysis's (analysis/ocmf-transaction.ts).
 */
export function ocmfEvidence(
  signed: ReadonlyArray<{ data: string; publicKey?: string }>,
  stationKey?: string,
): OcmfEvidence | { problem: string } {
  const records: Array<{ pg: string; sha256: string; record: OcmfRecord }> = [];
  const fingerprints = new Set<string>();
  for (const sv of signed) {
    let record: OcmfRecord;
    try {
      record = parseOcmf(sv.data);
    } catch (e) {
      return { problem: `unreadable signed value: ${(e as Error).message}` };
    }
    if (records.some((r) => r.sha256 === record.sha256)) continue;
    const wire = stationKey ?? sv.publicKey;
    if (!wire) return { problem: `record ${record.payload.PG} has no key to verify it with` };
    let key: KeyObject;
    try {
      key = ocmfPublicKey(wire);
    } catch (e) {
      return { problem: `the station key is unreadable: ${(e as Error).message}` };
    }
    const problem = ocmfSignatureProblem(record, key);
    if (problem) return { problem: `record ${record.payload.PG}: ${problem}` };
    fingerprints.add(keyFingerprint(key));
    records.push({ pg: record.payload.PG, sha256: record.sha256, record });
  }
  if (fingerprints.size > 1) return { problem: `records signed under ${fingerprints.size} different keys` };
  const readings = (tx: 'B' | 'E') => [
    ...new Map(
      records
        .flatMap((r) => r.record.payload.RD.filter((rd) => rd.TX === tx))
        .map((rd) => [`${rd.TM}|${rd.RV}|${rd.RU}`, rd]),
    ).values(),
  ];
  const point = (tx: 'B' | 'E') => {
    const rds = readings(tx);
    if (rds.length !== 1) return `${rds.length} ${tx === 'B' ? 'begin' : 'end'} readings, not one`;
    const rd = rds[0]!;
    if (rd.RU !== 'kWh' && rd.RU !== 'Wh') return `unit ${rd.RU} is not an energy`;
    try {
      return { unix: readingTime(rd).unix, wh: rd.RV * (rd.RU === 'kWh' ? 1000 : 1) };
    } catch (e) {
      return (e as Error).message;
    }
  };
  const begin = point('B');
  const end = point('E');
  if (typeof begin === 'string') return { problem: begin };
  if (typeof end === 'string') return { problem: end };
  if (end.wh < begin.wh) return { problem: `the register went back from ${begin.wh} to ${end.wh} Wh` };
  if (end.unix < begin.unix) return { problem: 'the end reading is stamped before the begin' };
  return { digest: ocmfTransactionDigest(records), keyFingerprint: `0x${[...fingerprints][0]}`, begin, end };
}
