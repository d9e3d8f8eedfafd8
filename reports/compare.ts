import type { BillingSection } from '../analysis/billing.js';
import type { Comparison } from '../analysis/criteria.js';
import type { Verdict } from '../core/record/types.js';
import { errorCurveOverlaySpec, renderSvg } from './charts.js';
import { esc } from './html-text.js';
import { fmt, type ReportModel } from './model.js';

export type Direction = 'better' | 'worse' | 'same' | 'n/a';

export interface MetricRow {
  caseId: string;
  metric: string;
  unit: string;
  op: Comparison;
  /** One value per run, in the order the runs were given. */
  values: Array<number | undefined>;
  /** Change of each run against the first (baseline). */
  deltas: Array<number | undefined>;
  directions: Direction[];
}

export interface VerdictRow {
  caseId: string;
  verdicts: Array<Verdict | undefined>;
  changed: boolean;
  regression: boolean;
}

/** A case's billing table summed: what landed on the ledger and how much of it the verifier found wrong. */
export interface BillingTotals {
  records: number;
  /** Records with at least one verifier problem. */
  issues: number;
  importWh: number;
  exportWh: number;
  cost: number;
}

export interface BillingCompareRow {
  caseId: string;
  /** One per run, in the order the runs were given; undefined where the run has no billing data for the case. */
  runs: Array<BillingTotals | undefined>;
}

/** One metrology test point across the runs: each run's error and expanded uncertainty there. */
export interface MetrologyCompareRow {
  caseId: string;
  point: string;
  currentA: number;
  pf: number;
  mpePct: number;
  runs: Array<{ errorPct: number; expandedPct?: number; statement?: string } | undefined>;
}

export interface RunComparison {
  runs: Array<{ runId: string; outcome: string; suite?: string; dut?: unknown; recordHash: string }>;
  verdicts: VerdictRow[];
  metrics: MetricRow[];
  /** Cases with a billing analysis in any run. */
  billing: BillingCompareRow[];
  /** Metrology test points of every case that has them in any run (error curves to overlay). */
  metrology: MetrologyCompareRow[];
  regressions: number;
}

const RANK: Record<Verdict, number> = { PASS: 0, MARGINAL: 1, 'NOT RUN': 2, ERROR: 3, FAIL: 4 };

function direction(op: Comparison, base: number, value: number): Direction {
  if (value === base) return 'same';
  const smallerIsBetter = op === '<=' || op === '<' || op === 'abs<=';
  const a = op === 'abs<=' ? Math.abs(value) : value;
  const b = op === 'abs<=' ? Math.abs(base) : base;
  if (op === '==' || op === 'between') return 'n/a';
  return (smallerIsBetter ? a < b : a > b) ? 'better' : a === b ? 'same' : 'worse';
}

/**
 * Compares runs: the first is the baseline (a lab's previous run, or the reference vendor). Metrics are the ones
 * criteria judge, so "better" and "worse" follow each criterion's direction.
 */
export function compareRuns(models: readonly ReportModel[]): RunComparison {
  const caseIds = [...new Set(models.flatMap((m) => m.cases.map((c) => c.id)))];
  const verdicts: VerdictRow[] = caseIds.map((id) => {
    const vs = models.map((m) => m.cases.find((c) => c.id === id)?.verdict);
    const base = vs[0];
    const changed = vs.some((v) => v !== base);
    const regression = base !== undefined && vs.slice(1).some((v) => v !== undefined && RANK[v] > RANK[base]);
    return { caseId: id, verdicts: vs, changed, regression };
  });
  const metrics: MetricRow[] = [];
  for (const id of caseIds) {
    const crits = new Map<string, { unit: string; op: Comparison }>();
    for (const m of models) for (const cr of m.cases.find((c) => c.id === id)?.criteria ?? []) crits.set(cr.metric, cr);
    for (const [metric, { unit, op }] of crits) {
      const values = models.map((m) => {
        const v = m.cases.find((c) => c.id === id)?.metrics[metric];
        return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
      });
      const base = values[0];
      metrics.push({
        caseId: id,
        metric,
        unit,
        op,
        values,
        deltas: values.map((v) => (v === undefined || base === undefined ? undefined : v - base)),
        directions: values.map((v) => (v === undefined || base === undefined ? 'n/a' : direction(op, base, v))),
      });
    }
  }
  const billing: BillingCompareRow[] = [];
  for (const id of caseIds) {
    const runs = models.map((m) => billingTotals(m.cases.find((c) => c.id === id)?.analysis?.sections.billing));
    if (runs.some((r) => r !== undefined)) billing.push({ caseId: id, runs });
  }
  const metrology: MetrologyCompareRow[] = [];
  for (const id of caseIds) {
    const sections = models.map((m) => m.cases.find((c) => c.id === id)?.analysis?.metrology);
    const points = new Map<string, MetrologyCompareRow>();
    for (const [i, section] of sections.entries())
      for (const p of section?.points ?? []) {
        const row = points.get(p.id) ?? {
          caseId: id,
          point: p.id,
          currentA: p.currentA,
          pf: p.pf,
          mpePct: p.mpePct,
          runs: models.map(() => undefined),
        };
        row.runs[i] = { errorPct: p.errorPct, expandedPct: p.expandedPct, statement: p.statement };
        points.set(p.id, row);
      }
    metrology.push(...points.values());
  }
  return {
    runs: models.map((m) => ({
      runId: m.runId,
      outcome: m.outcome,
      suite: m.header?.suite?.name,
      dut: m.identities.dut,
      recordHash: m.recordHash,
    })),
    verdicts,
    metrics,
    billing,
    metrology,
    regressions: verdicts.filter((v) => v.regression).length,
  };
}

function billingTotals(section: unknown): BillingTotals | undefined {
  const rows = (section as BillingSection | undefined)?.rows;
  if (!rows) return undefined;
  const sum = (f: (r: BillingSection['rows'][number]) => number) => rows.reduce((s, r) => s + f(r), 0);
  return {
    records: rows.length,
    issues: rows.filter((r) => r.status === 'issues').length,
    importWh: sum((r) => r.importWh),
    exportWh: sum((r) => r.exportWh),
    cost: sum((r) => r.cost),
  };
}

function billingText(b: BillingTotals | undefined): string {
  if (!b) return '—';
  const energy = `${fmt(b.importWh / 1000)} kWh${b.exportWh > 0 ? ` (export ${fmt(b.exportWh / 1000)} kWh)` : ''}`;
  return `${b.records} record${b.records === 1 ? '' : 's'}, ${energy}, cost ${fmt(b.cost)}, ${b.issues} with issues`;
}

const ARROW: Record<Direction, string> = { better: '▲ better', worse: '▼ worse', same: '=', 'n/a': '' };

export function renderCompareMarkdown(c: RunComparison): string {
  const head = `| Case | ${c.runs.map((r) => r.runId).join(' | ')} |`;
  const sep = `|---|${c.runs.map(() => '---').join('|')}|`;
  const out = [
    `# Comparison of ${c.runs.length} runs (baseline ${c.runs[0]?.runId ?? '—'})`,
    '',
    `**Regressions:** ${c.regressions}`,
    '',
    '## Verdicts',
    '',
    head,
    sep,
    ...c.verdicts.map(
      (v) => `| ${v.caseId}${v.regression ? ' ⚠️' : ''} | ${v.verdicts.map((x) => x ?? '—').join(' | ')} |`,
    ),
    '',
    '## Metrics',
    '',
    `| Case | Metric | ${c.runs.map((r) => r.runId).join(' | ')} |`,
    `|---|---|${c.runs.map(() => '---').join('|')}|`,
    ...c.metrics.map(
      (m) =>
        `| ${m.caseId} | ${m.metric}${m.unit !== '1' ? ` (${m.unit})` : ''} | ${m.values
          .map((v, i) =>
            i === 0
              ? fmt(v)
              : `${fmt(v)}${m.deltas[i] !== undefined && m.deltas[i] !== 0 ? ` (${m.deltas[i]! > 0 ? '+' : ''}${fmt(m.deltas[i])} ${ARROW[m.directions[i]!]})` : ''}`,
          )
          .join(' | ')} |`,
    ),
  ];
  if (c.billing.length > 0) {
    out.push(
      '',
      '## Billing',
      '',
      `| Case | ${c.runs.map((r) => r.runId).join(' | ')} |`,
      sep,
      ...c.billing.map((b) => `| ${b.caseId} | ${b.runs.map(billingText).join(' | ')} |`),
    );
  }
  if (c.metrology.length > 0) {
    out.push(
      '',
      '## Metrology (error ± U, %)',
      '',
      `| Case | Point | MPE | ${c.runs.map((r) => r.runId).join(' | ')} |`,
      `|---|---|---|${c.runs.map(() => '---').join('|')}|`,
      ...c.metrology.map(
        (m) =>
          `| ${m.caseId} | ${m.point} | ±${fmt(m.mpePct)} | ${m.runs.map((r) => (r ? errorText(r) : '—')).join(' | ')} |`,
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

function errorText(r: NonNullable<MetrologyCompareRow['runs'][number]>): string {
  const u = r.expandedPct === undefined ? '' : ` ± ${fmt(r.expandedPct, 3)}`;
  return `${fmt(r.errorPct, 3)}${u}${r.statement ? ` (${r.statement})` : ''}`;
}

export async function renderCompareHtml(c: RunComparison, models: readonly ReportModel[]): Promise<string> {
  const colour: Record<Direction, string> = { better: '#1b7f3b', worse: '#c53030', same: '#4a5568', 'n/a': '#4a5568' };
  const runHeads = c.runs.map((r) => `<th>${esc(r.runId)}<br><small>${esc(r.outcome)}</small></th>`).join('');
  const verdictRows = c.verdicts
    .map(
      (v) =>
        `<tr${v.regression ? ' style="background:#fff5f5"' : ''}><td>${esc(v.caseId)}</td>${v.verdicts.map((x) => `<td>${esc(x ?? '—')}</td>`).join('')}</tr>`,
    )
    .join('');
  const metricRows = c.metrics
    .map(
      (m) =>
        `<tr><td>${esc(m.caseId)}</td><td>${esc(m.metric)}</td>${m.values
          .map(
            (v, i) =>
              `<td style="color:${colour[m.directions[i]!]}">${esc(fmt(v))}${i > 0 && m.deltas[i] ? ` (${m.deltas[i]! > 0 ? '+' : ''}${esc(fmt(m.deltas[i]))})` : ''}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  const billingRows = c.billing
    .map((b) => `<tr><td>${esc(b.caseId)}</td>${b.runs.map((r) => `<td>${esc(billingText(r))}</td>`).join('')}</tr>`)
    .join('');
  const billing = billingRows ? `\n<h2>Billing</h2><table><tr><th>case</th>${runHeads}</tr>${billingRows}</table>` : '';
  const metrologyRows = c.metrology
    .map(
      (m) =>
        `<tr><td>${esc(m.caseId)}</td><td>${esc(m.point)}</td><td>${esc(`±${fmt(m.mpePct)}`)}</td>${m.runs.map((r) => `<td>${esc(r ? errorText(r) : '—')}</td>`).join('')}</tr>`,
    )
    .join('');
  const curves = await Promise.all(
    [...new Set(c.metrology.map((m) => m.caseId))].map(async (caseId) => {
      const runs = models.flatMap((m) => {
        const metrology = m.cases.find((x) => x.id === caseId)?.analysis?.metrology;
        return metrology?.points.length ? [{ run: m.runId, metrology }] : [];
      });
      return `<h3>${esc(caseId)}</h3><figure>${await renderSvg(errorCurveOverlaySpec(runs))}</figure>`;
    }),
  );
  const metrology = metrologyRows
    ? `\n<h2>Metrology</h2>${curves.join('')}<table><tr><th>case</th><th>point</th><th>MPE %</th>${runHeads}</tr>${metrologyRows}</table>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench compare</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}th,td{border:1px solid #e2e8f0;padding:4px 8px}th{background:#edf2f7}</style></head>
<body><h1>Comparison of ${c.runs.length} runs</h1><p>Baseline: ${esc(c.runs[0]?.runId)}. Regressions: ${c.regressions}.</p>
<h2>Verdicts</h2><table><tr><th>case</th>${runHeads}</tr>${verdictRows}</table>
<h2>Metrics</h2><table><tr><th>case</th><th>metric</th>${runHeads}</tr>${metricRows}</table>${billing}${metrology}</body></html>
`;
}
