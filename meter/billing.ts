import { Signature as EcdsaSignature, type Wallet } from 'ethers';
import {
  type BillingRecord,
  billingRecordDigest,
  loadClassId,
  pseudonym,
  RECORD_VERSION_BANDS,
} from '../billing/billing-record.js';
import { billingRecordToJson, type SignedBillingRecordJson } from '../billing/record-json.js';
import { bandAt, computeCostMicro, milliWhPerBand, type Tariff } from '../billing/tariff.js';
import type { MeterClock } from './clock.js';
import type { MeterConfig } from './config.js';
import type { MeterFaults } from './faults.js';
import type { MeterIdentity } from './identity.js';
import type { MeterLog, MeterOutputs } from './outputs.js';
import type { BillingStore } from './store.js';
import type { ActiveLoad } from './tracked-load.js';

/** Where signed records go once stored: the ledger relay. Rejects when the ledger cannot be reached. */
export interface LedgerForwarder {
  submit(
    signed: SignedBillingRecordJson,
  ): Promise<{ status: 'landed' | 'already-landed' | 'rejected'; reason?: string }>;
}

/** The tariff band in force by the meter's own clock (what it bills by), looked up once per meter-clock hour. */
export class TariffBands {
  /** The band of the meter-clock hour last looked up, [from, to) in unix seconds. */
  private hour = { from: 0, to: 0, band: 0 };

  constructor(
    private readonly tariff: Tariff,
    private readonly epochS: number,
    private readonly clock: MeterClock,
  ) {}

  /** The band at true time t. */
  at(t: number): number {
    const unix = this.epochS + this.clock.read(t);
    const h = this.hour;
    if (unix < h.from || unix >= h.to) {
      const off = this.tariff.utcOffsetSeconds;
      h.from = Math.floor((unix + off) / 3600) * 3600 - off;
      h.to = h.from + 3600;
      h.band = bandAt(this.tariff, BigInt(h.from));
    }
    return h.band;
  }

  /** Seconds from true time t to the end of the hour last looked up, by the meter clock. */
  hourLeft(t: number): number {
    return this.hour.to - (this.epochS + this.clock.read(t));
  }

  /** Energy per band, all zero. */
  zero(): number[] {
    return this.tariff.bandPrices.map(() => 0);
  }
}

/**
 * The meter's billing: an ended EV session becomes an EIP-712 signed record (per-key sequence, payer and host as
 * pseudonyms, energy per tariff band, cost by the tariff), appended to the durable store and sent out; then
 * store-and-forward to the ledger, in order, through outages.
 */
export class MeterBilling {
  private seq: bigint;
  private ledgerDown = false;
  private readonly signingKey: Wallet;

  constructor(
    private readonly config: MeterConfig,
    private readonly id: MeterIdentity,
    private readonly faults: MeterFaults,
    private readonly clock: MeterClock,
    private readonly store: BillingStore,
    private readonly out: MeterOutputs,
    private readonly log: MeterLog,
  ) {
    this.signingKey = faults.signingKey(id);
    this.seq = id.lastSeq ?? 0n;
  }

  /** The last sequence number signed. */
  get lastSeq(): bigint {
    return this.seq;
  }

  get address(): string {
    return this.id.key.address;
  }

  get backlog(): number {
    return this.store.backlog;
  }

  /** Bills the load's EV session, ended at `end` (scenario time), at `now`. */
  bill(load: ActiveLoad, end: number, now: number): void {
    const s = load.session!;
    const policyBillsHost = this.config.unattributedPolicy === 'bill-host';
    if (!s.attributed && !policyBillsHost) {
      this.log(now, 'warn', 'unattributed-not-billed', 'EV session without authorisation; policy no-bill');
      return;
    }
    const payerContract = this.faults.wrongPayer || !s.attributed ? this.id.hostContractId : s.payerContract!;
    const start = BigInt(Math.round(this.id.epochS + s.startMeter));
    const endS = BigInt(Math.max(Number(start), Math.round(this.id.epochS + this.clock.read(end))));
    const bandMilliWh = milliWhPerBand(s.bandWh);
    const importMilliWh = bandMilliWh.reduce((a, b) => a + b, 0n);
    const exportMilliWh = BigInt(Math.max(0, Math.round(s.exportWh * 1000)));
    const tariff = this.faults.pricedBy(this.id.tariff);
    const energy = { start, end: endS, importMilliWh, exportMilliWh, version: RECORD_VERSION_BANDS, bandMilliWh };
    for (let i = 0; i < this.faults.copies; i++) {
      this.seq++;
      const record: BillingRecord = {
        meter: this.address,
        seq: this.seq,
        payer: pseudonym(payerContract, this.config.pseudonymSalt),
        host: pseudonym(this.id.hostContractId, this.config.pseudonymSalt),
        ...energy,
        costMicro: computeCostMicro(tariff, energy),
        tariffVersion: BigInt(this.id.tariffVersion),
        loadClass: loadClassId(load.sig?.id ?? 'ev'),
        attributed: s.attributed && !this.faults.wrongPayer,
      };
      const signature = EcdsaSignature.from(
        this.signingKey.signingKey.sign(billingRecordDigest(this.id.domain, record)),
      ).serialized;
      const signed = { record: billingRecordToJson(record), signature };
      this.store.append(record.seq.toString(), signed);
      this.out.billing({ meterId: this.id.meterId, tObserved: now, signed });
    }
  }

  /** Forwards stored records in order. `now` is scenario time (for the outage window). */
  async forward(ledger: LedgerForwarder, now: number): Promise<void> {
    const outage = this.config.ledgerOutage;
    const down = outage !== undefined && now >= outage.fromS && now < outage.toS;
    while (this.store.head()) {
      if (down) {
        if (!this.ledgerDown) {
          this.ledgerDown = true;
          this.log(
            now,
            'error',
            'ledger-unreachable',
            `ledger unreachable; ${this.store.backlog} record(s) stored for later`,
          );
        }
        return;
      }
      const head = this.store.head()!;
      try {
        const result = await ledger.submit({
          record: billingRecordToJson(head.signed.record),
          signature: head.signed.signature,
        });
        if (result.status === 'rejected')
          this.log(now, 'error', 'ledger-rejected', `record ${head.seq} refused: ${result.reason ?? '?'}`);
        this.store.ack(head.seq);
      } catch (e) {
        if (!this.ledgerDown)
          this.log(now, 'error', 'ledger-unreachable', `ledger unreachable: ${(e as Error).message}`);
        this.ledgerDown = true;
        return;
      }
    }
    if (this.ledgerDown) {
      this.ledgerDown = false;
      this.log(now, 'info', 'ledger-restored', 'ledger reachable again; backlog flushed');
    }
  }
}
