import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pseudonym } from '../../../billing/billing-record.js';
import type { SignedBillingRecordJson } from '../../../billing/record-json.js';
import { parseMeterConfig } from '../../../meter/config.js';
import { offlineMeter } from '../../../meter/factory.js';
import { groundTruth } from '../../../profiles/ground-truth.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import type { Scenario } from '../../../profiles/scenario-schema.js';
import { scenarioEvSignals } from '../../../rigs/scenario-setpoints.js';
import { playIntoMeter } from '../../support/meter-play.js';

const SALT = parseMeterConfig({}).pseudonymSalt;
const SPC = 64;
const TWO_AT_ONCE = fileURLToPath(new URL('../../../suites/scenarios/ev-two-at-once.yaml', import.meta.url));

/** Plays a one-house scenario into the meter as the sim rig does: tokens and pilot states before their block. */
function play(scenario: Scenario, seed = 3) {
  const meterId = scenario.houses[0]!.id;
  const billing: SignedBillingRecordJson[] = [];
  const { meter, store } = offlineMeter({
    meterId,
    hostContractId: scenario.houses[0]!.contract,
    epochS: Date.parse(scenario.start) / 1000,
    seed,
    samplesPerCycle: SPC,
    outputs: { billing: (b) => billing.push(b.signed) },
  });
  const signals = scenarioEvSignals(scenario, meterId, seed);
  playIntoMeter(meter, scenario, meterId, { seed, samplesPerCycle: SPC, signals });
  store.close();
  return { billing, truth: groundTruth(scenario, seed) };
}

/** Each true session has exactly one record, to its payer, with its energy within 1 % and its times within 1 s. */
function expectEachBilledOnce(r: ReturnType<typeof play>) {
  expect(r.billing).toHaveLength(r.truth.sessions.length);
  for (const s of r.truth.sessions) {
    const mine = r.billing.filter((b) => b.record.payer === pseudonym(s.payerContractId, SALT));
    expect(mine, s.sessionId).toHaveLength(1);
    const rec = mine[0]!.record;
    expect(Math.abs(Number(rec.start) - (r.truth.epochS + s.start)), s.sessionId).toBeLessThanOrEqual(1);
    expect(Math.abs(Number(rec.end) - (r.truth.epochS + s.end)), s.sessionId).toBeLessThanOrEqual(1);
    const errPct = ((Number(rec.importMilliWh) / 1000 - s.importWh) / s.importWh) * 100;
    expect(Math.abs(errPct), `${s.sessionId} energy error ${errPct.toFixed(2)} %`).toBeLessThan(1);
  }
}

describe('two EVs charging at once on one meter', () => {
  const scenario = loadScenarioFile(TWO_AT_ONCE);

  it("a visitor's EV and the household's, the latter tapering beside the former: each billed once, correctly", () => {
    // Before: the taper of the second EV was given to the first (the first EV with an open session), so the visitor
    // was billed part of the host's taper and the host's EV never matched its own off step (nothing billed).
    expectEachBilledOnce(play(scenario));
  });

  it('the household EV first, the visitor 60 s later (both tokens inside one authorisation window): each plug-in takes its own token', () => {
    const [visitor, home] = scenario.evs;
    const close: Scenario = {
      ...scenario,
      evs: [
        { ...home!, sessions: [{ ...home!.sessions[0]!, plugIn: 300 }] },
        { ...visitor!, sessions: [{ ...visitor!.sessions[0]!, plugIn: 360 }] },
      ],
    };
    expectEachBilledOnce(play(close, 11));
  });
});
