import type { BillingSection } from '../analysis/billing.js';
import { confusionSpec, energySpec, latencySpec, powerTimelineSpec, renderSvg, type VegaLiteSpec } from './charts.js';
import { fmt, limitText, marginalText, type ReportCase, type ReportModel } from './model.js';

const esc = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

const COLOURS: Record<string, string> = {
  PASS: '#1b7f3b',
  MARGINAL: '#b7791f',
  FAIL: '#c53030',
  ERROR: '#9b2c2c',
  'NOT RUN': '#4a5568',
  INCOMPLETE: '#6b46c1',
  TAMPERED: '#000000',
};

const badge = (v: string) => `<span class="badge" style="background:${COLOURS[v] ?? '#4a5568'}">${esc(v)}</span>`;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a202c;background:#f7fafc}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.badge{color:#fff;border-radius:4px;padding:2px 8px;font-weight:600;font-size:12px;white-space:nowrap}
.hero .badge{font-size:20px;padding:6px 14px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#edf2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;word-break:break-all}
.case{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:12px 16px;margin:14px 0}
.chart svg{max-width:100%;height:auto}.note{color:#4a5568}
`;

async function chart(spec: VegaLiteSpec | undefined): Promise<string> {
  if (!spec) return '';
  return `<figure class="chart">${await renderSvg(spec)}</figure>`;
}

async function caseSection(c: ReportCase): Promise<string> {
  const rows = c.criteria
    .map(
      (cr) =>
        `<tr><td>${esc(cr.metric)}</td><td class="num">${esc(fmt(cr.measured))}</td><td>${esc(limitText(cr))}</td><td>${esc(marginalText(cr))}</td><td>${badge(cr.verdict)}</td><td>${esc(cr.clause ?? '')}</td></tr>`,
    )
    .join('');
  const a = c.analysis;
  const latencyLimit = c.criteria.find((cr) => cr.metric.startsWith('latency.') && typeof cr.limit === 'number')
    ?.limit as number | undefined;
  const charts = a
    ? (
        await Promise.all([
          chart(powerTimelineSpec(a)),
          chart(confusionSpec(a)),
          chart(latencySpec(a, latencyLimit)),
          chart(energySpec(a)),
        ])
      ).join('')
    : '';
  const billing = (a?.sections.billing as BillingSection | undefined)?.rows ?? [];
  const billingTable = billing.length
    ? `<h3>Billing records</h3><table><tr><th>meter</th><th>seq</th><th>payer</th><th>start (UTC)</th><th>end (UTC)</th><th>import Wh</th><th>export Wh</th><th>cost</th><th>status</th></tr>${billing
        .map(
          (b) =>
            `<tr><td>${esc(b.meterId)}</td><td class="num">${esc(b.seq)}</td><td><code>${esc(b.payer)}</code></td><td class="num">${esc(utc(b.start))}</td><td class="num">${esc(utc(b.end))}</td><td class="num">${esc(fmt(b.importWh))}</td><td class="num">${esc(fmt(b.exportWh))}</td><td class="num">${esc(fmt(b.cost))}</td><td>${esc(b.status)}${b.problems?.length ? `: ${esc(b.problems.join('; '))}` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return `<section class="case" id="case-${esc(c.id)}"><h2>${badge(c.verdict)} ${esc(c.id)} — ${esc(c.title)}</h2>
${c.reason ? `<p class="note">${esc(c.reason)}</p>` : ''}
${rows ? `<table><tr><th>metric</th><th>measured</th><th>limit</th><th>marginal</th><th>verdict</th><th>clause</th></tr>${rows}</table>` : ''}
${charts}${billingTable}</section>`;
}

/** One self-contained HTML file: inline CSS and SVG charts, no scripts, nothing fetched from the network. */
/** A record's unix-second time as a reader checks it against a charge-point log: `2026-03-02 18:00:00`. */
function utc(unixS: number): string {
  return Number.isFinite(unixS) ? new Date(unixS * 1000).toISOString().slice(0, 19).replace('T', ' ') : '—';
}

export async function renderHtml(m: ReportModel): Promise<string> {
  const h = m.header;
  const identity: Array<[string, string]> = [
    ['Run', m.runId],
    ['Suite', h?.suite ? `${h.suite.name} v${h.suite.version} (sha256 ${h.suite.sha256.slice(0, 16)}…)` : '—'],
    ['Rig', h?.rig ? `${h.rig.name} (sha256 ${h.rig.sha256.slice(0, 16)}…)` : '—'],
    [
      'Seeds',
      h
        ? Object.entries(h.seeds)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : '—',
    ],
    ['Started', h?.startedAt ?? '—'],
    ['Tool', h ? `${h.tool.name} ${h.tool.version}, node ${h.node}, ${h.platform}` : '—'],
    ...Object.entries(m.identities).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : JSON.stringify(v),
    ]),
    [
      'Record integrity',
      `${m.integrity}${m.integrityProblem ? ` — line ${m.integrityProblem.line}: ${m.integrityProblem.reason}` : ''}`,
    ],
    ['Record hash', m.recordHash],
  ];
  const summary = m.cases
    .map(
      (c) =>
        `<tr><td><a href="#case-${esc(c.id)}">${esc(c.id)}</a></td><td>${esc(c.title)}</td><td>${badge(c.verdict)}</td><td>${esc(c.reason ?? '')}</td></tr>`,
    )
    .join('');
  const sections = [];
  for (const c of m.cases) sections.push(await caseSection(c));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>bench ${esc(m.outcome)} — ${esc(h?.suite?.name ?? '')} ${esc(m.runId)}</title><style>${CSS}</style></head>
<body><main>
<div class="hero"><h1>${badge(m.outcome)} ${esc(h?.suite?.title ?? h?.suite?.name ?? 'bench run')}</h1>
${m.outcome === 'INCOMPLETE' || m.outcome === 'TAMPERED' ? `<p><strong>This record is ${esc(m.outcome)}; no verdict can be certified from it.</strong></p>` : ''}</div>
<h2>Identity</h2><table>${identity.map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(v)}</code></td></tr>`).join('')}</table>
<h2>Summary</h2><p>${Object.entries(m.counts)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${badge(v)} ${n}`)
    .join(' ')}</p>
<table><tr><th>case</th><th>title</th><th>verdict</th><th>note</th></tr>${summary}</table>
${sections.join('\n')}
</main></body></html>
`;
}
