import { fmt, limitText, marginalText, type ReportModel } from './model.js';

const ICON: Record<string, string> = {
  PASS: '✅',
  MARGINAL: '🟡',
  FAIL: '❌',
  ERROR: '⚠️',
  'NOT RUN': '⏭️',
  INCOMPLETE: '⛔',
  TAMPERED: '⛔',
};

/** A short Markdown summary for pull requests and tickets. */
export function renderMarkdown(m: ReportModel): string {
  const h = m.header;
  const out = [
    `# ${ICON[m.outcome] ?? ''} ${m.outcome} — ${h?.suite?.name ?? 'bench'} run ${m.runId}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Suite | ${h?.suite ? `${h.suite.name} v${h.suite.version}` : '—'} |`,
    `| Rig | ${h?.rig?.name ?? '—'} |`,
    `| Seeds | ${
      h
        ? Object.entries(h.seeds)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : '—'
    } |`,
    `| Tool | ${h ? `${h.tool.name} ${h.tool.version}, node ${h.node}` : '—'} |`,
    `| Record | integrity ${m.integrity}${m.integrityProblem ? ` (line ${m.integrityProblem.line}: ${m.integrityProblem.reason})` : ''}, hash \`${m.recordHash}\` |`,
    '',
    `**Cases:** ${
      Object.entries(m.counts)
        .filter(([, n]) => n > 0)
        .map(([v, n]) => `${n} ${v}`)
        .join(', ') || 'none'
    }`,
    '',
    '| Case | Verdict | Criterion | Measured | Limit | Marginal | Clause |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const c of m.cases) {
    if (c.criteria.length === 0) out.push(`| ${c.id} | ${c.verdict} | ${c.reason ?? ''} | | | | |`);
    c.criteria.forEach((cr, i) => {
      out.push(
        `| ${i === 0 ? c.id : ''} | ${i === 0 ? `${ICON[c.verdict]} ${c.verdict}` : ''} | ${cr.metric}${cr.verdict !== c.verdict ? ` (${cr.verdict})` : ''} | ${fmt(cr.measured)} | ${limitText(cr)} | ${marginalText(cr)} | ${cr.clause ?? ''} |`,
      );
    });
  }
  const reasons = m.cases.filter((c) => c.reason);
  if (reasons.length) {
    out.push('', '**Notes**', '');
    for (const c of reasons) out.push(`- \`${c.id}\`: ${c.reason}`);
  }
  return `${out.join('\n')}\n`;
}
