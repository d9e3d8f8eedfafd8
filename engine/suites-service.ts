import { validateEach } from '../core/files/io.js';
import { type LoadedSuite, listBuiltinSuiteNames, loadSuiteFile, resolveSuite } from './suite.js';

export interface SuiteSummary {
  name: string;
  version: number;
  title: string;
  cases: number;
  file: string;
}

export function summariseSuite(l: LoadedSuite): SuiteSummary {
  return {
    name: l.suite.name,
    version: l.suite.version,
    title: l.suite.title,
    cases: l.suite.cases.length,
    file: l.file,
  };
}

export function listSuites(): SuiteSummary[] {
  return listBuiltinSuiteNames().map((n) => summariseSuite(resolveSuite(n)));
}

/** Validates one or more suite files (and the scenarios their cases name); every bad file is reported (exit 2). */
export function validateSuiteFiles(files: string[]): SuiteSummary[] {
  return validateEach(files, (f) => summariseSuite(loadSuiteFile(f)));
}
