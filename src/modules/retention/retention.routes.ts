import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import {
  CloseIncidentBodySchema,
  CreateHoldBodySchema,
  CreateIncidentBodySchema,
  HoldListQuerySchema,
  HoldListSchema,
  HoldParamsSchema,
  HoldSchema,
  IncidentListQuerySchema,
  IncidentListSchema,
  IncidentParamsSchema,
  IncidentSchema,
  PatchIncidentBodySchema,
  RetentionStatusSchema,
  RunSchema,
  toHoldDto,
  toIncidentDto,
  toRetentionStatusDto,
  toRunDto,
} from './retention.schemas.js';
import type { RetentionService } from './retention.service.js';

export interface RetentionRoutesOptions {
  retention: RetentionService;
}

/** DESIGN §10: holds are changed by governance leads and admins. */
const HOLD_MANAGERS = roles('governance_lead', 'admin');
const READERS = roles(...READ_ROLES);
const INCIDENTS = '/api/governance/eu-ai-act/incidents';

export const retentionRoutes: FastifyPluginAsyncZod<RetentionRoutesOptions> = async (app, { retention }) => {
  app.post(
    '/api/governance/holds',
    {
      config: { access: HOLD_MANAGERS },
      schema: {
        summary: 'Place a legal hold',
        description:
          'While a hold is active, the retention job purges nothing its scope covers: `all`, `decision:<decision_id>`, `actor:<actor>` (exact actor) or `period:<from>/<to>` (decisions created at or after `from` and before `to`). Ledgered as `legal_hold_created` (scope, SHA-256 of the reason, who). 404 when a `decision:` scope names an unknown decision.',
        tags: ['retention'],
        body: CreateHoldBodySchema,
        response: { 201: HoldSchema, ...errorResponses(400, 401, 403, 404, 415, 429, 503) },
      },
    },
    async (request, reply) => reply.status(201).send(toHoldDto(await retention.createHold(request.body, userPrincipal(request)))),
  );

  app.post(
    '/api/governance/holds/:hold_id/release',
    {
      config: { access: HOLD_MANAGERS },
      schema: {
        summary: 'Release a legal hold',
        description:
          'From now on the retention job may purge what only this hold kept. Ledgered as `legal_hold_released`. 409 `HOLD_RELEASED` (already released), `HOLD_OF_INCIDENT` (an Art 73 evidence hold: close the incident instead).',
        tags: ['retention'],
        params: HoldParamsSchema,
        response: { 200: HoldSchema, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
      },
    },
    async (request) => toHoldDto(await retention.releaseHold(request.params.hold_id, userPrincipal(request))),
  );

  app.get(
    '/api/governance/holds',
    {
      config: { access: READERS },
      schema: {
        summary: 'Legal holds, newest first',
        description: 'Filter `active=true|false`. Includes the evidence holds of Art 73 incidents (`incident_id` set).',
        tags: ['retention'],
        querystring: HoldListQuerySchema,
        response: { 200: HoldListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await retention.listHolds({
        active: q.active === undefined ? undefined : q.active === 'true',
        beforeId: q.cursor,
        limit: q.limit,
      });
      return { items: page.items.map(toHoldDto), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/governance/holds/:hold_id',
    {
      config: { access: READERS },
      schema: {
        summary: 'One legal hold',
        tags: ['retention'],
        params: HoldParamsSchema,
        response: { 200: HoldSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => toHoldDto(await retention.getHold(request.params.hold_id)),
  );

  app.get(
    '/api/governance/retention',
    {
      config: { access: READERS },
      schema: {
        summary: 'Retention settings and the last runs',
        description:
          '`LEXECON_RETENTION_DAYS`, the timer interval, what a run purges and never purges, the number of active holds and the last 10 runs.',
        tags: ['retention'],
        response: { 200: RetentionStatusSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async () => toRetentionStatusDto(await retention.status()),
  );

  app.post(
    '/api/governance/retention/run',
    {
      config: { access: roles('admin') },
      schema: {
        summary: 'Run the retention job now',
        description:
          'Deletes the raw decision payloads (context, user_intent, resource) older than `LEXECON_RETENTION_DAYS` that no active legal hold covers, and expired sessions, in batches. Never ledger entries, decisions rows or anything held. Ledgered as `retention_run` (counts purged/held, cutoff) in the transaction of the last deletes; earlier batches of a large purge each as `retention_batch`. The same run deletes the stored packages of evidence exports created before the cutoff that no active hold covers (a hold on everything, on an overlapping period, or on decisions created in the export\'s period), named in the `retention_run` entry (`export_files_removed`, `exports_held`) and deleted right after it commits; the export records stay. 409 `RETENTION_RUNNING` while a run is in progress.',
        tags: ['retention'],
        body: z.strictObject({}).nullish(),
        response: { 201: RunSchema, ...errorResponses(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(toRunDto(await retention.run({ trigger: 'api', requestedBy: userPrincipal(request).userId }))),
  );

  app.post(
    INCIDENTS,
    {
      config: { access: roles('governance_lead', 'admin', 'executive') },
      schema: {
        summary: 'Record an EU AI Act Art 73 serious incident',
        description:
          '`report_due_at` = `aware_at` + 15 days (`serious_incident`), 2 days (`widespread_infringement`, `critical_infrastructure`) or 10 days (`death`); an initial, incomplete report is allowed. While the incident is open an evidence hold (`incident:<id>`) keeps the payloads of the named decisions from retention. Ledgered as `incident_created` (ids, category, times, SHA-256 of title and description) and `legal_hold_created`, in one transaction. 404 when a decision id is unknown.',
        tags: ['eu-ai-act'],
        body: CreateIncidentBodySchema,
        response: { 201: IncidentSchema, ...errorResponses(400, 401, 403, 404, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const view = await retention.createIncident(
        { title: b.title, category: b.category, awareAt: b.aware_at, description: b.description, decisionIds: b.decision_ids },
        userPrincipal(request),
      );
      return reply.status(201).send(toIncidentDto(view));
    },
  );

  app.get(
    INCIDENTS,
    {
      config: { access: READERS },
      schema: {
        summary: 'Art 73 incidents, newest first',
        description: 'Filter `status=open|closed`. `report_overdue` is computed now.',
        tags: ['eu-ai-act'],
        querystring: IncidentListQuerySchema,
        response: { 200: IncidentListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await retention.listIncidents({ status: q.status, beforeId: q.cursor, limit: q.limit });
      return { items: page.items.map(toIncidentDto), next_cursor: page.nextCursor };
    },
  );

  app.get(
    `${INCIDENTS}/:incident_id`,
    {
      config: { access: READERS },
      schema: {
        summary: 'One Art 73 incident',
        tags: ['eu-ai-act'],
        params: IncidentParamsSchema,
        response: { 200: IncidentSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => toIncidentDto(await retention.getIncident(request.params.incident_id)),
  );

  app.patch(
    `${INCIDENTS}/:incident_id`,
    {
      config: { access: HOLD_MANAGERS },
      schema: {
        summary: "Record an incident's initial report",
        description:
          '`initial_report_submitted_at` (set once; not before `aware_at`, not in the future). Ledgered as `incident_report_submitted` with whether it met `report_due_at`. 409 `REPORT_RECORDED`.',
        tags: ['eu-ai-act'],
        params: IncidentParamsSchema,
        body: PatchIncidentBodySchema,
        response: { 200: IncidentSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request) =>
      toIncidentDto(
        await retention.recordInitialReport(request.params.incident_id, request.body.initial_report_submitted_at, userPrincipal(request)),
      ),
  );

  app.post(
    `${INCIDENTS}/:incident_id/close`,
    {
      config: { access: HOLD_MANAGERS },
      schema: {
        summary: 'Close an Art 73 incident',
        description:
          'Releases its evidence hold (retention may then purge the related payloads once they are past retention). Ledgered as `incident_closed` and `legal_hold_released`, in one transaction. 409 `INCIDENT_CLOSED`.',
        tags: ['eu-ai-act'],
        params: IncidentParamsSchema,
        body: CloseIncidentBodySchema.nullish(),
        response: { 200: IncidentSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request) =>
      toIncidentDto(await retention.closeIncident(request.params.incident_id, request.body?.notes, userPrincipal(request))),
  );
};
