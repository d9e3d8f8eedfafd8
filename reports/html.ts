import type { OcppSection } from '../analysis/analysers/ocpp.js';
import type { PhasesSection } from '../analysis/analysers/phases.js';
import type { BillingSection } from '../analysis/billing.js';
import { anchorRows, casesNotRun, conformityStatement, dutRows, type IdentityRow, labRows } from './certificate.js';
import { caseCharts, renderSvg, type VegaLiteSpec } from './charts.js';
import { esc } from './html-text.js';
import { metrologyHtml } from './metrology-html.js';
import { fmt, limitText, marginalText, type ReportCase, type ReportModel } from './model.js';
import { ocppHtml } from './ocpp-html.js';
import { phasesHtml } from './phases-html.js';

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
.nowrap{white-space:nowrap}
.case{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:12px 16px;margin:14px 0}
.chart{margin:8px 0}.chart svg{max-width:100%;height:auto}.note{color:#4a5568}
.cert{background:#fff;border:2px solid #2d3748;border-radius:8px;padding:18px 22px;margin:0 0 18px}
.cert .kicker{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:#4a5568;margin:0 0 4px}
.statement{font-size:15px;margin:10px 0 14px;padding:10px 12px;border-left:4px solid #4a5568;background:#f7fafc}
.statement.conforms{border-left-color:#1b7f3b}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 18px}.grid h3{margin-top:8px}
.cert table th{width:38%}.src{display:block;color:#718096;font-size:11px}
footer{max-width:1040px;margin:0 auto;padding:10px 24px 24px;color:#4a5568;font-size:12px;border-top:1px solid #e2e8f0}
@media print{body{background:#fff;font-size:11px}main{padding:0}.case,.cert,figure,tr{break-inside:avoid}@page{size:A4;margin:14mm}
.case{padding:8px 10px}th,td{padding:3px 5px;overflow-wrap:break-word}.nowrap{white-space:normal}code{font-size:10px}}
`;

const idTable = (rows: IdentityRow[]) =>
  `<table>${rows
    .map(
      (r) =>
        `<tr><th>${esc(r.label)}</th><td>${r.code ? `<code>${esc(r.value)}</code>` : esc(r.value)}${r.source ? `<span class="src">${esc(r.source)}</span>` : ''}</td></tr>`,
    )
    .join('')}</table>`;

async function chart(spec: VegaLiteSpec | undefined): Promise<string> {
  if (!spec) return '';
  return `<figure class="chart">${await renderSvg(spec)}</figure>`;
}

async function caseSection(c: ReportCase): Promise<string> {
  const rows = c.criteria
    .map(
      (cr) =>
        `<tr><td>${esc(cr.metric)}</td><td class="num">${esc(fmt(cr.measured))}</td><td class="nowrap">${esc(limitText(cr))}</td><td class="nowrap">${esc(marginalText(cr))}</td><td>${badge(cr.verdict)}</td><td>${esc(cr.clause ?? '')}</td></tr>`,
    )
    .join('');
  const a = c.analysis;
  const charts = (await Promise.all(caseCharts(c).map(chart))).join('');
  const billing = (a?.sections.billing as BillingSection | undefined)?.rows ?? [];
  const billingTable = billing.length
    ? `<h3>Billing records</h3><table><tr><th>meter</th><th>seq</th><th>payer</th><th>start (UTC)</th><th>end (UTC)</th><th>import Wh</th><th>export Wh</th><th>cost</th><th>status</th></tr>${billing
        .map(
          (b) =>
            `<tr><td${b.meterId.startsWith('0x') ? '><code>' : ' class="nowrap">'}${esc(b.meterId)}${b.meterId.startsWith('0x') ? '</code>' : ''}</td><td class="num">${esc(b.seq)}</td><td><code>${esc(b.payer)}</code></td><td class="num nowrap">${esc(utc(b.start))}</td><td class="num nowrap">${esc(utc(b.end))}</td><td class="num">${esc(fmt(b.importWh))}</td><td class="num">${esc(fmt(b.exportWh))}</td><td class="num nowrap">${esc(money(b.cost, b.currency))}</td><td>${esc(b.status)}${b.problems?.length ? `: ${esc(b.problems.join('; '))}` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return `<section class="case" id="case-${esc(c.id)}"><h2>${badge(c.verdict)} ${esc(c.id)} — ${esc(c.title)}</h2>
${c.reason ? `<p class="note">${esc(c.reason)}</p>` : ''}
${rows ? `<table><tr><th>metric</th><th>measured</th><th>limit</th><th>marginal</th><th>verdict</th><th>clause</th></tr>${rows}</table>` : ''}
${charts}${phasesHtml(a?.sections.phases as PhasesSection | undefined)}${metrologyHtml(a?.metrology)}${billingTable}${ocppHtml(a?.sections.ocpp as OcppSection | undefined)}</section>`;
}

/** A cost in its tariff's currency (`1.66 EUR`); a record without one says so rather than guess. */
function money(amount: number, currency: string | undefined): string {
  return `${amount.toFixed(2)} ${currency ?? '(currency not recorded)'}`;
}

/** An ISO timestamp of the record as a reader writes it: `2026-12-02 15:13:59 UTC`. */
function isoUtc(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '—';
}

/** A record's unix-second time as a reader checks it against a charge-point log: `2026-03-02 18:00:00`. */
function utc(unixS: number): string {
  return Number.isFinite(unixS) ? new Date(unixS * 1000).toISOString().slice(0, 19).replace('T', ' ') : '—';
}

/** One self-contained HTML file: inline CSS and SVG charts, no scripts, nothing fetched from the network. */
export async function renderHtml(m: ReportModel): Promise<string> {
  const h = m.header;
  const statement = conformityStatement(m);
  const anchor = anchorRows(m);
  const notRun = casesNotRun(m);
  const suiteRows: IdentityRow[] = [
    {
      label: 'Suite',
      value: h?.suite ? `${h.suite.title ?? h.suite.name} (${h.suite.name} v${h.suite.version})` : '—',
    },
    {
      label: 'Cases',
      value: `${m.cases.length} run${notRun.length ? `; not run: ${notRun.join(', ')}` : h?.suite?.cases ? ' (all of the suite)' : ''}`,
    },
    { label: 'Rig', value: h?.rig ? `${h.rig.name}${h.rig.file ? ` (${h.rig.file})` : ''}` : '—' },
    { label: 'Tested', value: `${isoUtc(h?.startedAt)} to ${isoUtc(m.endedAt)}` },
  ];
  const ledger = (m.identities.ledger ?? {}) as {
    kind?: string;
    chainId?: string | number;
    url?: string;
    contracts?: Record<string, string>;
    deployedAtBlock?: number;
    deployment?: { source: string; file?: string; reason?: string };
  };
  const runRows: IdentityRow[] = [
    { label: 'Run', value: m.runId, code: true },
    {
      label: 'Suite file',
      value: h?.suite ? `${h.suite.file}` : '—',
      source: h?.suite ? `sha256 ${h.suite.sha256}` : undefined,
    },
    { label: 'Rig definition', value: h?.rig ? `sha256 ${h.rig.sha256}` : '—', code: true },
    {
      label: 'Seeds',
      value: h
        ? Object.entries(h.seeds)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : '—',
    },
    { label: 'Tool', value: h ? `${h.tool.name} ${h.tool.version}, node ${h.node}, ${h.platform}` : '—' },
    {
      label: 'Record integrity',
      value: `${m.integrity}${m.integrityProblem ? ` — line ${m.integrityProblem.line}: ${m.integrityProblem.reason}` : ''}`,
    },
    { label: 'Record hash', value: `sha256 ${m.recordHash}`, code: true },
  ];
  const ledgerRows: IdentityRow[] = m.identities.ledger
    ? [
        {
          label: 'Chain',
          value: `chain id ${ledger.chainId ?? '—'}, ${ledger.kind === 'embedded' ? 'embedded (in-memory)' : (ledger.url ?? ledger.kind ?? '—')}`,
        },
        ...(ledger.deployment
          ? [
              {
                label: 'Contracts',
                value:
                  ledger.deployment.source === 'saved'
                    ? `saved deployment ${ledger.deployment.file ?? ''}`
                    : `deployed for this run: ${ledger.deployment.reason ?? ''}`,
              },
            ]
          : []),
        ...Object.entries(ledger.contracts ?? {}).map(([name, address]) => ({
          label: name,
          value: address,
          code: true,
        })),
        ...(ledger.deployedAtBlock !== undefined
          ? [{ label: 'Deployed at block', value: String(ledger.deployedAtBlock) }]
          : []),
      ]
    : [];
  const instruments = (m.identities.instruments ?? []) as Array<{
    id: string;
    role: string;
    identity: string;
    transport: string;
    capabilities?: string[];
  }>;
  const instrumentTable = instruments.length
    ? `<h3>Instruments</h3><table><tr><th>id</th><th>role</th><th>identity (as the instrument answers)</th><th>transport</th><th>capabilities</th></tr>${instruments
        .map(
          (i) =>
            `<tr><td>${esc(i.id)}</td><td>${esc(i.role)}</td><td>${esc(i.identity)}</td><td>${esc(i.transport)}</td><td>${esc((i.capabilities ?? []).join(', '))}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  // Identities this renderer has no table for are still shown, one row per field.
  const other = Object.entries(m.identities).filter(([k]) => !['dut', 'ledger', 'instruments'].includes(k));
  const otherTables = other
    .map(
      ([k, v]) =>
        `<h3>${esc(k)}</h3>${idTable(
          v && typeof v === 'object' && !Array.isArray(v)
            ? Object.entries(v).map(([f, x]) => ({
                label: f,
                value: typeof x === 'object' ? JSON.stringify(x) : String(x),
              }))
            : [{ label: k, value: typeof v === 'string' ? v : JSON.stringify(v) }],
        )}`,
    )
    .join('');
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
<section class="cert">
<p class="kicker">Test certificate · run ${esc(m.runId)}</p>
<div class="hero"><h1>${badge(m.outcome)} ${esc(h?.suite?.title ?? h?.suite?.name ?? 'bench run')}</h1>
${m.outcome === 'INCOMPLETE' || m.outcome === 'TAMPERED' ? `<p><strong>This record is ${esc(m.outcome)}; no verdict can be certified from it.</strong></p>` : ''}</div>
<p class="statement${statement.conforms ? ' conforms' : ''}">${esc(statement.text)}</p>
<div class="grid">
<div><h3>Meter under test</h3>${idTable(dutRows(m))}</div>
<div><h3>Tested by</h3>${idTable(labRows(m))}${idTable(suiteRows)}</div>
</div>
<h3>Ledger anchor</h3>${anchor.rows.length ? idTable(anchor.rows) : ''}${anchor.note ? `<p class="note">${esc(anchor.note)}</p>` : ''}
</section>
<h2>Summary</h2><p>${Object.entries(m.counts)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${badge(v)} ${n}`)
    .join(' ')}</p>
<table><tr><th>case</th><th>title</th><th>verdict</th><th>note</th></tr>${summary}</table>
${sections.join('\n')}
<h2>Run details</h2>${idTable(runRows)}
${ledgerRows.length ? `<h3>Ledger</h3>${idTable(ledgerRows)}` : ''}
${instrumentTable}${otherTables}
</main>
<footer>${esc(h?.tool.name ?? 'bench')} ${esc(h?.tool.version ?? '')} · run ${esc(m.runId)} · record sha256 ${esc(m.recordHash)} · record closed ${esc(m.endedAt ?? 'never (incomplete)')}</footer>
</body></html>
`;
}
