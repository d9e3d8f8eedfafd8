import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileValidationError } from '../../../core/errors.js';
import { loadSuiteFile } from '../../../engine/suite.js';

const fixture = (name: string) => join(import.meta.dirname, '../../fixtures/suites', name);

function problemsOf(file: string) {
  try {
    loadSuiteFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(FileValidationError);
    return (e as FileValidationError).problems;
  }
  throw new Error('expected a validation error');
}

describe('suite loading', () => {
  it('loads a valid suite with defaults', () => {
    const { suite, sha256 } = loadSuiteFile(fixture('valid-suite.yaml'));
    expect(suite.cases[0]).toMatchObject({ id: 'ev-home', timeLimitS: 600, params: {} });
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names file, line, column and field for every problem', () => {
    const problems = problemsOf(fixture('broken-suite.yaml'));
    const byField = Object.fromEntries(problems.map((p) => [p.field, p]));
    expect(byField['cases[0].requires[1]']).toMatchObject({ line: 8, message: expect.stringMatching(/meter.events/) });
    expect(byField['cases[0].criteria[0].unit']).toMatchObject({
      line: 13,
      message: 'unit of detection.f1 is "1", not "%"',
    });
    expect(byField['cases[0].criteria[1].limit']).toMatchObject({ line: 16, column: 16 });
    expect(byField['cases[0].colour']).toMatchObject({ line: 18, column: 5, message: 'unknown field "colour"' });
    for (const p of problems) expect(p.file).toBe(fixture('broken-suite.yaml'));
  });

  it('rejects YAML bombs and syntax errors with a location', () => {
    expect(problemsOf(fixture('yaml-bomb.yaml'))[0]!.message).toMatch(/alias/i);
    expect(problemsOf(fixture('bad-syntax.yaml'))[0]).toMatchObject({ line: expect.any(Number) });
  });

  it('rejects a missing file as not found', () => {
    expect(() => loadSuiteFile(fixture('nope.yaml'))).toThrow(/file not found/);
  });
});
