import type { IdFactory } from '../../platform/ids.js';
import { principalId, type Principal } from '../auth/auth.guard.js';
import { assertMayActFor } from '../auth/actor-binding.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { evaluate } from '../policy/policy.engine.js';
import type { PolicyService } from '../policy/policy.service.js';
import { assessRisk, termRiskFromMetadata, type RequestRiskLevel, type RiskAssessment, type RiskVector } from './risk.engine.js';

export interface RiskServiceDeps {
  policies: PolicyService;
  events: EventSink;
  ids: IdFactory;
}

export interface AssessInput {
  decisionId?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  dataClasses?: readonly string[] | undefined;
  riskLevel?: RequestRiskLevel | undefined;
  dimensions?: RiskVector | undefined;
}

export interface AssessmentRecord extends RiskAssessment {
  assessmentId: string;
  /** The active policy whose factor table and term annotations took part, if any. */
  policyVersionHash: string | null;
}

/**
 * Risk assessments on request (`POST /api/governance/risk/assess`): the pure risk engine fed with the
 * request, the active policy's factor table (its `risk_factors`, else the default) and `metadata.risk` on
 * the terms the request matches, and explicit dimensions; each assessment is ledgered (`risk_assessed`)
 * with every factor, so it can be recomputed.
 */
export class RiskService {
  constructor(private readonly deps: RiskServiceDeps) {}

  async assess(input: AssessInput, principal: Principal): Promise<AssessmentRecord> {
    if (input.actor !== undefined) assertMayActFor(principal, input.actor);
    // The policy's factor table scores the action and the data classes; explicit dimensions need no policy.
    const usesPolicy = input.action !== undefined || input.dataClasses !== undefined;
    const active = usesPolicy ? await this.deps.policies.active() : undefined;
    const termRisks: Array<{ termId: string; risk: RiskVector }> = [];
    if (active && input.action !== undefined) {
      const result = evaluate(active.compiled, {
        actor: input.actor ?? '',
        action: input.action,
        data_classes: input.dataClasses,
      });
      const terms = new Map(active.compiled.policy.terms.map((t) => [t.term_id, t]));
      for (const id of result.matched_terms) {
        const risk = termRiskFromMetadata(terms.get(id)?.metadata);
        if (risk) termRisks.push({ termId: id, risk });
      }
    }
    const assessment = assessRisk({
      action: input.action ?? '',
      dataClasses: input.dataClasses,
      riskLevel: input.riskLevel,
      termRisks,
      dimensions: input.dimensions,
      table: active?.compiled.factorTable,
    });
    const record: AssessmentRecord = {
      ...assessment,
      assessmentId: this.deps.ids.next('rsk'),
      policyVersionHash: active?.versionHash ?? null,
    };
    await this.deps.events.append('risk_assessed', {
      assessment_id: record.assessmentId,
      decision_id: input.decisionId ?? null,
      actor: input.actor ?? null,
      action: input.action ?? null,
      policy_version_hash: record.policyVersionHash,
      overall_score: record.overall_score,
      risk_level: record.risk_level,
      dimensions: record.dimensions,
      factors: record.factors,
      requested_by: principalId(principal),
    });
    return record;
  }
}
