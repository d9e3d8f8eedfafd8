import { AbiCoder, keccak256, TypedDataEncoder, type TypedDataField, toUtf8Bytes, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  BILLING_RECORD_EIP712_TYPES,
  type BillingRecord,
  billingBatchOf,
  billingDomain,
  billingRecordHash,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
  recoverBatchSigner,
  recoverBillingSigner,
  signBillingBatch,
  signBillingRecord,
  tryRecoverBillingSigner,
} from '../../../billing/billing-record.js';
import { hashPair, merkleLevels, merkleProof, merkleRoot, verifyMerkleProof } from '../../../billing/merkle.js';
import {
  billingRecordFromJson,
  billingRecordToJson,
  signedBillingRecordFromJson,
  signedBillingRecordToJson,
} from '../../../billing/record-json.js';

const meter = new Wallet(`0x${'42'.repeat(32)}`);
const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');

function record(seq: bigint, over: Partial<BillingRecord> = {}): BillingRecord {
  return {
    meter: meter.address,
    seq,
    payer: pseudonym('ev-owner-1', 'salt'),
    host: pseudonym('house-1', 'salt'),
    start: 1_767_225_600n,
    end: 1_767_229_200n,
    importMilliWh: 7_400_000n,
    exportMilliWh: 0n,
    costMicro: -12_345n,
    tariffVersion: 1n,
    loadClass: loadClassId('ev-1ph-7.4kw'),
    attributed: true,
    // The legacy form: records signed before per-band energy keep verifying.
    version: 1,
    bandMilliWh: [],
    ...over,
  };
}

describe('pseudonyms and ids', () => {
  it('pseudonym is a deterministic bytes32 that depends on id and salt', () => {
    const a = pseudonym('contract-17', 'lab-salt');
    expect(a).toMatch(/^0x[0-9a-f]{64}$/);
    expect(pseudonym('contract-17', 'lab-salt')).toBe(a);
    expect(pseudonym('contract-17', 'other-salt')).not.toBe(a);
    expect(pseudonym('contract-18', 'lab-salt')).not.toBe(a);
    expect(a).not.toContain(Buffer.from('contract-17').toString('hex'));
  });

  it('refuses an empty id or salt', () => {
    expect(() => pseudonym('', 'salt')).toThrow(RangeError);
    expect(() => pseudonym('id', '')).toThrow(RangeError);
  });

  it('loadClassId is keccak256 of the class name', () => {
    expect(loadClassId('ev-1ph-7.4kw')).toBe(keccak256(toUtf8Bytes('ev-1ph-7.4kw')));
    expect(loadClassId('a')).not.toBe(loadClassId('b'));
  });
});

describe('EIP-712 signing', () => {
  it('a signed record recovers to the meter', async () => {
    const signed = await signBillingRecord(meter, domain, record(1n));
    expect(signed.signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(recoverBillingSigner(domain, signed.record, signed.signature)).toBe(meter.address);
  });

  it('any changed field or another domain recovers to someone else', async () => {
    const signed = await signBillingRecord(meter, domain, record(1n));
    expect(recoverBillingSigner(domain, record(1n, { importMilliWh: 7_400_001n }), signed.signature)).not.toBe(
      meter.address,
    );
    expect(recoverBillingSigner(domain, record(2n), signed.signature)).not.toBe(meter.address);
    const other = billingDomain(1n, domain.verifyingContract);
    expect(recoverBillingSigner(other, signed.record, signed.signature)).not.toBe(meter.address);
  });

  it('tryRecoverBillingSigner returns undefined for garbage signatures', () => {
    expect(tryRecoverBillingSigner(domain, record(1n), '0x1234')).toBeUndefined();
  });

  it('a batch signature covers the Merkle root of the records', async () => {
    const records = [1n, 2n, 3n].map((s) => record(s));
    const signed = await signBillingBatch(meter, domain, records);
    expect(signed.batch).toEqual({
      meter: meter.address,
      firstSeq: 1n,
      count: 3n,
      root: merkleRoot(records.map(billingRecordHash)),
    });
    expect(recoverBatchSigner(domain, signed.batch, signed.signature)).toBe(meter.address);
    expect(recoverBatchSigner(domain, billingBatchOf([records[0]!, records[1]!]), signed.signature)).not.toBe(
      meter.address,
    );
  });
});

describe('Merkle tree', () => {
  const leaves = (n: number) => Array.from({ length: n }, (_, i) => billingRecordHash(record(BigInt(i + 1))));

  it('every leaf proves membership for trees of 1..17 leaves; wrong leaves do not', () => {
    for (let n = 1; n <= 17; n++) {
      const l = leaves(n);
      const root = merkleRoot(l);
      const levels = merkleLevels(l);
      expect(levels.at(-1)).toEqual([root]);
      for (let i = 0; i < n; i++) {
        expect(verifyMerkleProof(l[i]!, merkleProof(l, i), root)).toBe(true);
        expect(merkleProof(levels, i)).toEqual(merkleProof(l, i));
      }
      expect(verifyMerkleProof(billingRecordHash(record(999n)), merkleProof(l, 0), root)).toBe(false);
    }
  });

  it('hashes pairs commutatively, an odd node moves up unchanged', () => {
    const [a, b, c] = leaves(3) as [string, string, string];
    expect(hashPair(a, b)).toBe(hashPair(b, a));
    expect(merkleRoot([a, b, c])).toBe(hashPair(hashPair(a, b), c));
    expect(merkleRoot([a])).toBe(a);
    expect(() => merkleRoot([])).toThrow(RangeError);
  });
});

describe('JSON form', () => {
  it('round-trips, bigints as decimal strings (negative cost included)', () => {
    const r = record(12n);
    const json = billingRecordToJson(r);
    expect(json.seq).toBe('12');
    expect(json.costMicro).toBe('-12345');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(billingRecordFromJson(JSON.parse(JSON.stringify(json)))).toEqual(r);
  });

  it('round-trips signed records in nested and flat form', async () => {
    const signed = await signBillingRecord(meter, domain, record(3n));
    const json = signedBillingRecordToJson(signed);
    expect(signedBillingRecordFromJson(JSON.parse(JSON.stringify(json)))).toEqual(signed);
    expect(signedBillingRecordFromJson({ ...json.record, signature: json.signature })).toEqual(signed);
  });

  it('names the field of every problem', () => {
    const good = billingRecordToJson(record(1n));
    expect(() => billingRecordFromJson({ ...good, seq: '1.5' })).toThrow(/seq/);
    expect(() => billingRecordFromJson({ ...good, seq: '-1' })).toThrow(/seq.*out of range/);
    expect(() => billingRecordFromJson({ ...good, tariffVersion: String(2 ** 32) })).toThrow(/tariffVersion/);
    expect(() => billingRecordFromJson({ ...good, meter: 'bob' })).toThrow(/meter/);
    expect(() => billingRecordFromJson({ ...good, payer: 'Alice Smith' })).toThrow(/payer/);
    expect(() => billingRecordFromJson({ ...good, attributed: 'yes' })).toThrow(/attributed/);
    expect(() => billingRecordFromJson({ ...good, colour: 'red' })).toThrow(/unknown field "colour"/);
    expect(() => billingRecordFromJson(null)).toThrow(TypeError);
    expect(() => signedBillingRecordFromJson({ record: good })).toThrow(/signature/);
  });
});

describe('record versions: per-band energy (2) beside the legacy form (1)', () => {
  const v2 = (seq: bigint, over: Partial<BillingRecord> = {}) =>
    record(seq, { version: RECORD_VERSION_BANDS, bandMilliWh: [0n, 7_000_000n, 400_000n], ...over });

  it('version 1 keeps its original EIP-712 struct hash and JSON (no version or band fields)', () => {
    const r = record(5n);
    const { version: _v, bandMilliWh: _b, ...fields } = r;
    const v1Hash = TypedDataEncoder.from(
      BILLING_RECORD_EIP712_TYPES as unknown as Record<string, TypedDataField[]>,
    ).hashStruct('BillingRecord', fields);
    expect(billingRecordHash(r)).toBe(v1Hash);
    const json = billingRecordToJson(r);
    expect('version' in json || 'bandMilliWh' in json).toBe(false);
    expect(billingRecordFromJson(json)).toEqual(r);
  });

  it('version 2 hashes the version and the band energies as an EIP-712 uint64[] (keccak of the padded elements)', () => {
    const r = v2(5n);
    const typeHash = keccak256(
      toUtf8Bytes(
        'BillingRecord(address meter,uint64 seq,bytes32 payer,bytes32 host,uint64 start,uint64 end,uint64 importMilliWh,uint64 exportMilliWh,int128 costMicro,uint32 tariffVersion,bytes32 loadClass,bool attributed,uint8 version,uint64[] bandMilliWh)',
      ),
    );
    const coder = AbiCoder.defaultAbiCoder();
    const bandsHash = keccak256(coder.encode(['uint64[3]'], [r.bandMilliWh]));
    const expected = keccak256(
      coder.encode(
        [
          'bytes32',
          'address',
          'uint64',
          'bytes32',
          'bytes32',
          'uint64',
          'uint64',
          'uint64',
          'uint64',
          'int128',
          'uint32',
          'bytes32',
          'bool',
          'uint8',
          'bytes32',
        ],
        [
          typeHash,
          r.meter,
          r.seq,
          r.payer,
          r.host,
          r.start,
          r.end,
          r.importMilliWh,
          r.exportMilliWh,
          r.costMicro,
          r.tariffVersion,
          r.loadClass,
          r.attributed,
          2,
          bandsHash,
        ],
      ),
    );
    expect(billingRecordHash(r)).toBe(expected);
    // The same fields as version 1 hash differently: one form cannot pass for the other.
    expect(billingRecordHash(r)).not.toBe(billingRecordHash(record(5n)));
  });

  it('a signed version-2 record recovers to the meter; a moved band energy does not', async () => {
    const signed = await signBillingRecord(meter, domain, v2(6n));
    expect(recoverBillingSigner(domain, signed.record, signed.signature)).toBe(meter.address);
    // The same total, shifted from the peak to the day band: the cost it implies would drop.
    const moved = { ...signed.record, bandMilliWh: [0n, 7_400_000n, 0n] };
    expect(tryRecoverBillingSigner(domain, moved, signed.signature)).not.toBe(meter.address);
    const asV1 = { ...signed.record, version: 1, bandMilliWh: [] };
    expect(tryRecoverBillingSigner(domain, asV1, signed.signature)).not.toBe(meter.address);
  });

  it('version 2 round-trips through JSON with the version and band energies as decimal strings', async () => {
    const r = v2(7n);
    const json = billingRecordToJson(r);
    expect(json.version).toBe(2);
    expect(json.bandMilliWh).toEqual(['0', '7000000', '400000']);
    expect(billingRecordFromJson(JSON.parse(JSON.stringify(json)))).toEqual(r);
    const signed = await signBillingRecord(meter, domain, r);
    expect(signedBillingRecordFromJson(JSON.parse(JSON.stringify(signedBillingRecordToJson(signed))))).toEqual(signed);
  });

  it('names the problem of a malformed version or band energy', () => {
    const good = billingRecordToJson(v2(1n));
    expect(() => billingRecordFromJson({ ...good, version: 4 })).toThrow(/version 4 is unknown/);
    // The station fields belong to version 3 and must be there in it.
    const key = `0x${'ab'.repeat(32)}`;
    expect(() => billingRecordFromJson({ ...good, stationKey: key })).toThrow(/stationKey belongs to version 3/);
    expect(() => billingRecordFromJson({ ...good, version: 3, stationKey: key })).toThrow(/ocmfHash is not a bytes32/);
    const v3 = billingRecordFromJson({
      ...good,
      version: 3,
      stationKey: key,
      ocmfHash: key.toUpperCase().replace('0X', '0x'),
    });
    expect(v3.ocmfHash).toBe(key);
    expect(billingRecordFromJson(JSON.parse(JSON.stringify(billingRecordToJson(v3))))).toEqual(v3);
    expect(() => billingRecordFromJson({ ...good, bandMilliWh: ['1', '-2'] })).toThrow(/bandMilliWh\[1\]/);
    expect(() => billingRecordFromJson({ ...good, bandMilliWh: [] })).toThrow(/bandMilliWh needs 1 to 16/);
    expect(() => billingRecordFromJson({ ...good, bandMilliWh: '7400000' })).toThrow(/bandMilliWh is not an array/);
    expect(() => billingRecordFromJson({ ...good, version: 1 })).toThrow(/version 1 has no bandMilliWh/);
    expect(() => billingRecordFromJson({ ...good, bandMilliWh: [String(2n ** 64n)] })).toThrow(/bandMilliWh\[0\]/);
  });
});
