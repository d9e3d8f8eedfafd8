import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOcmfTransaction, type OcmfTransactionInput } from '../../../analysis/ocmf-transaction.js';
import { ocaPublicKey, ocmfPublicKey, ocmfTime, p256PublicKeyHex, signOcmf } from '../../../protocols/ocmf.js';
import { REPO_ROOT } from '../../support/cli.js';

const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';
const OTHER = '0f56db78ca460b055d20fa1e2c4bdc0e3f1cbd3b2f5b7b8c5e3a8f5e6d7c8b9a';
const STATION_KEY = ocaPublicKey(ocmfPublicKey(p256PublicKeyHex(KEY)));
const T0 = 1_764_000_000;

type Reading = { t: number; tx: 'B' | 'E'; kwh: number; clock?: 'S' | 'U' };
const record = (pg: number, readings: Reading[], over: Record<string, unknown> = {}, key = KEY) =>
  signOcmf(
    {
      FV: '1.0',
      GI: 'bench emulated-station',
      GS: 'SN-1',
      PG: `T${pg}`,
      MV: 'bench',
      MS: 'M-1',
      IS: true,
      IT: 'EMAID',
      ID: 'EMA-OK',
      RD: readings.map((r) => ({
        TM: ocmfTime(r.t, r.clock ?? 'S'),
        TX: r.tx,
        RV: r.kwh,
        RI: '1-b:1.8.0',
        RU: 'kWh',
        RT: 'AC',
        ST: 'G',
      })),
      ...over,
    },
    key,
  );
const begin: Reading = { t: T0, tx: 'B', kwh: 1000 };
const end: Reading = { t: T0 + 3600, tx: 'E', kwh: 1007.4 };
const good = (): OcmfTransactionInput => ({
  idToken: 'EMA-OK',
  signed: [{ data: record(1, [begin]) }, { data: record(2, [begin, end]) }],
  stationKey: STATION_KEY,
  meterSerial: 'M-1',
  referenceWh: 7400,
  mpePct: 1,
});
const kinds = (input: OcmfTransactionInput) => {
  const c = checkOcmfTransaction(input);
  return {
    conformance: c.conformance.issues.map((i) => i.kind),
    compatibility: c.compatibility.issues.map((i) => i.kind),
  };
};

describe('OCMF transaction check', () => {
  it('passes a signed begin and end of the authorised token within the MPE, the begin repeated in the end record once', () => {
    const c = checkOcmfTransaction(good());
    expect(c.conformance).toEqual({ ok: true, issues: [] });
    expect(c.compatibility.ok).toBe(true);
    expect(c.energyWh).toBeCloseTo(7400, 6);
    expect(c.records.map((r) => r.pg)).toEqual(['T1', 'T2']);
    expect(new Set(c.records.map((r) => r.keyFingerprint)).size).toBe(1);
  });

  it('takes the key from the messages when the rig names none', () => {
    const input = {
      ...good(),
      stationKey: undefined,
      signed: good().signed.map((s) => ({ ...s, publicKey: STATION_KEY })),
    };
    expect(kinds(input).conformance).toEqual([]);
    expect(kinds({ ...good(), stationKey: undefined }).compatibility).toEqual(['no-key', 'no-key']);
  });

  it('fails each fault of a station on the verdict it belongs to', () => {
    const cases: Array<[string, OcmfTransactionInput, string[], string[]]> = [
      [
        'wrong key',
        { ...good(), signed: [{ data: record(1, [begin], {}, OTHER) }, { data: record(2, [begin, end], {}, OTHER) }] },
        ['signature', 'signature'],
        ['signature', 'signature'],
      ],
      [
        'a tampered reading',
        {
          ...good(),
          signed: [
            { data: record(1, [begin]) },
            { data: record(2, [begin, end]).replace('"RV":1007.4', '"RV":1009.4') },
          ],
        },
        ['signature', 'energy'],
        ['signature'],
      ],
      [
        'no signature',
        { ...good(), signed: [{ data: record(1, [begin]) }, { data: 'OCMF|{"FV":"1.0"}' }] },
        ['unreadable', 'no-end'],
        ['unreadable', 'no-end'],
      ],
      [
        'clock unsynchronised',
        {
          ...good(),
          signed: [
            { data: record(1, [{ ...begin, clock: 'U' }]) },
            { data: record(2, [{ ...begin, clock: 'U' }, end]) },
          ],
        },
        ['clock'],
        [],
      ],
      [
        'a pagination gap',
        { ...good(), signed: [{ data: record(1, [begin]) }, { data: record(3, [begin, end]) }] },
        ['pagination'],
        [],
      ],
      [
        'another token',
        { ...good(), idToken: 'EMA-OTHER' },
        ['identification', 'identification'],
        ['identification', 'identification'],
      ],
      ['energy off', { ...good(), referenceWh: 7200 }, ['energy'], []],
      ['another meter', { ...good(), meterSerial: 'M-2' }, ['meter-serial', 'meter-serial'], []],
      [
        'an end before its begin',
        { ...good(), signed: [{ data: record(1, [begin]) }, { data: record(2, [begin, { ...end, t: T0 - 60 }]) }] },
        ['order'],
        ['order'],
      ],
    ];
    for (const [name, input, conformance, compatibility] of cases) {
      const got = kinds(input);
      expect(got.conformance.sort(), name).toEqual(conformance.sort());
      expect(got.compatibility.sort(), name).toEqual(compatibility.sort());
    }
  });

  it('reads a station record from the field: compatible, but not conformant (no meter serial, relative clock)', () => {
    const data = readFileSync(join(REPO_ROOT, 'test/fixtures/ocmf/enercharge-gateway.ocmf'), 'utf8');
    const publicKey = readFileSync(join(REPO_ROOT, 'test/fixtures/ocmf/enercharge-gateway.pub'), 'utf8').trim();
    const c = checkOcmfTransaction({ idToken: '23141b6bbb1707a53ac3428c8006e60b', signed: [{ data, publicKey }] });
    expect(c.compatibility).toEqual({ ok: true, issues: [] });
    expect(new Set(c.conformance.issues.map((i) => i.kind))).toEqual(new Set(['meter-serial', 'clock']));
    expect(c.energyWh).toBeCloseTo(17_796, 6);
  });
});
