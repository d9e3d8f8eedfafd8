/** The issue list billing verification fills, and the counts it gives. */
import { getAddress } from 'ethers';
import type { IssueKind, VerificationCounts, VerificationIssue } from './verify-types.js';

const COUNT_OF: Record<IssueKind, keyof VerificationCounts> = {
  forged: 'forged',
  duplicate: 'duplicates',
  'out-of-sequence': 'sequenceErrors',
  missing: 'missing',
  rejected: 'rejected',
  tampered: 'tampered',
  unregistered: 'unregistered',
  revoked: 'revoked',
  unattested: 'unattested',
  'payer-mismatch': 'payerMismatch',
  'host-mismatch': 'hostMismatch',
  'time-mismatch': 'timeMismatch',
  'energy-mismatch': 'energyMismatch',
  'cost-mismatch': 'costMismatch',
  'v2g-uncredited': 'v2gUncredited',
  'batch-invalid': 'batchInvalid',
  'evidence-mismatch': 'evidenceMismatch',
};

export const key = (meter: string, seq: bigint) => `${meter.toLowerCase()}#${seq}`;
export const abs = (n: bigint) => (n < 0n ? -n : n);

/** Records one issue; an issue naming a sequence flags that record (it no longer counts as verified). */
export type IssueFn = (
  kind: IssueKind,
  meter: string,
  seq: bigint | undefined,
  message: string,
  txHash?: string,
) => void;

export class IssueLog {
  readonly issues: VerificationIssue[] = [];
  readonly flagged = new Set<string>();
  readonly issue: IssueFn = (kind, meter, seq, message, txHash) => {
    this.issues.push({ kind, meter: safeAddress(meter), seq: seq?.toString(), message, txHash });
    if (seq !== undefined) this.flagged.add(key(meter, seq));
  };

  /** Issues per count, with every count present (0 when none). */
  counts(): VerificationCounts {
    const counts = Object.fromEntries(Object.values(COUNT_OF).map((k) => [k, 0])) as unknown as VerificationCounts;
    for (const i of this.issues) counts[COUNT_OF[i.kind]]++;
    return counts;
  }
}

export function safeAddress(a: string): string {
  try {
    return getAddress(a);
  } catch {
    return a;
  }
}
