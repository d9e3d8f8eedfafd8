/** Loading a scenario file and resolving what it names (profiles, scenario paths, its tariff). */
import { isAbsolute, join } from 'node:path';
import { defaultTariff, type Tariff } from '../billing/tariff.js';
import { ledgerTariffOf } from '../billing/tariff-file.js';
import { FileValidationError } from '../core/errors.js';
import { formatFieldPath, loadYamlFile } from '../core/files/load-yaml.js';
import { getBuiltinProfile } from './library.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';
import type { Profile } from './schema.js';

export function loadScenarioFile(file: string): Scenario {
  const scenario = loadYamlFile(file, scenarioSchema);
  // Profiles are resolved now so a typo is reported against the scenario file, not at run time.
  const problems = unknownProfiles(scenario).map((p) => ({ file, ...p }));
  if (problems.length) throw new FileValidationError(file, problems);
  return scenario;
}

/** Every profile name the scenario uses that is neither its own nor in the library, by field path. */
export function unknownProfiles(
  scenario: Scenario,
): Array<{ path: Array<string | number>; field: string; message: string }> {
  const problems: Array<{ path: Array<string | number>; field: string; message: string }> = [];
  const check = (name: string, path: Array<string | number>) => {
    try {
      profileFor(scenario, name);
    } catch {
      problems.push({ path, field: formatFieldPath(path), message: `unknown profile ${name}` });
    }
  };
  scenario.houses.forEach((h, i) => {
    for (const [j, l] of h.loads.entries()) check(l.profile, ['houses', i, 'loads', j, 'profile']);
    for (const [j, l] of h.randomLoads.entries()) check(l.profile, ['houses', i, 'randomLoads', j, 'profile']);
  });
  for (const [i, e] of scenario.evs.entries()) check(e.profile, ['evs', i, 'profile']);
  return problems;
}

/** A profile named by a scenario: its own inline profiles first, then the built-in library. */
export function profileFor(scenario: Scenario, name: string): Profile {
  return scenario.profiles.find((p) => p.name === name) ?? getBuiltinProfile(name);
}

/** A scenario reference: a path relative to `baseDir` (e.g. the suite file's folder) or absolute. */
export function resolveScenarioPath(ref: string, baseDir: string): string {
  return isAbsolute(ref) ? ref : join(baseDir, ref);
}

/** The scenario's tariff as the ledger stores it (the default tariff when the scenario names none). */
export function scenarioLedgerTariff(scenario: Scenario): Tariff {
  return scenario.tariff ? ledgerTariffOf(scenario.tariff) : defaultTariff();
}
