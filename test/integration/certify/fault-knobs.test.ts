import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify } from '../../../engine/certify.js';
import { rigProvider } from '../../../engine/rig-provider.js';

const dir = mkdtempSync(join(tmpdir(), 'knobs-'));

async function run(suite: string, cases: string[], faults: Record<string, unknown>) {
  const meterConfig = join(dir, `${Object.keys(faults).join('-') || 'healthy'}.yaml`);
  writeFileSync(meterConfig, JSON.stringify({ faults }));
  return certify(
    {
      suite,
      rig: 'sim',
      seed: 11,
      meterConfig,
      runsDir: join(dir, 'runs'),
      reportsDir: join(dir, 'reports'),
      formats: ['json'],
      only: cases,
      signal: new AbortController().signal,
      argv: [],
    },
    rigProvider,
  );
}

/**
 * Each fault knob of the reference meter must make the case that checks its aspect FAIL, on the right metric. The
 * numeric knobs with a limit (gain, added latency, clock drift) are set just past and just inside that limit in
 * limits.test.ts, read from the loaded suite.
 */
const TABLE: Array<[string, Record<string, unknown>, string, string, string]> = [
  ['every event missed', { missedEventRate: 1 }, 'ev-billing', 'ev-at-home', 'detection.ev_recall'],
  ['duplicate submission', { duplicateSubmission: true }, 'ev-billing', 'ev-at-home', 'billing.duplicates'],
  ['wrong payer', { wrongPayer: true }, 'ev-billing', 'ev-at-neighbour', 'billing.payer_mismatch'],
  ['bad signature', { badSignature: true }, 'ev-billing', 'ev-at-home', 'billing.invalid_signature'],
  ['wrong tariff', { wrongTariff: true }, 'ev-billing', 'ev-tou-boundary', 'billing.cost_mismatch'],
  // A smart EV's one session across setpoint steps and a TOU pause: billed to the host, or priced flat at the peak.
  ['wrong payer, smart EV', { wrongPayer: true }, 'ev-billing', 'ev-smart-following', 'billing.payer_mismatch'],
  ['wrong tariff, smart EV', { wrongTariff: true }, 'ev-billing', 'ev-smart-following', 'billing.cost_mismatch'],
  ['unattested firmware', { unattestedFirmware: true }, 'ev-billing', 'ev-at-home', 'billing.unattested'],
  // A polyphase meter with L2's current transformer mounted reversed books L2's power with the wrong sign; one with
  // a wrong phase sequence at its voltage terminals (L2 and L3 swapped) books −½ of L2's and L3's. Either way the
  // three-phase charger's step no longer looks like one: its session is never billed.
  [
    'a reversed current transformer on L2',
    { reversedCurrentPhase: 2 },
    'ev-billing',
    'ev-three-phase-neighbour',
    'billing.missing',
  ],
  [
    'a wrong phase sequence (L2 and L3 voltages swapped)',
    { swappedVoltagePhases: true },
    'ev-billing',
    'ev-three-phase-neighbour',
    'billing.missing',
  ],
  [
    'dropped periodic reports',
    { dropPeriodicReports: true },
    'ev-charging-aspects',
    'periodic-reports',
    'reports.missing',
  ],
];

describe('fault knobs make the expected case FAIL', () => {
  it.each(TABLE)('%s', async (_name, faults, suite, caseId, metric) => {
    const r = await run(suite, [caseId], faults);
    const c = r.cases.find((x) => x.id === caseId)!;
    expect(c.verdict).toBe('FAIL');
    expect(c.failed.join(' ')).toContain(metric);
    expect(r.exitCode).toBe(1);
  });

  it('the healthy meter passes the same cases', async () => {
    const r = await run('ev-billing', ['ev-at-home', 'ev-at-neighbour', 'ev-smart-following', 'ev-tou-boundary'], {});
    expect(r.cases.map((c) => [c.id, c.verdict === 'PASS' || c.verdict === 'MARGINAL'])).toEqual([
      ['ev-at-home', true],
      ['ev-at-neighbour', true],
      ['ev-smart-following', true],
      ['ev-tou-boundary', true],
    ]);
    const aspects = await run('ev-charging-aspects', ['clock', 'periodic-reports'], {});
    expect(aspects.verdict).toBe('PASS');
  });
});
