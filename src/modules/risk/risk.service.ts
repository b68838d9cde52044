import { errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { principalId, type Principal } from '../auth/auth.guard.js';
import { assertMayActFor, mayActFor } from '../auth/actor-binding.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { evaluate } from '../policy/policy.engine.js';
import type { PolicyService } from '../policy/policy.service.js';
import { assessRisk, termRiskFromMetadata, type RequestRiskLevel, type RiskAssessment, type RiskVector } from './risk.engine.js';

/** What risk assessments need to know of decisions: the actor of a stored one. */
export interface DecisionActors {
  /** The actor a decision was made for, or undefined when no such decision exists. */
  actorOf(decisionId: string): Promise<string | undefined>;
}

export interface RiskServiceDeps {
  policies: PolicyService;
  decisions: DecisionActors;
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
    const actor = input.decisionId === undefined ? input.actor : await this.decisionActor(input.decisionId, input.actor, principal);
    // The policy's factor table scores the action and the data classes; explicit dimensions need no policy.
    const usesPolicy = input.action !== undefined || input.dataClasses !== undefined;
    const active = usesPolicy ? await this.deps.policies.active() : undefined;
    const termRisks: Array<{ termId: string; risk: RiskVector }> = [];
    if (active && input.action !== undefined) {
      const result = evaluate(active.compiled, {
        actor: actor ?? '',
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
      actor: actor ?? null,
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

  /**
   * The actor of the decision an assessment is about. A decision the caller may not see is answered
   * like an unknown one (404), so that ids do not reveal decisions: an agent sees only decisions of
   * actors its key allows. An explicit `actor` must be the decision's.
   */
  private async decisionActor(decisionId: string, actor: string | undefined, principal: Principal): Promise<string> {
    const decided = await this.deps.decisions.actorOf(decisionId);
    if (decided === undefined || !mayActFor(principal, decided)) throw errors.notFound('Decision', decisionId);
    if (actor !== undefined && actor !== decided) {
      throw errors.validation('Invalid body', [
        { in: 'body', field: 'actor', message: `must be the actor of decision '${decisionId}' (or be left out)`, code: 'custom' },
      ]);
    }
    return decided;
  }
}
