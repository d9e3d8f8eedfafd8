import type { CertifyResult } from '../engine/certify.js';

/** The one-screen summary `bench certify` prints after a run. */
export function renderCertifySummary(r: CertifyResult): string {
  const width = Math.max(...r.cases.map((c) => c.id.length), 4);
  const lines = [
    '',
    `${r.verdict}${r.status !== 'COMPLETE' ? ` (run ${r.status}: record INCOMPLETE)` : ''}  ${r.suite} on ${r.rig}, seed ${r.seed}`,
    '',
    ...r.cases.map(
      (c) =>
        `  ${c.verdict.padEnd(8)} ${c.id.padEnd(width)}  ${c.failed.length ? c.failed.join('; ') : (c.reason ?? '')}`,
    ),
    '',
    `  run      ${r.runId}  (${r.runDir})`,
    `  record   sha256 ${r.recordHash ?? '—'}`,
    `  ledger   chain ${r.ledger.chainId} (${r.ledger.kind}${r.ledger.url ? ` ${r.ledger.url}` : ''}), BillingLedger ${r.ledger.billingLedger}`,
    r.anchor
      ? `  anchored report sha256 ${r.anchor.reportSha256} in tx ${r.anchor.txHash} (block ${r.anchor.block})`
      : '  report not anchored (run incomplete)',
    ...(r.tsdb
      ? [
          `  tsdb     ${r.tsdb.written} points to ${r.tsdb.url}${r.tsdb.unsent ? `; ${r.tsdb.unsent} unsent, kept in ${r.tsdb.spoolFile} (${r.tsdb.lastError ?? 'server unreachable'})` : ''}${r.tsdb.dropped ? `; ${r.tsdb.dropped} DROPPED (spool full)` : ''}`,
        ]
      : []),
    ...r.reports.map((rep) => `  ${rep.format.padEnd(8)} ${rep.file}`),
  ];
  return lines.join('\n');
}
