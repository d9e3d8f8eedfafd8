import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { pseudonym } from '../ledger/billing-record.js';
import { computeCostMicro, defaultTariff, type Tariff } from '../ledger/tariff.js';
import { loadMeterConfigFile, type MeterConfigInput, parseMeterConfig } from '../meter/config.js';
import { meterKey } from '../meter/reference-meter.js';
import { groundTruth, loadScenarioFile, resolveScenarioPath } from '../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../profiles/scenario-schema.js';
import { VirtualRig } from '../rigs/virtual/virtual-rig.js';
import type { RigInfo, RigProvider } from './certify.js';
import { FileValidationError, InputError } from './errors.js';
import type { CaseEntry, PreparedCase } from './executor.js';
import { ENTRY } from './observations.js';
import type { SuiteCase } from './suite.js';
import { ledgerTariffOf } from './tariffs.js';

const BUILTIN_RIGS: Record<string, string> = {
  sim: 'bench built-in rig "sim": in-process waveform synthesis, reference meter, virtual clock',
};

/** Loads a case's scenario: a path relative to the suite file, or an inline scenario object. */
export function loadCaseScenario(c: SuiteCase, suiteFile: string) {
  if (typeof c.scenario === 'string') return loadScenarioFile(resolveScenarioPath(c.scenario, dirname(suiteFile)));
  const r = scenarioSchema.safeParse(c.scenario);
  if (!r.success) {
    throw new FileValidationError(
      suiteFile,
      r.error.issues.map((i) => ({
        file: suiteFile,
        field: `cases.${c.id}.scenario.${i.path.join('.')}`,
        message: i.message,
      })),
    );
  }
  return r.data;
}

/**
 * Ground truth of a case as record entries. Expected billing sessions carry what the ledger must show: the host
 * meter's signing address, payer and host pseudonyms, unix times, and the TOU cost.
 */
export function truthEntries(
  c: SuiteCase,
  scenario: Scenario,
  caseSeed: number,
  salt: string,
  tariff: Tariff,
): PreparedCase {
  const truth = groundTruth(scenario, caseSeed);
  const entries: CaseEntry[] = [];
  for (const e of truth.events) entries.push({ kind: ENTRY.truthEvent, data: { ...e } });
  for (const e of truth.energies) entries.push({ kind: ENTRY.truthLoadEnergy, data: { ...e } });
  for (const s of truth.sessions) {
    const startUnix = truth.epochS + s.start;
    const endUnix = truth.epochS + s.end;
    entries.push({
      kind: ENTRY.truthSession,
      data: {
        ...s,
        meterAddress: meterKey(caseSeed, s.meterId).address,
        payerPseudonym: pseudonym(s.payerContractId, salt),
        hostPseudonym: pseudonym(s.hostContractId, salt),
        startUnix,
        endUnix,
        cost:
          Number(
            computeCostMicro(tariff, {
              start: BigInt(Math.round(startUnix)),
              end: BigInt(Math.round(endUnix)),
              importMilliWh: BigInt(Math.round(s.importWh * 1000)),
              exportMilliWh: BigInt(Math.round(s.exportWh * 1000)),
            }),
          ) / 1e6,
      },
    });
  }
  return {
    plan: { caseId: c.id, scenario, params: {} },
    truth: entries,
  };
}

/** Built-in rigs (`sim`); rig files are served by rigs/ once their hardware runtime exists. */
export const builtinRigProvider: RigProvider = {
  describe(ref: string): RigInfo {
    const text = BUILTIN_RIGS[ref];
    if (!text) {
      throw new InputError(
        `unknown rig ${ref}`,
        [{ file: ref, message: 'not a built-in rig' }],
        [`Built-in rigs: ${Object.keys(BUILTIN_RIGS).join(', ')}`],
      );
    }
    return { name: ref, sha256: createHash('sha256').update(text).digest('hex') };
  },
  async bind({ meterConfig, ledger }) {
    const input: MeterConfigInput = meterConfig ? loadMeterConfigFile(meterConfig) : {};
    const config = parseMeterConfig(input);
    const rig = new VirtualRig({ meterConfig: input, ledger });
    return {
      rig,
      prepareCase: async (c, caseSeed, _params, suiteFile) => {
        const scenario = loadCaseScenario(c, suiteFile);
        // The case's tariff is published (as a new registry version when it differs) before its meters bill.
        const tariff = scenario.tariff ? ledgerTariffOf(scenario.tariff) : defaultTariff();
        await ledger.useTariff(tariff);
        const prepared = truthEntries(c, scenario, caseSeed, config.pseudonymSalt, tariff);
        prepared.plan.meter = c.meter;
        return prepared;
      },
    };
  },
};
