import type pg from 'pg';
import { mean } from 'simple-statistics';
import { InputError } from '../core/errors.js';
import { resolveSuite } from '../engine/suite.js';
import type { ProcurementTable } from '../reports/procurement.js';
import { betterOf } from './trend.js';

/**
 * The procurement table: the same suite's runs on each device, side by side. Per device the runs, how many passed
 * with an intact record, each case's pass rate, and each criterion's metric (mean and worst over the runs, worst
 * in the criterion's own direction).
 */
export async function procurementTable(
  pool: pg.Pool,
  q: { suite: string; devices: readonly string[] },
): Promise<ProcurementTable> {
  if (q.devices.length < 2)
    throw new InputError('--devices needs at least two devices to compare', [
      { file: '--devices', message: 'fewer than two' },
    ]);
  const { suite } = resolveSuite(q.suite);
  const criteria = suite.cases.flatMap((c) =>
    c.criteria.map((k) => ({
      caseId: c.id,
      metric: k.metric,
      unit: k.unit ?? '',
      better: betterOf(k.metric, [q.suite]),
    })),
  );
  const rows: ProcurementTable['rows'] = [];
  for (const device of q.devices) {
    const runs = (
      await pool.query<{ id: string; verdict: string; integrity: string; firmware: string | null }>(
        'SELECT id, verdict, integrity, firmware FROM bench.runs WHERE suite = $1 AND device = $2',
        [q.suite, device],
      )
    ).rows;
    const ok = (r: { verdict: string; integrity: string }) =>
      r.integrity === 'OK' && (r.verdict === 'PASS' || r.verdict === 'MARGINAL');
    const cases = (
      await pool.query<{ caseId: string; runs: number; passed: number }>(
        `SELECT c.case_id AS "caseId", count(*)::int AS runs,
           count(*) FILTER (WHERE r.integrity = 'OK' AND c.verdict IN ('PASS', 'MARGINAL'))::int AS passed
         FROM bench.cases c JOIN bench.runs r ON r.id = c.run
         WHERE r.suite = $1 AND r.device = $2 GROUP BY c.case_id`,
        [q.suite, device],
      )
    ).rows;
    const values = (
      await pool.query<{ caseId: string; metric: string; value: number }>(
        `SELECT m.case_id AS "caseId", m.metric, m.value FROM bench.metrics m JOIN bench.runs r ON r.id = m.run
         WHERE r.suite = $1 AND r.device = $2 AND r.integrity = 'OK' AND m.value IS NOT NULL`,
        [q.suite, device],
      )
    ).rows;
    const metrics: ProcurementTable['rows'][number]['metrics'] = {};
    for (const k of criteria) {
      const vs = values.filter((v) => v.caseId === k.caseId && v.metric === k.metric).map((v) => v.value);
      if (!vs.length) continue;
      const worst =
        k.better === 'higher'
          ? Math.min(...vs)
          : k.better === 'nearer-zero'
            ? vs.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a))
            : Math.max(...vs);
      metrics[`${k.caseId}/${k.metric}`] = { mean: mean(vs), worst, n: vs.length };
    }
    rows.push({
      device,
      runs: runs.length,
      passed: runs.filter(ok).length,
      firmware: [...new Set(runs.map((r) => r.firmware ?? '(unknown)'))].sort(),
      cases: Object.fromEntries(cases.map((c) => [c.caseId, { runs: c.runs, passed: c.passed }])),
      metrics,
    });
  }
  const missing = rows.filter((r) => r.runs === 0).map((r) => r.device);
  if (missing.length)
    throw new InputError(
      `the lab has no ${q.suite} runs for ${missing.join(', ')}`,
      missing.map((d) => ({ file: '--devices', message: `no runs for ${d}` })),
      ['`bench lab runs --suite S` lists the devices it has runs of.'],
    );
  return { suite: q.suite, title: suite.title, cases: suite.cases.map((c) => c.id), criteria, rows };
}
