import { esc } from './html-text.js';
import { fmt } from './model.js';

/** One suite's runs on several devices, aggregated per device (built by farm/compare.ts from the lab database). */
export interface ProcurementTable {
  suite: string;
  title: string;
  cases: string[];
  criteria: Array<{ caseId: string; metric: string; unit: string; better?: 'higher' | 'lower' | 'nearer-zero' }>;
  rows: Array<{
    device: string;
    runs: number;
    /** Runs that PASSed or were MARGINAL with an intact record. */
    passed: number;
    firmware: string[];
    cases: Record<string, { runs: number; passed: number }>;
    /** By `case/metric`: mean and worst over the device's runs. */
    metrics: Record<string, { mean: number; worst: number; n: number }>;
  }>;
}

const rate = (passed: number, runs: number) =>
  runs ? `${passed}/${runs} (${Math.round((100 * passed) / runs)} %)` : '—';

/** The procurement table as Markdown: pass rates per device and case, then each criterion's mean and worst. */
export function renderProcurementMarkdown(t: ProcurementTable): string {
  const head = `| | ${t.rows.map((r) => r.device).join(' | ')} |\n|---|${t.rows.map(() => '---').join('|')}|`;
  const line = (label: string, cells: string[]) => `| ${label} | ${cells.join(' | ')} |`;
  const out = [
    `# ${t.title} (${t.suite}): devices compared`,
    '',
    head,
    line(
      'firmware',
      t.rows.map((r) => r.firmware.join(', ')),
    ),
    line(
      'runs passed',
      t.rows.map((r) => rate(r.passed, r.runs)),
    ),
    ...t.cases.map((c) =>
      line(
        c,
        t.rows.map((r) => rate(r.cases[c]?.passed ?? 0, r.cases[c]?.runs ?? 0)),
      ),
    ),
    '',
    `| metric (mean / worst) | ${t.rows.map((r) => r.device).join(' | ')} |\n|---|${t.rows.map(() => '---').join('|')}|`,
    ...t.criteria.map((k) =>
      line(
        `${k.caseId} ${k.metric}${k.unit && k.unit !== '1' ? ` (${k.unit})` : ''}`,
        t.rows.map((r) => {
          const m = r.metrics[`${k.caseId}/${k.metric}`];
          return m ? `${fmt(m.mean)} / ${fmt(m.worst)}` : '—';
        }),
      ),
    ),
  ];
  return `${out.join('\n')}\n`;
}

/** The same as a standalone HTML page: the device with the best pass rate on each row is marked. */
export function renderProcurementHtml(t: ProcurementTable): string {
  const heads = t.rows.map((r) => `<th>${esc(r.device)}</th>`).join('');
  const best = (vals: number[]) => {
    const top = Math.max(...vals);
    return vals.map((v) => v === top && vals.some((x) => x !== top));
  };
  const rateRow = (label: string, cells: Array<{ passed: number; runs: number }>) => {
    const marks = best(cells.map((c) => (c.runs ? c.passed / c.runs : -1)));
    return `<tr><td>${esc(label)}</td>${cells
      .map((c, i) => `<td${marks[i] ? ' class="best"' : ''}>${esc(rate(c.passed, c.runs))}</td>`)
      .join('')}</tr>`;
  };
  const metricRows = t.criteria
    .map((k) => {
      const cells = t.rows.map((r) => r.metrics[`${k.caseId}/${k.metric}`]);
      return `<tr><td>${esc(k.caseId)}</td><td>${esc(k.metric)}${k.unit && k.unit !== '1' ? ` (${esc(k.unit)})` : ''}</td>${cells
        .map((m) => `<td>${m ? `${esc(fmt(m.mean))} <small>worst ${esc(fmt(m.worst))}, n ${m.n}</small>` : '—'}</td>`)
        .join('')}</tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(t.suite)}: devices compared</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.best{background:#e6f4ea;font-weight:600}small{color:#555}</style>
</head><body>
<h1>${esc(t.title)} <small>(${esc(t.suite)})</small>: devices compared</h1>
<h2>Pass rates</h2>
<table><tr><th></th>${heads}</tr>
<tr><td>firmware</td>${t.rows.map((r) => `<td>${esc(r.firmware.join(', '))}</td>`).join('')}</tr>
${rateRow(
  'runs passed (intact record)',
  t.rows.map((r) => ({ passed: r.passed, runs: r.runs })),
)}
${t.cases
  .map((c) =>
    rateRow(
      c,
      t.rows.map((r) => r.cases[c] ?? { passed: 0, runs: 0 }),
    ),
  )
  .join('\n')}
</table>
<h2>Criteria metrics (mean over runs, worst in the criterion's direction)</h2>
<table><tr><th>case</th><th>metric</th>${heads}</tr>${metricRows}</table>
</body></html>
`;
}
