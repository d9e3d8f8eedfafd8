import { describe, expect, it } from 'vitest';
import type { BillingRow } from '../../../analysis/billing.js';
import { ocmfPublicKey, ocmfSignatureProblem, p256PublicKeyHex, parseOcmf, signOcmf } from '../../../protocols/ocmf.js';
import { ocmfPayload } from '../../../reports/ocmf.js';

/** Verified with node:crypto against the published key, independently of the signer (@noble/curves). */
const verifyOcmf = (line: string, key: string) =>
  ocmfSignatureProblem(parseOcmf(line), ocmfPublicKey(p256PublicKeyHex(key))) === undefined;

const key = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const meter = { vendor: 'bench', model: 'reference-meter', serial: 'RM-1', firmware: '1.0.0' };
const row: BillingRow = {
  meterId: 'house-1',
  seq: '1',
  payer: '0x'.padEnd(66, 'a'),
  start: 1_764_000_000,
  end: 1_764_003_600,
  importWh: 7400,
  exportWh: 0,
  cost: 1.85,
  status: 'ok',
  registerBeginKWh: 12.5,
  registerEndKWh: 19.9,
  problems: [],
};

describe('OCMF export', () => {
  it('signs OCMF|payload|signature with P-256 and verifies with the public key', () => {
    const line = signOcmf(ocmfPayload(row, meter, 1), key);
    expect(line).toMatch(
      /^OCMF\|\{"FV":"1.0",.*"RD":\[\{"TM":"2025-11-24T16:00:00,000\+0000 S","TX":"B","RV":12.5,"RI":"1-b:1.8.0","RU":"kWh","RT":"AC","ST":"G"\}/,
    );
    expect(line).toContain('"SA":"ECDSA-secp256r1-SHA256"');
    expect(verifyOcmf(line, key)).toBe(true);
    expect(signOcmf(ocmfPayload(row, meter, 1), key)).toBe(line);
  });

  it('rejects a tampered payload', () => {
    const line = signOcmf(ocmfPayload(row, meter, 1), key).replace('"RV":19.9', '"RV":18.9');
    expect(verifyOcmf(line, key)).toBe(false);
  });

  it('has a reading with TX T at each tariff change inside the session, between B and E', () => {
    // 16:00–20:00 on a Monday: peak from 17:00 (band change); the register read there.
    const rows = { ...row, end: row.start + 4 * 3600, tariffChanges: [{ t: row.start + 3600, registerKWh: 14.35 }] };
    const rd = ocmfPayload(rows, meter, 1).RD as Array<{ TM: string; TX: string; RV: number }>;
    expect(rd.map((r) => [r.TX, r.TM, r.RV])).toEqual([
      ['B', '2025-11-24T16:00:00,000+0000 S', 12.5],
      ['T', '2025-11-24T17:00:00,000+0000 S', 14.35],
      ['E', '2025-11-24T20:00:00,000+0000 S', 19.9],
    ]);
    const line = signOcmf(ocmfPayload(rows, meter, 1), key);
    expect(verifyOcmf(line, key)).toBe(true);
  });
});
