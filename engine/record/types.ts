/** The RunRecord: the single source of truth of a run. Reports, compare and verification read only this. */
export const RUN_RECORD_FORMAT = 'bench.run/1';

export type Verdict = 'PASS' | 'MARGINAL' | 'FAIL' | 'ERROR' | 'NOT RUN';
export type RunStatus = 'COMPLETE' | 'ABORTED' | 'TIMEOUT' | 'CRASHED';
export type Integrity = 'OK' | 'INCOMPLETE' | 'TAMPERED';

export interface RunHeader {
  format: typeof RUN_RECORD_FORMAT;
  runId: string;
  startedAt: string;
  tool: { name: string; version: string };
  node: string;
  platform: string;
  argv: readonly string[];
  seeds: Record<string, number>;
  suite?: { name: string; title?: string; version: number; file: string; sha256: string };
  rig?: { name: string; file?: string; sha256: string };
  /** Identities added by the parts that own them: dut (model, firmware hash), ledger (chain id, contracts), ... */
  identities?: Record<string, unknown>;
}

export interface RunEnd {
  status: RunStatus;
  verdict?: Verdict;
  endedAt: string;
  reason?: string;
}

/** One sealed line of the record. `data` is kind-specific JSON. */
export interface RecordEntry<T = unknown> {
  seq: number;
  /** Wall-clock ms since the epoch when the entry was written. */
  t: number;
  kind: string;
  data: T;
  prev: string;
}
