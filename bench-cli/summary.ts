import type { CertifyResult } from '../engine/certify.js';
import type { SweepResult } from '../engine/sweep.js';

/** The one-screen summary `bench certify` prints after a run. */
export function renderCertifySummary(r: CertifyResult): string {
  const width = Math.max(...r.cases.map((c) => c.id.length), 4);
  const lines = [
    '',
    `${r.verdict}${r.status !== 'COMPLETE' ? ` (run ${r.status}: record INCOMPLETE)` : ''}  ${r.suite} on ${r.rig}, seed ${r.seed}`,
    '',
    ...r.cases.map(
      (c) =>
        `  ${c.verdict.padEnd(8)} ${c.id.padEnd(width)}  ${c.failed.length ? c.failed.join('; ') : c.marginal?.length ? `marginal: ${c.marginal.join('; ')}` : (c.reason ?? '')}`,
    ),
    '',
    `  run      ${r.runId}  (${r.runDir})`,
    `  record   sha256 ${r.recordHash ?? '—'}`,
    `  ledger   chain ${r.ledger.chainId} (${r.ledger.kind}${r.ledger.url ? ` ${r.ledger.url}` : ''}), BillingLedger ${r.ledger.billingLedger}`,
    r.ledger.deployment.source === 'saved'
      ? `           contracts of the saved deployment ${r.ledger.deployment.file}`
      : `           contracts deployed fresh: ${r.ledger.deployment.reason}`,
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

/** Seeds as compact ranges: 1-4,7,9-10. */
function seedRanges(seeds: readonly number[]): string {
  const sorted = [...seeds].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The summary `bench certify --seeds` prints: pass rate per case, the failing seeds with their failed criteria. */
export function renderSweepSummary(r: SweepResult): string {
  const width = Math.max(...r.cases.map((c) => c.id.length), 4);
  const passedSeeds = r.runs.filter((x) => !r.failingSeeds.includes(x.seed)).length;
  const head =
    r.exitCode === 0
      ? `PASS  all ${r.seeds.length} seeds`
      : `${r.exitCode === 1 ? 'FAIL' : 'ERROR'}  ${passedSeeds} of ${r.seeds.length} seeds passed`;
  const lines = [
    '',
    `${head}${r.interrupted ? ' (interrupted)' : ''}  ${r.suite} on ${r.rig}, seeds ${seedRanges(r.seeds)}, ${r.jobs} job${r.jobs === 1 ? '' : 's'}, ${r.wallS.toFixed(1)} s wall`,
    '',
    `  ${'case'.padEnd(width)}  pass rate`,
    ...r.cases.map(
      (c) =>
        `  ${c.id.padEnd(width)}  ${`${c.passed}/${c.runs}`.padStart(9)}  ${(c.passRate * 100).toFixed(0).padStart(3)} %${c.failingSeeds.length ? `  failing seeds ${seedRanges(c.failingSeeds)}` : ''}`,
    ),
  ];
  const failing = r.runs.filter((x) => r.failingSeeds.includes(x.seed));
  if (failing.length > 0) {
    lines.push('', '  failing seeds:');
    for (const run of failing) {
      lines.push(
        `    seed ${run.seed}  ${run.verdict}${run.status !== 'COMPLETE' ? ` (${run.status})` : ''}  run ${run.runId}`,
      );
      for (const c of run.failedCases) {
        lines.push(`      ${c.verdict.padEnd(8)} ${c.id}: ${c.failed.length ? c.failed.join('; ') : (c.reason ?? '')}`);
      }
    }
  }
  if (r.errors.length > 0) {
    lines.push('', '  seeds that could not run:');
    for (const e of r.errors) lines.push(`    seed ${e.seed}  ERROR  ${e.message}`);
  }
  if (r.notRun.length > 0) lines.push('', `  not run: seeds ${seedRanges(r.notRun)}`);
  lines.push('', `  records  one per seed in ${r.runsDir} (${r.runs.length} runs)`);
  return lines.join('\n');
}
