import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MID_CLASSES, midMpe } from '../../../analysis/standards/mid.js';
import { FileValidationError } from '../../../core/errors.js';
import { listBuiltinSuiteNames, loadSuiteFile, resolveSuite } from '../../../engine/suite.js';
import { REPO_ROOT } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'suite-limits-'));
const EV_AT_HOME = join(REPO_ROOT, 'suites/scenarios/ev-at-home.yaml');
let n = 0;

/** A one-case suite with the given parameters and criterion lines (YAML flow maps, one per line). */
function suiteFile(parameters: string, criteria: string[], caseParams = ''): string {
  const file = join(dir, `s${n++}.yaml`);
  writeFileSync(
    file,
    [
      'name: limits',
      'version: 1',
      'title: Limits from the MID table',
      `parameters: ${parameters}`,
      'cases:',
      '  - id: ev',
      '    title: EV energy',
      // A real scenario: a suite is read with the scenarios its cases name.
      `    scenario: ${EV_AT_HOME}`,
      ...(caseParams ? [`    params: ${caseParams}`] : []),
      '    criteria:',
      ...criteria.map((c) => `      - ${c}`),
      '',
    ].join('\n'),
  );
  return file;
}

const EV =
  '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: itr-imax }, marginalFraction: 0.5, unit: "%" }';

function problemsOf(file: string) {
  try {
    loadSuiteFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(FileValidationError);
    return (e as FileValidationError).problems;
  }
  throw new Error('expected a validation error');
}

describe('criteria with limitFrom take their limit from the MID table', () => {
  it.each(MID_CLASSES)('class %s: limit = Table 2 MPE, marginal inside it, citation as the clause', (cls) => {
    const [cr] = loadSuiteFile(suiteFile(`{ midClass: ${cls} }`, [EV])).suite.cases[0]!.criteria;
    const mpe = midMpe({ midClass: cls, current: 'itr-imax' });
    expect(cr).toMatchObject({ limit: mpe.mpePct, marginal: mpe.mpePct * 0.5, clause: mpe.citation });
    expect(cr!.marginal as number).toBeLessThan(cr!.limit as number);
    expect(cr!.source).toContain(`class ${cls}`);
  });

  it("a case's midClass overrides the suite's", () => {
    const [cr] = loadSuiteFile(suiteFile('{ midClass: B }', [EV], '{ midClass: C }')).suite.cases[0]!.criteria;
    expect(cr!.limit).toBe(midMpe({ midClass: 'C', current: 'itr-imax' }).mpePct);
  });

  it('without midClass the criterion is an input error at its line', () => {
    const [p] = problemsOf(suiteFile('{ matchToleranceS: 1 }', [EV]));
    expect(p).toMatchObject({ line: 10, field: 'cases[0].criteria[0].limitFrom' });
    expect(p!.message).toMatch(/needs the suite parameter midClass/);
  });

  it('an unknown class is an input error at the parameter', () => {
    const problems = problemsOf(suiteFile('{ midClass: D }', [EV]));
    expect(problems[0]).toMatchObject({
      line: 4,
      field: 'parameters.midClass',
      message: 'MID class must be A, B or C',
    });
  });

  it.each([
    [
      'a hand-written marginal',
      '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: itr-imax }, marginal: 1, unit: "%" }',
      'marginal',
      /marginalFraction/,
    ],
    [
      'a hand-written clause',
      '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: itr-imax }, clause: "class B", unit: "%" }',
      'clause',
      /citation/,
    ],
    [
      'both limit and limitFrom',
      '{ metric: energy.ev_error_pct_max, op: "<=", limit: 2, limitFrom: { table: mid.mpe, current: itr-imax }, unit: "%" }',
      'limit',
      /exactly one/,
    ],
    [
      'a floor op',
      '{ metric: energy.ev_error_pct_max, op: ">=", limitFrom: { table: mid.mpe, current: itr-imax }, unit: "%" }',
      'op',
      /<=, < or abs<=/,
    ],
    [
      'a fraction of 1',
      '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: itr-imax }, marginalFraction: 1, unit: "%" }',
      'marginalFraction',
      /less than 1|< ?1/,
    ],
    [
      'an unknown range',
      '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: itr-ist }, unit: "%" }',
      'limitFrom.current',
      /imin-itr|itr-imax/,
    ],
    [
      'no table cell',
      '{ metric: energy.ev_error_pct_max, op: "<=", limitFrom: { table: mid.mpe, current: imin-itr, load: polyphase-single-phase-load }, unit: "%" }',
      'limitFrom',
      /no MPE/,
    ],
    [
      'a ranged marginal outside the limit',
      '{ metric: latency.p99_s, op: between, limit: [0, 2], marginal: [0, 2.5], unit: s }',
      'marginal',
      /inside the limit/,
    ],
  ])('rejects %s', (_name, line, field, message) => {
    const problems = problemsOf(suiteFile('{ midClass: B }', [line]));
    const p = problems.find((x) => x.field === `cases[0].criteria[0].${field}`);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p!.message).toMatch(message);
  });
});

describe('built-in suites', () => {
  it.each(listBuiltinSuiteNames())(
    '%s: every MID-citing % limit comes from the table; marginals inside limits',
    (name) => {
      for (const c of resolveSuite(name).suite.cases) {
        for (const cr of c.criteria) {
          if (/\bMID\b/.test(cr.clause ?? '') && cr.unit === '%')
            expect(cr.source, `${c.id} ${cr.metric}`).toMatch(/^mid\.(mpe|critical-change)\[/);
          if (typeof cr.marginal === 'number' && typeof cr.limit === 'number') {
            const inside = cr.op.startsWith('>') ? cr.marginal >= cr.limit : cr.marginal <= cr.limit;
            expect(inside, `${c.id} ${cr.metric}`).toBe(true);
          }
        }
      }
    },
  );
});
