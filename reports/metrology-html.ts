import type { MetrologySection } from '../analysis/metrology.js';
import { DECISION_RULE_TEXT } from '../analysis/standards/decision-rules.js';
import { COVERAGE_CLAUSE, GUM_CLAUSE } from '../analysis/standards/gum.js';
import { pfLabel } from './charts.js';
import { esc } from './html-text.js';
import { fmt } from './model.js';

/**
 * A metrology case's test points in the HTML report: error, expanded uncertainty, MPE, ILAC-G8 statement and the
 * decision rule's verdict per point, the rule in force, the reference standard, and each point's budget.
 */
export function metrologyHtml(m: MetrologySection | undefined): string {
  if (!m || m.points.length === 0) return '';
  const rule = m.decisionRule && DECISION_RULE_TEXT[m.decisionRule];
  const ref = m.reference;
  const rows = m.points
    .map(
      (p) =>
        `<tr><td class="nowrap">${esc(p.id)}</td><td class="num">${esc(fmt(p.currentA))}</td><td class="nowrap">${esc(pfLabel(p.pf))}</td><td class="num">${esc(fmt(p.referenceWh))}</td><td>${esc(p.source === 'pulses' && p.gate ? `${p.gate.pulses} pulses` : (p.source ?? '—'))}</td><td class="num">${esc(fmt(p.errorPct, 3))}</td><td class="num">${esc(p.expandedPct === undefined ? '—' : `±${fmt(p.expandedPct, 3)}`)}</td><td class="num">${esc(`±${fmt(p.mpePct)}`)}</td><td class="nowrap">${esc(p.statement ?? '—')}</td><td>${p.accepted === undefined ? '—' : p.accepted ? 'accepted' : '<strong>not accepted</strong>'}</td></tr>`,
    )
    .join('');
  const budgets = m.points
    .filter((p) => p.budget?.length)
    .map(
      (p) =>
        `<tr><td class="nowrap">${esc(p.id)}</td><td>${esc(
          p.budget!.map((c) => `${c.source} ${fmt(c.uPct, 3)} % (type ${c.type}: ${c.basis})`).join('; '),
        )}</td><td class="num">${esc(fmt(p.combinedPct, 3))}</td><td class="num">${esc(fmt(p.expandedPct, 3))}</td></tr>`,
    )
    .join('');
  return `<h3>Metrology test points (MID class ${esc(m.midClass)})</h3>
${rule ? `<p class="note">Decision rule: ${esc(rule.title)}: ${esc(rule.accepts)} (${esc(rule.clause)}). U: expanded uncertainty, ${esc(GUM_CLAUSE)}, ${esc(COVERAGE_CLAUSE)}.</p>` : ''}
${ref ? `<p class="note">Reference standard: ${esc(ref.description)}${ref.certificate ? `, certificate ${esc(ref.certificate)}` : ''}${ref.due ? `, calibration valid until ${esc(ref.due)}` : ''}.</p>` : ''}
<table><tr><th>point</th><th>I (A)</th><th>power factor</th><th>reference Wh</th><th>DUT read from</th><th>error %</th><th>U %</th><th>MPE %</th><th>ILAC-G8 statement</th><th>decision</th></tr>${rows}</table>
${budgets ? `<h3>Uncertainty budgets (standard uncertainties, % of reading)</h3><table><tr><th>point</th><th>components</th><th>u<sub>c</sub> %</th><th>U %</th></tr>${budgets}</table>` : ''}`;
}
