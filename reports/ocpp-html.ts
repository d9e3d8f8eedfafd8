import { type OcppSection, WIRE_LOG_FRAMES } from '../analysis/analysers/ocpp.js';
import { esc } from './html-text.js';
import { fmt } from './model.js';

/**
 * A charging station's part of a case in the HTML report: its transactions as the bench matched and checked them,
 * and the wire log (every frame each way, the first WIRE_LOG_FRAMES of the case).
 */
export function ocppHtml(section: OcppSection | undefined): string {
  if (!section) return '';
  const yes = (ok: boolean) => (ok ? 'yes' : '<strong>no</strong>');
  const rows = section.rows
    .map(
      (r) =>
        `<tr><td><code>${esc(r.transactionId)}</code></td><td><code>${esc(r.idToken)}</code></td><td>${esc(r.session ?? '—')}</td><td class="num">${esc(fmt(r.tStart, 3))}</td><td class="num">${esc(r.tEnd === undefined ? '—' : fmt(r.tEnd, 3))}</td><td>${esc(r.stopReason ?? '—')}</td><td class="num">${esc(r.energyWh === undefined ? '—' : fmt(r.energyWh))}${r.signedEnergy ? '' : ' (unsigned)'}</td><td class="num">${esc(r.truthWh === undefined ? '—' : fmt(r.truthWh))}</td><td class="num">${esc(r.errorPct === undefined ? '—' : fmt(r.errorPct, 3))}</td><td>${yes(r.conformance)}</td><td>${yes(r.compatibility)}</td><td>${esc(r.problem ?? '')}${r.issues.length ? ` ${esc(r.issues.map((i) => `${i.pg ? `${i.pg}: ` : ''}${i.message}`).join('; '))}` : ''}</td></tr>`,
    )
    .join('');
  const table = section.rows.length
    ? `<h3>Charging transactions (OCPP)</h3><table><tr><th>transaction</th><th>token</th><th>session</th><th>start s</th><th>end s</th><th>stop reason</th><th>signed Wh</th><th>reference Wh</th><th>error %</th><th>OCMF conforms</th><th>verifiable</th><th>problems</th></tr>${rows}</table>`
    : '<h3>Charging transactions (OCPP)</h3><p class="note">The station reported no transaction in this case.</p>';
  const missing = section.missing.length
    ? `<p class="note">Sessions with no transaction: ${esc(section.missing.join(', '))}</p>`
    : '';
  const errors = Object.entries(section.callErrors);
  const callErrors = errors.length
    ? `<p class="note">CALLERRORs sent to the station: ${esc(errors.map(([code, n]) => `${code} × ${n}`).join(', '))}</p>`
    : '';
  const total = section.frames.in + section.frames.out;
  const wire = section.wire
    .map(
      (f) =>
        `<tr><td class="num">${esc(fmt(f.t, 3))}</td><td>${esc(f.station)}</td><td>${f.direction === 'in' ? '→ bench' : '← bench'}</td><td><code>${esc(f.frame)}</code></td></tr>`,
    )
    .join('');
  const shown =
    total > section.wire.length ? ` (the first ${WIRE_LOG_FRAMES} of ${total}; the run record holds all)` : '';
  return `${table}${missing}${callErrors}<details><summary>Wire log: ${section.frames.in} frames in, ${section.frames.out} out${esc(shown)}</summary><table><tr><th>t s</th><th>station</th><th>direction</th><th>frame</th></tr>${wire}</table></details>`;
}
