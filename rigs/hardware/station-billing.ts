import createDebug from 'debug';
import {
  billingDomain,
  pseudonym,
  type SignedBillingRecord,
  signBillingRecord,
  type TypedDataSigner,
} from '../../billing/billing-record.js';
import { signedBillingRecordToJson } from '../../billing/record-json.js';
import { stationBillingRecord, stationRegisters } from '../../billing/station-record.js';
import { type TariffJson, tariffFromJson } from '../../billing/tariff.js';
import { ENTRY } from '../../core/record/entries.js';
import { ocmfEvidence } from '../../protocols/ocmf.js';
import { type OcppTransaction, signedValuesOf } from '../drivers/ocpp-transactions.js';
import type { CaseRun } from './case-run.js';

const debug = createDebug('bench:station-billing');

/** What the run's ledger gives a case to bill a station's transactions with (plan param `stationBilling`). */
export interface StationBillingParams {
  chainId: string;
  verifyingContract: string;
  tariffVersion: number;
  tariff: TariffJson;
  /** The last sequence number the ledger holds for the bench's key for this station. */
  lastSeq: string;
  /** The station site's host pseudonym, as registered with the key. */
  host: string;
  /** Salt of the payer pseudonyms (the same the meters use). */
  salt: string;
}

/**
 * The bench as the station's central system bills each transaction that ended with verifiable signed meter values
 * (protocols/ocmf.ts ocmfEvidence): a version-3 record of the signed energy, priced per band, payer the token's
 * contract, signed with the bench's key for the station, recorded as emitted and relayed to the ledger. A
 * transaction whose signed values do not verify is not billed: the verifier then finds its session missing.
 */
export class StationBiller {
  private seq: bigint;

  constructor(
    private readonly run: CaseRun,
    private readonly identity: string,
    private readonly signer: TypedDataSigner & { address: string },
    private readonly params: StationBillingParams,
    private readonly relay: { submit(signed: SignedBillingRecord): Promise<unknown> },
    /** The station key the rig file names (wire form); without one, the key sent beside each signed value. */
    private readonly stationKey?: string,
  ) {
    this.seq = BigInt(params.lastSeq);
  }

  async bill(tx: OcppTransaction): Promise<void> {
    if (tx.end === undefined) return;
    if (!tx.idToken) {
      debug('%s transaction %s not billed: no token names its payer', this.identity, tx.transactionId);
      return;
    }
    const evidence = ocmfEvidence(signedValuesOf(tx), this.stationKey);
    if (!('digest' in evidence)) {
      debug('%s transaction %s not billed: %s', this.identity, tx.transactionId, evidence.problem);
      return;
    }
    const p = this.params;
    const record = stationBillingRecord({
      meter: this.signer.address,
      seq: this.seq + 1n,
      payer: pseudonym(tx.idToken, p.salt),
      host: p.host,
      tariff: tariffFromJson(p.tariff),
      tariffVersion: p.tariffVersion,
      evidence,
      registers: stationRegisters(tx.samples),
    });
    this.seq++;
    const signedRecord = await signBillingRecord(
      this.signer,
      billingDomain(BigInt(p.chainId), p.verifyingContract),
      record,
    );
    this.run.ctx.observe(ENTRY.meterBilling, {
      meterId: this.run.meterId,
      tObserved: this.run.benchT(),
      signed: { ...signedBillingRecordToJson(signedRecord) },
    });
    try {
      await this.relay.submit(signedRecord);
    } catch (e) {
      this.run.rigError(this.identity, 'LEDGER', `relay failed: ${(e as Error).message}`);
    }
  }
}
