/**
 * Decision rules for statements of conformity (ILAC-G8:09/2019; ISO 14253-1:2017 for the guarded bands): what a
 * measured error e with expanded uncertainty U says against a maximum permissible error MPE. The one place the
 * rules are written: the metrology analysis and the reports name them from here.
 */
export const DECISION_RULES = ['guarded', 'simple'] as const;
export type DecisionRule = (typeof DECISION_RULES)[number];

/** ILAC-G8's non-binary statement of one result (its four zones around the tolerance limit). */
export type ConformityStatement = 'pass' | 'conditional pass' | 'conditional fail' | 'fail';

export const DECISION_RULE_TEXT: Record<DecisionRule, { title: string; clause: string; accepts: string }> = {
  guarded: {
    title: 'guarded acceptance (guard band w = U)',
    clause: 'ILAC-G8:09/2019 (guarded acceptance, w = U) / ISO 14253-1:2017',
    accepts: 'a result is accepted only when |e| + U ≤ MPE (a plain pass); a conditional pass is not accepted',
  },
  simple: {
    title: 'simple acceptance (w = 0)',
    clause: 'ILAC-G8:09/2019 (simple acceptance, w = 0)',
    accepts: 'a result is accepted when |e| ≤ MPE, whatever its uncertainty',
  },
};

/** ILAC-G8's statement for an error, its expanded uncertainty and the limit (all in %). */
export function conformityStatement(errorPct: number, expandedPct: number, mpePct: number): ConformityStatement {
  const e = Math.abs(errorPct);
  if (e + expandedPct <= mpePct) return 'pass';
  if (e <= mpePct) return 'conditional pass';
  if (e - expandedPct <= mpePct) return 'conditional fail';
  return 'fail';
}

/** Whether the rule accepts the result. */
export function acceptedUnder(rule: DecisionRule, errorPct: number, expandedPct: number, mpePct: number): boolean {
  return rule === 'guarded'
    ? conformityStatement(errorPct, expandedPct, mpePct) === 'pass'
    : Math.abs(errorPct) <= mpePct;
}

export function parseDecisionRule(value: unknown): DecisionRule {
  if ((DECISION_RULES as readonly unknown[]).includes(value)) return value as DecisionRule;
  throw new Error(`decisionRule must be ${DECISION_RULES.join(' or ')}, not ${String(value)}`);
}
