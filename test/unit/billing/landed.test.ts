import { describe, expect, it } from 'vitest';
import { type BillingRecord, loadClassId } from '../../../billing/billing-record.js';
import { type LandedRecord, landedFromJson, landedToJson } from '../../../billing/landed.js';
import { IssueLog } from '../../../billing/verify-issues.js';

const METER = '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A';

const record: BillingRecord = {
  meter: METER,
  seq: 7n,
  payer: `0x${'a1'.repeat(32)}`,
  host: `0x${'b2'.repeat(32)}`,
  start: 1_767_628_800n,
  end: 1_767_632_400n,
  importMilliWh: 7_000_123n,
  exportMilliWh: 0n,
  costMicro: -45n,
  tariffVersion: 2n,
  loadClass: loadClassId('ev-1ph-7.4kw'),
  attributed: true,
  version: 2,
  bandMilliWh: [1n, 7_000_122n],
};

describe('the landed record and its JSON form', () => {
  it('a batched record: bigints as decimal strings, the batch reference kept, and back to the same values', () => {
    const l: LandedRecord = {
      blockNumber: 42,
      txHash: `0x${'c3'.repeat(32)}`,
      logIndex: 3,
      record,
      batch: { root: `0x${'d4'.repeat(32)}`, index: 1, firstSeq: 6n, count: 2, signature: '0xabcd', proof: ['0x01'] },
    };
    const j = landedToJson(l);
    expect(j.blockNumber).toBe(42);
    expect(j.record.seq).toBe('7');
    expect(j.record.costMicro).toBe('-45');
    expect(j.record.bandMilliWh).toEqual(['1', '7000122']);
    expect(j.batch).toEqual({
      root: `0x${'d4'.repeat(32)}`,
      index: 1,
      firstSeq: '6',
      count: 2,
      signature: '0xabcd',
      proof: ['0x01'],
    });
    expect(j.signature).toBeUndefined();
    // Through text, as the run record keeps it.
    expect(landedFromJson(JSON.parse(JSON.stringify(j)))).toEqual(l);
  });

  it('a record sent alone keeps its own signature and has no batch', () => {
    const l: LandedRecord = {
      blockNumber: 5,
      txHash: `0x${'e5'.repeat(32)}`,
      logIndex: 0,
      record,
      signature: '0x1234',
    };
    const back = landedFromJson(JSON.parse(JSON.stringify(landedToJson(l))));
    expect(back.signature).toBe('0x1234');
    expect(back.batch).toBeUndefined();
    expect(back.record).toEqual(record);
  });
});

describe('the issue log of billing verification', () => {
  it('checksums the meter, flags the record an issue names, and counts every kind (0 when none)', () => {
    const log = new IssueLog();
    log.issue('duplicate', METER.toLowerCase(), 7n, 'twice', '0xt');
    log.issue('missing', METER, 8n, 'not there');
    log.issue('revoked', METER, undefined, 'revoked');
    log.issue('missing', 'not-an-address', 1n, 'kept as given');
    expect(log.issues[0]).toEqual({ kind: 'duplicate', meter: METER, seq: '7', message: 'twice', txHash: '0xt' });
    expect(log.issues[2]!.seq).toBeUndefined();
    expect(log.issues[3]!.meter).toBe('not-an-address');
    expect([...log.flagged]).toEqual([`${METER.toLowerCase()}#7`, `${METER.toLowerCase()}#8`, 'not-an-address#1']);
    const counts = log.counts();
    expect(counts).toMatchObject({ duplicates: 1, missing: 2, revoked: 1, forged: 0, costMismatch: 0 });
    expect(Object.keys(counts)).toHaveLength(17);
  });
});
