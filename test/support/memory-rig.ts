import { RigError } from '../../core/errors.js';
import type { Capability, CaseContext, CasePlan, Rig, RigIdentity } from '../../core/rig.js';

/** What the in-memory rig does for a case, keyed by case id. */
export type MemoryBehaviour =
  | { kind: 'observe'; events: Array<{ kind: string; data: Record<string, unknown> }> }
  | { kind: 'hang' }
  | { kind: 'hang-ignoring-signal' }
  | { kind: 'throw-rig-error'; message: string }
  | { kind: 'wait-for-abort' }
  /** On abort it needs `stopMs` to stop (a load switched off, temporary files removed), then sets `stopped`. */
  | { kind: 'slow-to-stop'; stopMs: number };

/** A rig with no instruments for executor tests: each case plays a scripted behaviour. */
export class MemoryRig implements Rig {
  readonly name = 'memory';
  readonly capabilities: ReadonlySet<Capability>;
  closed = false;
  readonly ran: string[] = [];
  /** Cases whose slow stop finished. */
  readonly stopped: string[] = [];

  constructor(
    private readonly behaviours: Record<string, MemoryBehaviour>,
    capabilities: Capability[] = ['meter.events', 'meter.measurements'],
    private readonly onRun?: (caseId: string) => void,
  ) {
    this.capabilities = new Set(capabilities);
  }

  async open(): Promise<RigIdentity> {
    return { name: this.name, instruments: [] };
  }

  async runCase(plan: CasePlan, ctx: CaseContext): Promise<void> {
    this.ran.push(plan.caseId);
    this.onRun?.(plan.caseId);
    const b = this.behaviours[plan.caseId] ?? { kind: 'observe', events: [] };
    switch (b.kind) {
      case 'observe':
        b.events.forEach((e, i) => {
          ctx.observe(e.kind, e.data);
          ctx.progress(i + 1, b.events.length);
        });
        return;
      case 'hang':
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      case 'hang-ignoring-signal':
        return new Promise(() => {});
      case 'wait-for-abort':
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
      case 'throw-rig-error':
        throw new RigError(b.message, { device: 'load-1' });
      case 'slow-to-stop':
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () =>
            setTimeout(() => {
              this.stopped.push(plan.caseId);
              reject(ctx.signal.reason);
            }, b.stopMs),
          ),
        );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
