import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { SignedBillingRecord } from '../billing/billing-record.js';
import { type SignedBillingRecordJson, signedBillingRecordFromJson } from '../billing/record-json.js';

/**
 * The meter's durable billing store: every signed record is appended and fsynced before it is forwarded; an
 * acknowledgement line follows once the ledger has it. On restart, records without an acknowledgement are
 * queued again in sequence order, so nothing is lost and nothing is forwarded twice by the meter itself.
 */
export class BillingStore {
  private fd: number;
  private readonly pending: Array<{ seq: string; signed: SignedBillingRecord }> = [];

  constructor(readonly file: string) {
    const acked = new Set<string>();
    const records: Array<{ seq: string; json: SignedBillingRecordJson }> = [];
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        let entry: { kind: string; seq: string; signed?: SignedBillingRecordJson };
        try {
          entry = JSON.parse(line);
        } catch {
          continue; // a line cut short by a power loss: it was never fsynced, so it was never forwarded either
        }
        if (entry.kind === 'ack') acked.add(entry.seq);
        else if (entry.kind === 'record' && entry.signed) records.push({ seq: entry.seq, json: entry.signed });
      }
    }
    for (const r of records)
      if (!acked.has(r.seq)) this.pending.push({ seq: r.seq, signed: signedBillingRecordFromJson(r.json) });
    this.fd = openSync(file, 'a');
  }

  append(seq: string, signed: SignedBillingRecordJson): void {
    writeSync(this.fd, `${JSON.stringify({ kind: 'record', seq, signed })}\n`);
    fsyncSync(this.fd);
    this.pending.push({ seq, signed: signedBillingRecordFromJson(signed) });
  }

  /** Oldest record not yet acknowledged by the ledger. */
  head(): { seq: string; signed: SignedBillingRecord } | undefined {
    return this.pending[0];
  }

  ack(seq: string): void {
    writeSync(this.fd, `${JSON.stringify({ kind: 'ack', seq })}\n`);
    fsyncSync(this.fd);
    if (this.pending[0]?.seq === seq) this.pending.shift();
  }

  get backlog(): number {
    return this.pending.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
