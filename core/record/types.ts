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
  /** `cases`: every case id of the suite (a run of some of them, `--case`, certifies only those). */
  suite?: { name: string; title?: string; version: number; file: string; sha256: string; cases?: string[] };
  /** `dut`: what the rig file declares about the meter under test (the device's own answers are in identities). */
  rig?: { name: string; file?: string; sha256: string; dut?: DeclaredDut };
  /** The lab and operator that ran the certification (from --lab-config / --lab / --operator). */
  lab?: { name: string; address?: string; accreditation?: string; contact?: string; operator?: string };
  /** Identities added by the parts that own them: dut (model, firmware hash), ledger (chain id, contracts), ... */
  identities?: Record<string, unknown>;
}

/** The meter under test as the lab declares it in the rig file. */
export interface DeclaredDut {
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
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
