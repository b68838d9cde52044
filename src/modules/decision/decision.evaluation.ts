/**
 * Pure parts of a decision's evaluation, split from decision.service.ts: the results when nothing decides
 * (the stop button pressed, no policy loaded) and the risk annotations of a compiled policy's terms.
 */
import type { CompiledPolicy } from '../policy/policy.compile.js';
import type { EvaluationResult } from '../policy/policy.model.js';
import { termRiskFromMetadata, type RiskVector } from '../risk/risk.engine.js';

/** Term risk annotations per compiled policy: term id → its `metadata.risk`. */
const termRisks = new WeakMap<CompiledPolicy, Map<string, RiskVector>>();

export function riskAnnotations(compiled: CompiledPolicy): Map<string, RiskVector> {
  let map = termRisks.get(compiled);
  if (!map) {
    map = new Map();
    for (const t of compiled.policy.terms) {
      const risk = termRiskFromMetadata(t.metadata);
      if (risk) map.set(t.term_id, risk);
    }
    termRisks.set(compiled, map);
  }
  return map;
}

/** While the stop button is pressed every decision is denied with reason `halted` (DESIGN §10). */
export function haltedResult(): EvaluationResult {
  return {
    outcome: 'denied',
    reason: 'halted',
    mode: 'strict',
    matched: [],
    conditions: [],
    default_applied: false,
    escalation_triggers: [],
    matched_terms: [],
  };
}

/** With no policy loaded, nothing is allowed (fail closed); the decision is still recorded. */
export function noPolicyResult(): EvaluationResult {
  return {
    outcome: 'denied',
    reason: 'No policy is loaded: every action is denied until one is (POST /policies/load)',
    mode: 'strict',
    matched: [],
    conditions: [],
    default_applied: true,
    escalation_triggers: [],
    matched_terms: [],
  };
}
