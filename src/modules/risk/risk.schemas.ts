import { z } from 'zod';
import { RISK_LEVELS } from '../policy/policy.model.js';
import { RISK_DIMENSIONS, type RiskDimension } from './risk.engine.js';

const Score = z.number().int().min(0).max(100);

/** Risk dimensions present, each 0–100. */
export const RiskDimensionsSchema = z
  .object(Object.fromEntries(RISK_DIMENSIONS.map((d) => [d, Score.optional()])) as Record<RiskDimension, z.ZodOptional<typeof Score>>)
  .strict();

/** One recorded contribution to a risk score (see `RiskFactor` in risk.engine.ts). */
export const RiskFactorSchema = z.object({
  source: z.enum(['data_class', 'action_verb', 'action_bulk', 'policy_term', 'explicit', 'risk_level_floor']),
  key: z.string(),
  dimension: z.enum(RISK_DIMENSIONS).optional(),
  value: z.number().int(),
});

/** The risk part of a decision. */
export const DecisionRiskSchema = z.object({
  overall_score: z.number().int().min(1).max(100),
  risk_level: z.enum(RISK_LEVELS),
  dimensions: RiskDimensionsSchema,
  factors: z.array(RiskFactorSchema).describe('every contributing factor: the score can be recomputed from them'),
  requires_escalation: z.boolean().describe('overall_score ≥ 80'),
});
