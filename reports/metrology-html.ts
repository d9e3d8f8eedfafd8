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
  if (!m) return '';
  const tests = shiftsHtml(m) + startingHtml(m);
  if (m.points.length === 0) return tests;
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
${tests}
${budgets ? `<h3>Uncertainty budgets (standard uncertainties, % of reading)</h3><table><tr><th>point</th><th>components</th><th>u<sub>c</sub> %</th><th>U %</th></tr>${budgets}</table>` : ''}`;
}

/** A disturbance test: each disturbed point's change of error against its undisturbed reference point. */
function shiftsHtml(m: MetrologySection): string {
  if (!m.shifts?.length) return '';
  const rows = m.shifts
    .map(
      (s) =>
        `<tr><td class="nowrap">${esc(s.id)}</td><td class="nowrap">${esc(s.referenceId)}</td><td class="num">${esc(fmt(s.shiftPct, 3))}</td></tr>`,
    )
    .join('');
  return `<h3>Change of error under the disturbance</h3><table><tr><th>point</th><th>against</th><th>|Δ error| %</th></tr>${rows}</table>`;
}

/** The starting test: what the meter registered in each half of its run at Ist. */
function startingHtml(m: MetrologySection): string {
  const s = m.starting;
  if (!s) return '';
  const rows = s.halves
    .map(
      (h) =>
        `<tr><td class="num">${esc(fmt(h.from))}–${esc(fmt(h.to))}</td><td class="num">${esc(fmt(h.registeredWh, 3))}</td><td class="num">${s.source === 'pulses' ? esc(String(h.pulses)) : '—'}</td></tr>`,
    )
    .join('');
  return `<h3>Starting at Ist = ${esc(fmt(s.currentA, 3))} A (${s.gaps === 0 ? 'registered throughout' : `<strong>${s.gaps} of ${s.halves.length} halves without registration</strong>`}, judged on ${esc(s.source)})</h3><table><tr><th>window (s)</th><th>registered Wh</th><th>pulses</th></tr>${rows}</table>`;
}
