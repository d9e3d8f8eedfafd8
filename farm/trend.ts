import type pg from 'pg';
import { mean, sampleStandardDeviation } from 'simple-statistics';
import { NotFoundError } from '../core/errors.js';
import { resolveSuite } from '../engine/suite.js';

/** Which way a metric improves, from the criterion that judges it: `>=` higher, `<=` lower, `abs<=` nearer 0. */
export type Better = 'higher' | 'lower' | 'nearer-zero';

export interface TrendPoint {
  firmware: string;
  runs: number;
  /** Runs that PASSed (or were MARGINAL) with an intact record. */
  passed: number;
  mean: number | null;
  sd: number | null;
  min: number | null;
  max: number | null;
  firstUploaded: string;
  /** Worse than the firmware before it: the mean by more than twice its standard error, or fewer runs passing. */
  regression: boolean;
  why?: string;
}

export interface Trend {
  device: string;
  metric: string;
  suite?: string;
  caseId?: string;
  better?: Better;
  points: TrendPoint[];
  regressions: number;
}

/** How `metric` improves according to the criteria of the suites it was measured in (undefined: no criterion). */
export function betterOf(metric: string, suites: readonly string[]): Better | undefined {
  for (const s of suites) {
    let loaded: ReturnType<typeof resolveSuite> | undefined;
    try {
      loaded = resolveSuite(s);
    } catch {
      continue;
    }
    for (const c of loaded.suite.cases)
      for (const k of c.criteria) {
        if (k.metric !== metric) continue;
        if (k.op === '>=' || k.op === '>') return 'higher';
        if (k.op === 'abs<=') return 'nearer-zero';
        return 'lower';
      }
  }
  return undefined;
}

/** A value's badness in the metric's own direction: larger is worse. */
function badness(better: Better | undefined, v: number): number {
  if (better === 'higher') return -v;
  if (better === 'nearer-zero') return Math.abs(v);
  return v;
}

/**
 * The history of one metric of one device across its firmware versions, in the order they were first tested: per
 * version the runs, how many passed, and the metric's spread; a version worse than the one before is flagged.
 */
export async function trend(
  pool: pg.Pool,
  q: { device: string; metric: string; suite?: string; caseId?: string },
): Promise<Trend> {
  const rows = (
    await pool.query<{
      firmware: string | null;
      value: number | null;
      verdict: string;
      integrity: string;
      suite: string;
      at: string;
    }>(
      `SELECT r.firmware, m.value, r.verdict, r.integrity, r.suite,
         to_char(r.uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at
       FROM bench.runs r JOIN bench.metrics m ON m.run = r.id
       WHERE r.device = $1 AND m.metric = $2 AND ($3::text IS NULL OR r.suite = $3)
         AND ($4::text IS NULL OR m.case_id = $4)
       ORDER BY r.uploaded_at, r.id`,
      [q.device, q.metric, q.suite ?? null, q.caseId ?? null],
    )
  ).rows;
  if (!rows.length)
    throw new NotFoundError(
      `the lab has no ${q.metric} for device ${q.device}${q.suite ? ` in ${q.suite}` : ''}`,
      [{ file: '--metric', message: 'no such measurements' }],
      ['`bench lab runs --device D` lists its runs; `bench lab show <run>` their metrics.'],
    );
  const better = betterOf(q.metric, [...new Set(rows.map((r) => r.suite))]);
  const groups = new Map<string, typeof rows>();
  for (const r of rows) {
    const key = r.firmware ?? '(unknown)';
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const points: TrendPoint[] = [];
  for (const [firmware, rs] of groups) {
    const values = rs.flatMap((r) => (r.value === null ? [] : [r.value]));
    const passed = rs.filter((r) => r.integrity === 'OK' && (r.verdict === 'PASS' || r.verdict === 'MARGINAL')).length;
    const point: TrendPoint = {
      firmware,
      runs: rs.length,
      passed,
      mean: values.length ? mean(values) : null,
      sd: values.length > 1 ? sampleStandardDeviation(values) : values.length ? 0 : null,
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
      firstUploaded: rs[0]!.at,
      regression: false,
    };
    const prev = points.at(-1);
    if (prev) {
      const why: string[] = [];
      if (point.passed / point.runs < prev.passed / prev.runs)
        why.push(`pass rate ${prev.passed}/${prev.runs} → ${point.passed}/${point.runs}`);
      if (point.mean !== null && prev.mean !== null) {
        const se = Math.sqrt((point.sd ?? 0) ** 2 / point.runs + (prev.sd ?? 0) ** 2 / prev.runs);
        const worse = badness(better, point.mean) - badness(better, prev.mean);
        if (worse > Math.max(2 * se, 1e-9 * Math.max(1, Math.abs(prev.mean))))
          why.push(`mean ${prev.mean.toPrecision(4)} → ${point.mean.toPrecision(4)} (${better ?? 'lower'} is better)`);
      }
      if (why.length) {
        point.regression = true;
        point.why = why.join('; ');
      }
    }
    points.push(point);
  }
  return {
    device: q.device,
    metric: q.metric,
    ...(q.suite && { suite: q.suite }),
    ...(q.caseId && { caseId: q.caseId }),
    ...(better && { better }),
    points,
    regressions: points.filter((p) => p.regression).length,
  };
}
