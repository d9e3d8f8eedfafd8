import type { SignedBillingRecordJson } from '../billing/record-json.js';
import type { MeasurementData, MeterEventData, MeterLogData } from '../core/record/entries.js';

/** What the meter sends out. Never raw samples; payers only as pseudonyms. */
export interface MeterOutputs {
  event(
    e: Omit<MeterEventData, 'caseId' | 'tMeter' | 'transient'> &
      Required<Pick<MeterEventData, 'tMeter' | 'transient'>> & {
        /** |ΔI_h| / |ΔI_1| of the step: the harmonic part of the signature (used to train signatures). */
        harmonics: { r3: number; r5: number; r7: number };
      },
  ): void;
  measurement(m: Omit<MeasurementData, 'caseId'> & { importVarh: number; exportVarh: number }): void;
  billing(b: { meterId: string; tObserved: number; signed: SignedBillingRecordJson }): void;
  report(r: { meterId: string; t: number; tMeter: number; seq: number; importWh: number; exportWh: number }): void;
  log(l: Omit<MeterLogData, 'caseId'>): void;
  pulse(p: { channel: string; t: number; count: number }): void;
}

/** One event as the meter sends it out. */
export type MeterEvent = Parameters<MeterOutputs['event']>[0];

/** An event as a part of the meter decides it: the meter adds its id and the time it goes out. */
export type DecidedEvent = Omit<MeterEvent, 'meterId' | 'tObserved'>;

/** A line of the meter's log at scenario time t. */
export type MeterLog = (t: number, level: 'info' | 'warn' | 'error', code: string, message: string) => void;
