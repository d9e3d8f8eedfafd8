import { describe, expect, it } from 'vitest';
import {
  type Criterion,
  combineVerdicts,
  evaluateCase,
  evaluateCriterion,
  notRun,
} from '../../../analysis/criteria.js';
import type { Verdict } from '../../../core/record/types.js';

const c = (op: Criterion['op'], limit: Criterion['limit'], marginal?: Criterion['marginal']): Criterion => ({
  metric: 'm',
  op,
  limit,
  marginal,
  unit: '1',
});

describe('evaluateCriterion', () => {
  it.each<[Criterion, unknown, Verdict]>([
    [c('<=', 2), 1.9, 'PASS'],
    [c('<=', 2), 2, 'PASS'],
    [c('<=', 2), 2.01, 'FAIL'],
    [c('<=', 2, 1.5), 1.5, 'PASS'],
    [c('<=', 2, 1.5), 1.7, 'MARGINAL'],
    [c('<=', 2, 1.5), 2.5, 'FAIL'],
    [c('<', 2), 2, 'FAIL'],
    [c('>=', 0.95, 0.98), 0.99, 'PASS'],
    [c('>=', 0.95, 0.98), 0.96, 'MARGINAL'],
    [c('>=', 0.95, 0.98), 0.9, 'FAIL'],
    [c('>', 0), 0, 'FAIL'],
    [c('==', 0), 0, 'PASS'],
    [c('==', 0), 1, 'FAIL'],
    [c('abs<=', 2, 1), -0.5, 'PASS'],
    [c('abs<=', 2, 1), -1.5, 'MARGINAL'],
    [c('abs<=', 2, 1), -2.5, 'FAIL'],
    [c('between', [1, 3], [1.5, 2.5]), 2, 'PASS'],
    [c('between', [1, 3], [1.5, 2.5]), 1.2, 'MARGINAL'],
    [c('between', [1, 3], [1.5, 2.5]), 3.2, 'FAIL'],
    [c('<=', 2), Number.NaN, 'ERROR'],
    [c('<=', 2), '1', 'ERROR'],
    [c('<=', 2), null, 'ERROR'],
  ])('%j with %s → %s', (criterion, value, verdict) => {
    const result = evaluateCriterion(criterion, { m: value });
    expect(result.verdict).toBe(verdict);
    if (verdict !== 'ERROR') expect(result.measured).toBe(value);
    else expect(result.reason).toMatch(/m/);
  });

  it('is ERROR when the metric is missing, naming it', () => {
    const r = evaluateCriterion(c('<=', 1), {});
    expect(r).toMatchObject({ verdict: 'ERROR', reason: 'metric m was not measured' });
  });
});

describe('combineVerdicts', () => {
  it.each<[Verdict[], Verdict]>([
    [[], 'NOT RUN'],
    [['PASS', 'PASS'], 'PASS'],
    [['PASS', 'MARGINAL'], 'MARGINAL'],
    [['PASS', 'NOT RUN'], 'NOT RUN'],
    [['MARGINAL', 'ERROR'], 'ERROR'],
    [['ERROR', 'FAIL', 'PASS'], 'FAIL'],
  ])('%j → %s', (verdicts, expected) => {
    expect(combineVerdicts(verdicts)).toBe(expected);
  });
});

describe('evaluateCase / notRun', () => {
  it('takes the worst criterion', () => {
    const e = evaluateCase([c('<=', 2), c('>=', 1)], { m: 1.5 });
    expect(e.verdict).toBe('PASS');
    const f = evaluateCase([{ ...c('<=', 2) }, { ...c('<=', 2), metric: 'x' }], { m: 1.5 });
    expect(f.verdict).toBe('ERROR');
  });
  it('marks every criterion NOT RUN with the reason', () => {
    const e = notRun([c('<=', 2)], 'rig lacks ev.cp');
    expect(e.verdict).toBe('NOT RUN');
    expect(e.criteria[0]).toMatchObject({ verdict: 'NOT RUN', reason: 'rig lacks ev.cp' });
  });
});
