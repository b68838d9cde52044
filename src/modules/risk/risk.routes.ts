import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, errors } from '../../platform/errors.js';
import { idPattern } from '../../platform/ids.js';
import { roles } from '../auth/auth.guard.js';
import { RISK_LEVELS } from '../policy/policy.model.js';
import { RiskDimensionsSchema, RiskFactorSchema } from './risk.schemas.js';
import type { RiskService } from './risk.service.js';

export interface RiskRoutesOptions {
  risk: RiskService;
}

const AssessBodySchema = z
  .object({
    decision_id: z.string().regex(idPattern('dec'), 'must be a decision id (dec_…)').optional(),
    actor: z.string().min(1).max(255).optional(),
    action: z.string().min(1).max(512).optional(),
    data_classes: z.array(z.string().min(1).max(64)).max(64).optional(),
    risk_level: z.number().int().min(1).max(5).optional().describe('a floor: 1 → 1, 2 → 30, 3 → 50, 4 → 60, 5 → 80'),
    dimensions: RiskDimensionsSchema.optional().describe('explicit dimension values (0–100) that take part in the max'),
  })
  .strict();

const AssessmentSchema = z
  .object({
    assessment_id: z.string(),
    overall_score: z.number().int(),
    risk_level: z.enum(RISK_LEVELS),
    dimensions: RiskDimensionsSchema,
    factors: z.array(RiskFactorSchema),
    requires_escalation: z.boolean(),
    policy_version_hash: z.string().nullable(),
  })
  .meta({ id: 'RiskAssessment' });

export const riskRoutes: FastifyPluginAsyncZod<RiskRoutesOptions> = async (app, { risk }) => {
  app.post(
    '/api/governance/risk/assess',
    {
      config: { access: roles('governance_lead', 'admin', 'agent') },
      schema: {
        summary: 'Assess the risk of an action',
        description:
          'Six dimensions from the active policy’s factor table (`risk_factors`, else the default of DESIGN §4: data classes, the action verb, `bulk`), the active policy’s `metadata.risk` on the terms the request matches, and explicit `dimensions`; the overall score is their truncated weighted mean, floored by `risk_level`. Every factor is returned and ledgered (`risk_assessed`). An agent key may assess only for actors its pattern allows (403 `ACTOR_NOT_ALLOWED`). With `decision_id` the assessment is about that decision and its actor (an explicit `actor` must be the same); an unknown decision, or for an agent one whose actor its key does not allow, is 404.',
        tags: ['risk'],
        body: AssessBodySchema,
        response: { 201: AssessmentSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.action === undefined && b.dimensions === undefined && b.data_classes === undefined) {
        throw errors.validation('Invalid body', [
          { in: 'body', field: '(root)', message: 'send at least one of action, data_classes, dimensions', code: 'custom' },
        ]);
      }
      const r = await risk.assess(
        {
          decisionId: b.decision_id,
          actor: b.actor,
          action: b.action,
          dataClasses: b.data_classes,
          riskLevel: b.risk_level as 1 | 2 | 3 | 4 | 5 | undefined,
          dimensions: b.dimensions,
        },
        request.principal!,
      );
      return reply.status(201).send({
        assessment_id: r.assessmentId,
        overall_score: r.overall_score,
        risk_level: r.risk_level,
        dimensions: r.dimensions,
        factors: r.factors,
        requires_escalation: r.requires_escalation,
        policy_version_hash: r.policyVersionHash,
      });
    },
  );
};
