import { describe, expect, it } from 'vitest';
import { TransactionBook } from '../../../rigs/drivers/ocpp-transactions.js';

type Frame = { t: number; station: string; direction: 'in' | 'out'; frame: string };

/** A wire log written as a station and a central system would: each call in, its answer out. */
function wire() {
  const frames: Frame[] = [];
  let id = 0;
  return {
    frames,
    call(t: number, action: string, params: unknown, answer: unknown = {}) {
      const msgId = `m${id++}`;
      frames.push({ t, station: 'CS-1', direction: 'in', frame: JSON.stringify([2, msgId, action, params]) });
      frames.push({ t, station: 'CS-1', direction: 'out', frame: JSON.stringify([3, msgId, answer]) });
    },
    refused(t: number, action: string, params: unknown) {
      const msgId = `m${id++}`;
      frames.push({ t, station: 'CS-1', direction: 'in', frame: JSON.stringify([2, msgId, action, params]) });
      frames.push({
        t,
        station: 'CS-1',
        direction: 'out',
        frame: JSON.stringify([4, msgId, 'FormationViolation', 'bad', {}]),
      });
    },
  };
}

const iso = (s: number) => new Date(Date.UTC(2026, 2, 2, 8) + s * 1000).toISOString();
const mv201 = (s: number, wh: number) => [
  { timestamp: iso(s), sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] },
];
const event = (eventType: string, seqNo: number, s: number, wh: number) => ({
  eventType,
  timestamp: iso(s),
  triggerReason: 'MeterValuePeriodic',
  seqNo,
  transactionInfo: { transactionId: 'tx-9', ...(eventType === 'Ended' && { stoppedReason: 'EVDisconnected' }) },
  ...(eventType === 'Started' && { idToken: { idToken: 'TOKEN-A', type: 'eMAID' } }),
  meterValue: mv201(s, wh),
});

describe('a central system restarted mid-transaction rebuilds its transactions from the wire log', () => {
  it('2.0.1: a transaction started before the restart ends after it, once, with every reading', () => {
    const w = wire();
    w.call(10, 'TransactionEvent', event('Started', 0, 30, 1000));
    w.call(70, 'TransactionEvent', event('Updated', 1, 90, 1100));
    // A call the bench refused never reached the book: it is not replayed either.
    w.refused(80, 'TransactionEvent', event('Updated', 2, 95, 9999));
    const book = TransactionBook.fromWireLog(w.frames, () => 500);
    const [tx] = book.all('CS-1');
    expect(tx).toMatchObject({ transactionId: 'tx-9', idToken: 'TOKEN-A', receivedStart: 10, meterStartWh: 1000 });
    expect(tx!.samples.map((s) => [s.energyWh, s.received])).toEqual([
      [1000, 10],
      [1100, 70],
    ]);
    // After the restart: the queued Updated again (taken once), then the end.
    book.take('CS-1', 'TransactionEvent', event('Updated', 1, 90, 1100));
    book.take('CS-1', 'TransactionEvent', event('Ended', 2, 300, 2200));
    const [after] = book.all('CS-1');
    expect(book.all('CS-1')).toHaveLength(1);
    expect(after).toMatchObject({ end: Date.parse(iso(300)) / 1000, receivedEnd: 500, duplicates: 1 });
    expect(after!.meterStopWh).toBe(2200);
  });

  it('1.6: the transaction ids go on from the log, so a new start never takes an id already given', () => {
    const w = wire();
    const start = (s: number, idTag: string) => ({ connectorId: 1, idTag, meterStart: 1000 + s, timestamp: iso(s) });
    w.call(1, 'StartTransaction', start(1, 'TOKEN-A'), { transactionId: 1, idTagInfo: { status: 'Accepted' } });
    w.call(2, 'MeterValues', {
      connectorId: 1,
      transactionId: 1,
      meterValue: [
        { timestamp: iso(60), sampledValue: [{ value: '1200', measurand: 'Energy.Active.Import.Register' }] },
      ],
    });
    const book = TransactionBook.fromWireLog(w.frames);
    expect(book.take('CS-1', 'StartTransaction', start(100, 'TOKEN-B'))).toBe(2);
    // The first start sent again is still the first transaction.
    expect(book.take('CS-1', 'StartTransaction', start(1, 'TOKEN-A'))).toBe(1);
    book.take('CS-1', 'StopTransaction', {
      transactionId: 1,
      meterStop: 1500,
      timestamp: iso(200),
      reason: 'EVDisconnected',
    });
    const first = book.all('CS-1').find((t) => t.transactionId === '1');
    expect(first).toMatchObject({ idToken: 'TOKEN-A', meterStartWh: 1001, meterStopWh: 1500, duplicates: 1 });
    expect(first!.samples.map((s) => s.energyWh)).toEqual([1200]);
  });
});
