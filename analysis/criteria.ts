import type { Verdict } from '../core/record/types.js';

/**
 * A criterion compares one measured metric with a limit. `marginal` is a tighter inner limit (as in OpenHTF):
 * inside it PASS, between it and the limit MARGINAL, beyond the limit FAIL.
 */
export type Comparison = '<=' | '<' | '>=' | '>' | '==' | 'abs<=' | 'between';

export interface Criterion {
  metric: string;
  op: Comparison;
  /** A number, or [low, high] for `between`. */
  limit: number | [number, number];
  marginal?: number | [number, number];
  unit: string;
  /** The standard clause or bench requirement the limit comes from. */
  clause?: string;
  /** How a limit taken from a standards table was resolved (table, cell keys, value), for `bench suite show`. */
  source?: string;
}

export interface CriterionResult {
  metric: string;
  verdict: Verdict;
  measured?: number;
  limit: Criterion['limit'];
  marginal?: Criterion['marginal'];
  op: Comparison;
  unit: string;
  clause?: string;
  reason?: string;
}

export type Metrics = Readonly<Record<string, unknown>>;

function within(op: Comparison, value: number, bound: number | [number, number]): boolean {
  if (op === 'between') {
    const [lo, hi] = bound as [number, number];
    return value >= lo && value <= hi;
  }
  const b = bound as number;
  switch (op) {
    case '<=':
      return value <= b;
    case '<':
      return value < b;
    case '>=':
      return value >= b;
    case '>':
      return value > b;
    case '==':
      return value === b;
    case 'abs<=':
      return Math.abs(value) <= b;
  }
}

export function describeCriterion(c: Criterion): string {
  const fmt = (b: number | [number, number]) => (Array.isArray(b) ? `[${b[0]}, ${b[1]}]` : String(b));
  const marginal = c.marginal === undefined ? '' : ` (marginal ${fmt(c.marginal)})`;
  return `${c.metric} ${c.op} ${fmt(c.limit)} ${c.unit}${marginal}`.trim();
}

export function evaluateCriterion(c: Criterion, metrics: Metrics): CriterionResult {
  const base = { metric: c.metric, limit: c.limit, marginal: c.marginal, op: c.op, unit: c.unit, clause: c.clause };
  if (!(c.metric in metrics)) return { ...base, verdict: 'ERROR', reason: `metric ${c.metric} was not measured` };
  const raw = metrics[c.metric];
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    return { ...base, verdict: 'ERROR', reason: `metric ${c.metric} is not a finite number (${String(raw)})` };
  }
  if (!within(c.op, raw, c.limit)) return { ...base, measured: raw, verdict: 'FAIL' };
  if (c.marginal !== undefined && !within(c.op, raw, c.marginal)) {
    return { ...base, measured: raw, verdict: 'MARGINAL' };
  }
  return { ...base, measured: raw, verdict: 'PASS' };
}

/** Severity order used to combine verdicts: the worst wins. FAIL (the DUT is out of limits) outranks ERROR. */
const SEVERITY: Record<Verdict, number> = { PASS: 0, MARGINAL: 1, 'NOT RUN': 2, ERROR: 3, FAIL: 4 };

/**
 * Combines case (or criterion) verdicts. NOT RUN cases keep a run from being PASS: a certificate must not claim
 * coverage it does not have. An empty list is NOT RUN.
 */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) return 'NOT RUN';
  return verdicts.reduce((worst, v) => (SEVERITY[v] > SEVERITY[worst] ? v : worst), 'PASS' as Verdict);
}

export interface CaseEvaluation {
  verdict: Verdict;
  criteria: CriterionResult[];
  reason?: string;
}

export function evaluateCase(criteria: readonly Criterion[], metrics: Metrics): CaseEvaluation {
  const results = criteria.map((c) => evaluateCriterion(c, metrics));
  return { verdict: combineVerdicts(results.map((r) => r.verdict)), criteria: results };
}

export function notRun(criteria: readonly Criterion[], reason: string): CaseEvaluation {
  return {
    verdict: 'NOT RUN',
    reason,
    criteria: criteria.map((c) => ({
      metric: c.metric,
      op: c.op,
      limit: c.limit,
      marginal: c.marginal,
      unit: c.unit,
      clause: c.clause,
      verdict: 'NOT RUN' as const,
      reason,
    })),
  };
}
