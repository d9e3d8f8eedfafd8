import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  keyFingerprint,
  ocaPublicKey,
  ocmfPublicKey,
  ocmfSignatureProblem,
  ocmfTime,
  p256PublicKeyHex,
  parseOcmf,
  readingTime,
  signOcmf,
} from '../../../protocols/ocmf.js';
import { REPO_ROOT } from '../../support/cli.js';

// A record signed by a charging-station gateway in the field (Enercharge, OCMF 1.0, DC), with its published key in
// Base64 SPKI: an independent vector, as the S.A.F.E. transparency software would check it (from pyocmf's tests).
const fixture = (name: string) => readFileSync(join(REPO_ROOT, 'test/fixtures/ocmf', name), 'utf8').trim();
const FIELD_RECORD = fixture('enercharge-gateway.ocmf');
const FIELD_KEY = fixture('enercharge-gateway.pub');

const PRIVATE = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const payload = {
  FV: '1.0',
  GI: 'bench station',
  GS: 'ST-1',
  GV: '1.0.0',
  PG: 'T7',
  MV: 'bench',
  MM: 'reference-meter',
  MS: 'RM-1',
  MF: '1.0.0',
  IS: true,
  IL: 'HEARING',
  IT: 'ISO14443',
  ID: '1F2E3D4C',
  RD: [
    { TM: ocmfTime(1_764_000_000), TX: 'B', RV: 12.5, RI: '1-b:1.8.0', RU: 'kWh', RT: 'AC', ST: 'G' },
    { TM: ocmfTime(1_764_003_600), TX: 'E', RV: 19.9, RI: '1-b:1.8.0', RU: 'kWh', RT: 'AC', ST: 'G' },
  ],
};

describe('OCMF', () => {
  it('verifies a record signed by a station in the field with its published key, and not once a reading changes', () => {
    const record = parseOcmf(FIELD_RECORD);
    expect(record.payload.PG).toBe('T51');
    expect(record.payload.RD.map((r) => r.TX)).toEqual(['B', 'C', 'S', 'E']);
    expect(record.signature.SA).toBe('ECDSA-secp256r1-SHA256');
    expect(ocmfSignatureProblem(record, ocmfPublicKey(FIELD_KEY))).toBeUndefined();
    const tampered = parseOcmf(
      FIELD_RECORD.replace(
        '"RV":1.6086276e7,"RI":"1-b:1.8.0","RU":"Wh","RT":"DC","ST":"G"}]',
        '"RV":1.6086277e7,"RI":"1-b:1.8.0","RU":"Wh","RT":"DC","ST":"G"}]',
      ),
    );
    expect(ocmfSignatureProblem(tampered, ocmfPublicKey(FIELD_KEY))).toBe(
      'the signature does not match the payload and key',
    );
  });

  it('reads reading times with their offset and clock status', () => {
    const [begin] = parseOcmf(FIELD_RECORD).payload.RD;
    expect(readingTime(begin!)).toEqual({ unix: Date.UTC(2023, 3, 3, 15, 10, 35) / 1000, clock: 'R' });
    expect(readingTime({ TM: ocmfTime(1_764_000_000.25, 'U') })).toEqual({ unix: 1_764_000_000.25, clock: 'U' });
  });

  it('signs deterministically, and a node:crypto verifier takes the key in every wire form', () => {
    const text = signOcmf(payload, PRIVATE);
    expect(signOcmf(payload, PRIVATE)).toBe(text);
    const record = parseOcmf(text);
    const key = ocmfPublicKey(p256PublicKeyHex(PRIVATE));
    const forms = [
      ocaPublicKey(key),
      key.export({ format: 'der', type: 'spki' }).toString('hex'),
      key.export({ format: 'der', type: 'spki' }).toString('base64'),
      key.export({ format: 'pem', type: 'spki' }).toString(),
    ];
    for (const form of forms) {
      expect(ocmfSignatureProblem(record, ocmfPublicKey(form))).toBeUndefined();
      expect(keyFingerprint(ocmfPublicKey(form))).toBe(keyFingerprint(key));
    }
    expect(ocaPublicKey(key)).toMatch(/^oca:base16:asn1:3059301306072a8648ce3d020106082a8648ce3d030107034200/);
  });

  it('says why a signature fails: another key, another curve, an algorithm OCMF does not name', () => {
    const record = parseOcmf(signOcmf(payload, PRIVATE));
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    expect(ocmfSignatureProblem(record, other)).toBe('the signature does not match the payload and key');
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    expect(ocmfSignatureProblem(record, k1)).toBe('the key is on secp256k1, the record says ECDSA-secp256r1-SHA256');
    const rsa = parseOcmf(signOcmf(payload, PRIVATE).replace('ECDSA-secp256r1-SHA256', 'RSA-PSS'));
    expect(ocmfSignatureProblem(rsa, other)).toBe('signature algorithm RSA-PSS is not one OCMF names');
  });

  it('names the field of a malformed record', () => {
    const good = signOcmf(payload, PRIVATE);
    const cases: Array<[string, RegExp]> = [
      ['OCPP|{}|{}', /does not start with "OCMF\|"/],
      ['OCMF|{"FV":"1.0"', /no signature section/],
      [good.replace('{"FV"', '{FV'), /OCMF payload is not JSON/],
      [good.replace('"PG":"T7"', '"PG":"7"'), /OCMF payload\.PG: pagination T<n>/],
      [
        good.replace('"TM":"2025-11-24T16:00:00,000+0000 S"', '"TM":"2025-11-24 16:00"'),
        /OCMF payload\.RD\.0\.TM: time as/,
      ],
      [good.replace('"RD":[', '"RD":[1,'), /OCMF payload\.RD\.0/],
      [good.replace(/"SD":"[0-9A-F]+"/, '"SD":"xyz"'), /OCMF signature\.SD: hex/],
    ];
    for (const [text, message] of cases) expect(() => parseOcmf(text), text).toThrow(message);
  });
});
