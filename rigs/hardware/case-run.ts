import { ENTRY, type RigErrorData, type RigGapData } from '../../core/record/entries.js';
import type { CaseContext } from '../../core/rig.js';

/**
 * What the three loops of a hardware case share (playback, polling, stream relay): the case's clock in scenario
 * seconds, one halt that ends every wait (the run's abort, or one loop failing), and the gap and error entries they
 * write into the record.
 */
export class CaseRun {
  /** Ends every wait of this case: the run's abort, or one of its loops failing. */
  readonly halt = new AbortController();
  private t0 = performance.now();
  private readonly onAbort = () => this.halt.abort();

  constructor(
    readonly caseId: string,
    /** The scenario's one meter (house): measurements and signals carry its id. */
    readonly meterId: string,
    readonly ctx: CaseContext,
    /** Scenario seconds per wall second. */
    readonly timeScale: number,
  ) {
    ctx.signal.addEventListener('abort', this.onAbort, { once: true });
    if (ctx.signal.aborted) this.halt.abort();
  }

  /** Scenario seconds since the case's clock started, at `wallMs` (performance.now() time; now by default). */
  readonly benchT = (wallMs = performance.now()): number => ((wallMs - this.t0) / 1000) * this.timeScale;

  /** Starts the case's clock (after the DUT settled on the standby load). */
  startClock(): void {
    this.t0 = performance.now();
  }

  get halted(): boolean {
    return this.halt.signal.aborted;
  }

  /** Waits `ms` wall milliseconds, or until the case halts. */
  sleep(ms: number): Promise<void> {
    const halt = this.halt.signal;
    return new Promise<void>((r) => {
      const wake = () => {
        clearTimeout(timer);
        r();
      };
      const timer = setTimeout(
        () => {
          halt.removeEventListener('abort', wake);
          r();
        },
        Math.max(0, ms),
      );
      halt.addEventListener('abort', wake, { once: true });
    });
  }

  /** A gap in what an instrument gave the record (a failed poll, a setpoint not taken, a reconnection). */
  readonly gap = (instrument: string, reason: string, code?: string): void => {
    const g: RigGapData = { caseId: this.caseId, instrument, t: this.benchT(), reason, ...(code && { code }) };
    this.ctx.observe(ENTRY.rigGap, { ...g });
  };

  /** Something an instrument sent that the bench could not take (a malformed line, a failed ledger relay). */
  readonly rigError = (instrument: string, code: string, message: string): void => {
    const d: RigErrorData = { caseId: this.caseId, instrument, t: this.benchT(), code, message };
    this.ctx.observe(ENTRY.rigError, { ...d });
  };

  /** Runs loops side by side; the first to fail halts the others, and its error is the case's. */
  async sideBySide(...loops: Array<() => Promise<void>>): Promise<void> {
    const stopOnError = (loop: () => Promise<void>) =>
      loop().catch((e) => {
        this.halt.abort();
        throw e;
      });
    const ended = await Promise.allSettled(loops.map(stopOnError));
    const failed = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Stops listening to the run's abort. */
  end(): void {
    this.ctx.signal.removeEventListener('abort', this.onAbort);
  }
}
