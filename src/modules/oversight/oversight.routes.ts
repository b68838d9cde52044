import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { idPattern } from '../../platform/ids.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { HUMAN_ROLES, STOP_ROLES } from '../auth/roles.js';
import type { InterventionService } from './intervention.service.js';
import type { OversightMetricsService } from './oversight-metrics.service.js';
import type { OversightService } from './oversight.service.js';
import {
  HaltStatusSchema,
  InterventionListQuerySchema,
  InterventionListSchema,
  InterventionSchema,
  OversightMetricsQuerySchema,
  OversightMetricsSchema,
  ReasonBodySchema,
  toHaltDto,
  toInterventionDto,
} from './oversight.schemas.js';

export interface OversightRoutesOptions {
  oversight: OversightService;
  interventions: InterventionService;
  metrics: OversightMetricsService;
}

export const oversightRoutes: FastifyPluginAsyncZod<OversightRoutesOptions> = async (app, { oversight, interventions, metrics }) => {
  app.get(
    '/api/governance/oversight/metrics',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Is human oversight effective? Override rate, time to resolution, SLA breaches, rubber stamps',
        description:
          'Over a window (default the last 30 days): decisions, overrides and the override rate, escalations opened and resolved, the median time from opening to resolution, SLA breaches, and per reviewer the approvals made faster than `LEXECON_RUBBER_STAMP_S` seconds after they could have read the case (their acknowledgement, else the opening): a rubber-stamp rate.',
        tags: ['oversight'],
        querystring: OversightMetricsQuerySchema,
        response: { 200: OversightMetricsSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => metrics.metrics(request.query.since, request.query.until),
  );

  app.post(
    '/api/governance/stop',
    {
      config: { access: roles(...STOP_ROLES) },
      schema: {
        summary: 'Stop: halt every decision',
        description:
          'From now on every `POST /decide` answers 200 `denied` with reason `halted`, escalation approvals and overrides that would mint a token answer 409 `HALTED`, and every capability token whose issuing ledger entry precedes the stop\'s entry (`tokens_invalid_before`, a ledger seq: ledger order, not clocks) fails verification for good with `revoked_by_stop` (resuming does not revive them). A signed intervention record (who, role, when, reason, the state shown), ledgered as `intervention`; the halt survives restarts. 201 with the new status and the stop\'s `intervention_id`; 409 `ALREADY_HALTED`.',
        tags: ['oversight'],
        body: ReasonBodySchema,
        response: { 201: HaltStatusSchema, ...errorResponses(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) => reply.status(201).send(toHaltDto(await oversight.stop(request.body.reason, userPrincipal(request)))),
  );

  app.post(
    '/api/governance/resume',
    {
      config: { access: roles('executive', 'admin') },
      schema: {
        summary: 'Resume decisions after a stop',
        description:
          'Decisions are evaluated again; tokens issued before the stop stay invalid, tokens issued from now on (above the stop\'s seq) are valid. A signed intervention record, ledgered as `intervention`. 201 with the new status and the resume\'s `intervention_id`; 409 `NOT_HALTED`.',
        tags: ['oversight'],
        body: ReasonBodySchema,
        response: { 201: HaltStatusSchema, ...errorResponses(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) => reply.status(201).send(toHaltDto(await oversight.resume(request.body.reason, userPrincipal(request)))),
  );

  app.get(
    '/api/governance/status',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Whether decisions are halted',
        tags: ['oversight'],
        response: { 200: HaltStatusSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async () => toHaltDto(await oversight.status()),
  );

  app.get(
    '/api/governance/interventions',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Signed intervention records',
        description:
          'Stops, resumes, overrides, override confirmations and escalation resolutions, newest first, each with `verification` (its Ed25519 signature checked now against the key named by `kid`).',
        tags: ['oversight'],
        querystring: InterventionListQuerySchema,
        response: { 200: InterventionListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await interventions.list({ kind: q.kind, decisionId: q.decision_id, beforeId: q.cursor, limit: q.limit });
      return { items: page.items.map(toInterventionDto), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/governance/interventions/:intervention_id',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'One signed intervention record, verified',
        tags: ['oversight'],
        params: z.object({ intervention_id: z.string().regex(idPattern('int'), 'must be an intervention id (int_…)') }),
        response: { 200: InterventionSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => toInterventionDto(await interventions.get(request.params.intervention_id)),
  );
};
