import { fmt, limitText, type ReportModel } from './model.js';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** JUnit XML: one testsuite per suite, one testcase per case; failures carry measured vs limit. */
export function renderJunit(m: ReportModel): string {
  const suite = m.header?.suite?.name ?? 'bench';
  const failures = m.counts.FAIL;
  const errors = m.counts.ERROR + (m.outcome === 'TAMPERED' || m.outcome === 'INCOMPLETE' ? 1 : 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="bench ${esc(m.runId)}" tests="${m.cases.length}" failures="${failures}" errors="${errors}">`,
    `  <testsuite name="${esc(suite)}" tests="${m.cases.length}" failures="${failures}" errors="${m.counts.ERROR}" skipped="${m.counts['NOT RUN']}">`,
    '    <properties>',
    `      <property name="runId" value="${esc(m.runId)}"/>`,
    `      <property name="outcome" value="${esc(m.outcome)}"/>`,
    `      <property name="recordHash" value="${m.recordHash}"/>`,
    '    </properties>',
  ];
  for (const c of m.cases) {
    lines.push(`    <testcase classname="${esc(suite)}" name="${esc(c.id)}">`);
    const bad = c.criteria.filter((cr) => cr.verdict === 'FAIL' || cr.verdict === 'ERROR');
    const describe = bad
      .map(
        (cr) =>
          `${cr.metric}: measured ${fmt(cr.measured)}, limit ${limitText(cr)}${cr.clause ? ` [${cr.clause}]` : ''}${cr.reason ? ` (${cr.reason})` : ''}`,
      )
      .join('\n');
    if (c.verdict === 'FAIL')
      lines.push(`      <failure message="${esc(describe.split('\n')[0] ?? 'FAIL')}">${esc(describe)}</failure>`);
    else if (c.verdict === 'ERROR')
      lines.push(`      <error message="${esc(c.reason ?? 'ERROR')}">${esc(describe || (c.reason ?? ''))}</error>`);
    else if (c.verdict === 'NOT RUN') lines.push(`      <skipped message="${esc(c.reason ?? 'not run')}"/>`);
    else if (c.verdict === 'MARGINAL')
      lines.push(
        `      <system-out>MARGINAL: ${esc(
          c.criteria
            .filter((cr) => cr.verdict === 'MARGINAL')
            .map((cr) => `${cr.metric} ${fmt(cr.measured)}`)
            .join(', '),
        )}</system-out>`,
      );
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
