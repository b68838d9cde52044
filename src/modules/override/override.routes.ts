import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/errors.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import { CONFIRMATION_WINDOW_HOURS, MAX_OVERRIDE_DAYS, MIN_JUSTIFICATION } from './override.model.js';
import {
  CreateOverrideBodySchema,
  OverrideListQuerySchema,
  OverrideListSchema,
  OverrideParamsSchema,
  OverrideSchema,
  OverrideVerdictBodySchema,
  toOverrideDto,
} from './override.schemas.js';
import type { OverrideService } from './override.service.js';

export interface OverrideRoutesOptions {
  overrides: OverrideService;
}

/** Who may override, confirm and reject (DESIGN §7: executives; admins may do everything). */
const DECIDERS = roles('executive', 'admin');

export const overrideRoutes: FastifyPluginAsyncZod<OverrideRoutesOptions> = async (app, { overrides }) => {
  app.post(
    '/api/governance/override',
    {
      config: { access: DECIDERS },
      schema: {
        summary: "Override a decision's effective outcome",
        description: [
          `The session user (never a body field: a body naming \`authorized_by\` is refused) changes the decision's effective outcome to \`new_outcome\`, with a justification of at least ${MIN_JUSTIFICATION} characters, optionally until \`expires_at\` (at most ${MAX_OVERRIDE_DAYS} days ahead). The decision's own outcome stays as it was; the latest override in effect wins.`,
          `With \`LEXECON_OVERRIDE_TWO_PERSON=true\` the override is \`pending_confirmation\` and changes nothing until a second, different executive or admin confirms it (within ${CONFIRMATION_WINDOW_HOURS} h); otherwise it is \`active\` at once.`,
          'Taking effect to `denied` or `escalated` revokes the decision\'s capability token (`token_revoked`); to `approved` or `conditional` it mints one when the decision has none (a revoked token is not replaced). A signed intervention record (who, role, when, the justification, what was shown), ledgered as `override_created`.',
          '409: `OUTCOME_UNCHANGED` (already the effective outcome), `OVERRIDE_PENDING` (another override of the decision waits for confirmation), `HALTED` (allowing an action while decisions are halted).',
        ].join('\n\n'),
        tags: ['overrides'],
        body: CreateOverrideBodySchema,
        response: { 201: OverrideSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const view = await overrides.create(
        {
          decisionId: b.decision_id,
          newOutcome: b.new_outcome,
          justification: b.justification,
          overrideType: b.override_type,
          expiresAt: b.expires_at,
          conditions: b.conditions,
        },
        userPrincipal(request),
      );
      return reply.status(201).send(toOverrideDto(view));
    },
  );

  app.post(
    '/api/governance/override/:override_id/confirm',
    {
      config: { access: DECIDERS },
      schema: {
        summary: 'Confirm a pending override (two-person rule)',
        description:
          "A second executive or admin, not the one who asked for it, makes the override take effect (with its token effects), as a signed `override_confirmation` record, ledgered as `override_confirmed`. 403 `SAME_PERSON`; 409 `NOT_PENDING` (active, expired, rejected: confirming twice), `OVERRIDE_EXPIRED` (lapsed unconfirmed), `OVERRIDE_STALE` (the decision's effective outcome is no longer the one the override was asked against), `HALTED`.",
        tags: ['overrides'],
        params: OverrideParamsSchema,
        body: OverrideVerdictBodySchema,
        response: { 201: OverrideSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(toOverrideDto(await overrides.confirm(request.params.override_id, request.body.justification, userPrincipal(request)))),
  );

  app.post(
    '/api/governance/override/:override_id/reject',
    {
      config: { access: DECIDERS },
      schema: {
        summary: 'Reject (or withdraw) a pending override',
        description:
          'An executive or admin refuses a pending override; its author may withdraw it. It never takes effect. A signed `override_rejection` record, ledgered as `override_rejected`. 409 `NOT_PENDING`, `OVERRIDE_EXPIRED`.',
        tags: ['overrides'],
        params: OverrideParamsSchema,
        body: OverrideVerdictBodySchema,
        response: { 201: OverrideSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(toOverrideDto(await overrides.reject(request.params.override_id, request.body.justification, userPrincipal(request)))),
  );

  app.get(
    '/api/governance/override',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'Overrides, newest first',
        description:
          'Filters: `decision_id`, `status` (as of now), `authorized_by`. Each override comes with its signed intervention records and their `verification`.',
        tags: ['overrides'],
        querystring: OverrideListQuerySchema,
        response: { 200: OverrideListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await overrides.list({
        decisionId: q.decision_id,
        status: q.status,
        authorizedBy: q.authorized_by,
        beforeId: q.cursor,
        limit: q.limit,
      });
      return { items: page.items.map(toOverrideDto), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/governance/override/:override_id',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'One override, with its signed records verified',
        tags: ['overrides'],
        params: OverrideParamsSchema,
        response: { 200: OverrideSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => toOverrideDto(await overrides.get(request.params.override_id)),
  );
};
