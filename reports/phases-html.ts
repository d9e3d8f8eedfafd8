import type { PhasesSection } from '../analysis/analysers/phases.js';
import { esc } from './html-text.js';

/** A polyphase meter's phases over the case: energy, mean and peak power, mean voltage per phase. */
export function phasesHtml(s: PhasesSection | undefined): string {
  if (!s?.meters.length) return '';
  return s.meters
    .map(
      (m) => `<h3>Per phase: ${esc(m.meterId)}</h3>
<table><tr><th>phase</th><th>import Wh</th><th>export Wh</th><th>mean W</th><th>peak W</th><th>mean V</th></tr>${m.phases
        .map(
          (p) =>
            `<tr><td>${esc(p.phase)}</td><td class="num">${esc(p.importWh.toFixed(1))}</td><td class="num">${esc(p.exportWh.toFixed(1))}</td><td class="num">${esc(p.meanW.toFixed(0))}</td><td class="num">${esc(p.peakW.toFixed(0))}</td><td class="num">${esc(p.meanV.toFixed(1))}</td></tr>`,
        )
        .join('')}</table>`,
    )
    .join('\n');
}
