import type { SignedBillingRecord } from '../../billing/billing-record.js';
import { signedBillingRecordFromJson } from '../../billing/record-json.js';
import type { RigError } from '../../core/errors.js';
import { ENTRY, type MeterEventData } from '../../core/record/entries.js';
import type { CaseContext } from '../../core/rig.js';
import type { JsonlStreamDriver, StreamLine } from '../drivers/jsonl-stream.js';
import type { CaseRun } from './case-run.js';

/** Where billing records streamed by the DUT go (the run's ledger). */
export type RelayFor = (observe: CaseContext['observe']) => { submit(signed: SignedBillingRecord): Promise<unknown> };

/**
 * The DUT's JSONL stream during a case: its events and billing records into the record, each stamped when the bench
 * received it, malformed lines as rig errors. The bench is the meter's gateway: the records it streams are relayed
 * to the ledger in order, exactly as signed.
 */
export class StreamRelay {
  private readonly relay?: ReturnType<RelayFor>;
  private relayed: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: CaseRun,
    private readonly stream: JsonlStreamDriver | undefined,
    private readonly instrument: string,
    /** The stream bills (meter.billing): its billing lines are recorded and relayed. */
    private readonly bills: boolean,
    /** The bench set the meter's clock for the case (commissioning), so its event timestamps read in case time. */
    private readonly meterClockSet: boolean,
    relayFor?: RelayFor,
  ) {
    this.relay = relayFor?.(run.ctx.observe);
  }

  private readonly onEvent = (l: StreamLine) => {
    const { run } = this;
    const e = meterEventOf(l, run.caseId, run.meterId, run.benchT(), this.meterClockSet);
    if (e) run.ctx.observe(ENTRY.meterEvent, { ...e });
    else
      run.rigError(
        this.instrument,
        'BAD_FRAME',
        `event line without direction/class/deltaP: ${JSON.stringify(l).slice(0, 120)}`,
      );
  };

  private readonly onBadFrame = (e: RigError) => this.run.rigError(this.instrument, e.code, e.message);

  private readonly onBilling = (l: StreamLine) => {
    const { run, relay } = this;
    let signed: SignedBillingRecord;
    try {
      signed = signedBillingRecordFromJson(l.signed);
    } catch (e) {
      run.rigError(this.instrument, 'BAD_FRAME', `billing line without a valid signed record: ${(e as Error).message}`);
      return;
    }
    run.ctx.observe(ENTRY.meterBilling, {
      meterId: run.meterId,
      tObserved: run.benchT(),
      signed: l.signed as Record<string, unknown>,
    });
    if (relay) {
      this.relayed = this.relayed.then(() =>
        relay.submit(signed).then(
          () => undefined,
          (e) => run.rigError(this.instrument, 'LEDGER', `relay failed: ${(e as Error).message}`),
        ),
      );
    }
  };

  /** Starts taking the stream's lines (once the case's clock runs). */
  listen(): void {
    this.stream?.on('event', this.onEvent);
    this.stream?.on('bad-frame', this.onBadFrame);
    if (this.bills) this.stream?.on('billing', this.onBilling);
  }

  /** Stops taking lines and waits until every record taken has reached the ledger (or failed to). */
  async stop(): Promise<void> {
    this.stream?.off('event', this.onEvent);
    this.stream?.off('bad-frame', this.onBadFrame);
    this.stream?.off('billing', this.onBilling);
    await this.relayed;
  }
}

/**
 * A stream `event` line as a meter event observed by the bench at `tObserved`; undefined when malformed. The
 * meter's own timestamp (`tMeter`, seconds on its clock) is kept only when the bench set that clock for the case
 * (commissioning), so it reads in case time.
 */
export function meterEventOf(
  l: StreamLine,
  caseId: string,
  meterId: string,
  tObserved: number,
  meterClockSet = false,
): MeterEventData | undefined {
  if ((l.direction !== 'on' && l.direction !== 'off') || typeof l.class !== 'string') return undefined;
  if (typeof l.deltaP !== 'number' || !Number.isFinite(l.deltaP)) return undefined;
  const transient = l.transient as MeterEventData['transient'] | undefined;
  return {
    caseId,
    meterId,
    ...(meterClockSet && typeof l.tMeter === 'number' && Number.isFinite(l.tMeter) ? { tMeter: l.tMeter } : {}),
    tObserved,
    direction: l.direction,
    class: l.class,
    profile: typeof l.profile === 'string' ? l.profile : undefined,
    deltaP: l.deltaP,
    deltaQ: typeof l.deltaQ === 'number' ? l.deltaQ : 0,
    ...(transient && typeof transient.peakA === 'number' ? { transient } : {}),
    ...(typeof l.phases === 'string' && /^(?=L)(L1)?(L2)?(L3)?$/.test(l.phases) ? { phases: l.phases } : {}),
    ...(typeof l.energyWh === 'number' && Number.isFinite(l.energyWh) ? { energyWh: l.energyWh } : {}),
  };
}
