import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/errors.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import { toInterventionDto } from '../oversight/oversight.schemas.js';
import {
  CreateEscalationBodySchema,
  EscalationDetailSchema,
  EscalationListQuerySchema,
  EscalationListSchema,
  EscalationParamsSchema,
  EscalationSchema,
  ResolutionResultSchema,
  ResolveBodySchema,
  toEscalationDto,
  toEscalationListItemDto,
  toHistoryDto,
  ViolationsQuerySchema,
} from './escalation.schemas.js';
import type { EscalationService } from './escalation.service.js';

export interface EscalationRoutesOptions {
  escalations: EscalationService;
}

const BASE = '/api/governance/escalation';

export const escalationRoutes: FastifyPluginAsyncZod<EscalationRoutesOptions> = async (app, { escalations }) => {
  const sla = () =>
    Object.entries(escalations.settings.slaHours)
      .map(([p, h]) => `${p} ${h} h`)
      .join(', ');

  app.post(
    BASE,
    {
      config: { access: roles('agent', 'approver', 'executive', 'admin') },
      schema: {
        summary: 'Escalate a decision to humans',
        description: `Opens a pending case for a decision (POST /decide opens one by itself for every escalated decision). \`priority\` defaults to the decision's risk level; the SLA deadline is now + the priority's hours (as configured by \`LEXECON_ESCALATION_SLA_HOURS\`: ${sla()}). \`escalated_to\` defaults to the first role of the escalation chain. The caller opens and assigns the case (\`opened_by\`, \`assigned_by\`) and may never acknowledge nor resolve it. An agent asks for review only of decisions whose actor its key's pattern allows (403 \`ACTOR_NOT_ALLOWED\`) and may set neither \`escalated_to\`, \`priority\` nor a \`trigger\` other than \`manual\` (403 \`AGENT_MAY_NOT_CHOOSE\`, naming the fields); its \`context_summary\` is kept as its claim (\`context_summary_source: agent_claim\`). A case may be opened for a denied decision, but it can only end denied, deferred or escalated further: an escalation never approves a denial (that is an override's job). At most one escalation per decision: 409 \`ALREADY_ESCALATED\`. Ledgered as \`escalation_created\`, in the same transaction. 201 with the case.`,
        tags: ['escalations'],
        body: CreateEscalationBodySchema,
        response: { 201: EscalationSchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const created = await escalations.create(
        {
          decisionId: b.decision_id,
          trigger: b.trigger,
          priority: b.priority,
          escalatedTo: b.escalated_to,
          contextSummary: b.context_summary,
        },
        request.principal!,
      );
      return reply.status(201).send(toEscalationDto(created, escalations.now()));
    },
  );

  app.get(
    BASE,
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'List escalations',
        description:
          'Newest first. Each case with its decision\'s `actor`, `proposed_action` and `tool` (read for the whole page in one query). Filters: `status` (`pending`, `acknowledged`, `resolved`, or `open` for the first two), `priority`, `decision_id`, `assigned_to_me=true` (escalated to your user id or your role), `overdue=true` (open and past the SLA deadline). Cursor pagination: pass `next_cursor` as `cursor`.',
        tags: ['escalations'],
        querystring: EscalationListQuerySchema,
        response: { 200: EscalationListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await escalations.list({
        status: q.status,
        priority: q.priority,
        decisionId: q.decision_id,
        assignedTo: q.assigned_to_me === 'true' ? userPrincipal(request) : undefined,
        overdue: q.overdue === 'true',
        beforeId: q.cursor,
        limit: q.limit,
      });
      const now = escalations.now();
      return { items: page.items.map((i) => toEscalationListItemDto(i.escalation, i.subject, now)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    `${BASE}/sla/violations`,
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'Open escalations past their SLA deadline',
        description:
          'Most overdue first, each case with its decision\'s `actor`, `proposed_action` and `tool`. The SLA monitor moves an overdue case to the next level of the chain with a new deadline, so this lists mainly cases at the top of the chain and cases the monitor has not reached yet; `sla_missed` counts every deadline a case has missed. Cursor pagination: pass `next_cursor` as `cursor`.',
        tags: ['escalations'],
        querystring: ViolationsQuerySchema,
        response: { 200: EscalationListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const page = await escalations.violations(request.query.limit, request.query.cursor);
      const now = escalations.now();
      return { items: page.items.map((i) => toEscalationListItemDto(i.escalation, i.subject, now)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    `${BASE}/:escalation_id`,
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'One escalation, with what a reviewer needs to judge it',
        description:
          "The case, the decision under review (reason, explanation, risk with every factor, effective outcome, overrides, and the request's `user_intent` and `data_classes` as `GET /decide/:decision_id` shows them: null with `request_purged: true` once retention purged the request) and the case's history, oldest first, each step naming its ledger entry.",
        tags: ['escalations'],
        params: EscalationParamsSchema,
        response: { 200: EscalationDetailSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const d = await escalations.get(request.params.escalation_id);
      return {
        ...toEscalationDto(d.escalation, escalations.now()),
        decision: d.decision,
        history: d.history.map(toHistoryDto),
        interventions: d.interventions.map(toInterventionDto),
      };
    },
  );

  app.post(
    `${BASE}/:escalation_id/acknowledge`,
    {
      config: { access: roles('approver', 'executive', 'admin') },
      schema: {
        summary: 'Acknowledge an escalation',
        description:
          'The session user takes the case up: an assigned user (listed by id or holding a listed role), an executive or an admin (403 `NOT_ASSIGNED` otherwise), never the one who opened or assigned the case (403 `SELF_RESOLUTION`). The status becomes `acknowledged`; the SLA keeps running. 409 `ALREADY_ACKNOWLEDGED`, `ALREADY_RESOLVED`. Ledgered as `escalation_acknowledged`.',
        tags: ['escalations'],
        params: EscalationParamsSchema,
        response: { 200: EscalationSchema, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
      },
    },
    async (request) =>
      toEscalationDto(await escalations.acknowledge(request.params.escalation_id, userPrincipal(request)), escalations.now()),
  );

  app.post(
    `${BASE}/:escalation_id/resolve`,
    {
      config: { access: roles('approver', 'executive', 'admin') },
      schema: {
        summary: 'Resolve an escalation',
        description:
          "The resolver is the session user: an assigned user (listed by id or holding a listed role), an executive or an admin (403 `NOT_ASSIGNED` otherwise), never the one who opened the case or put it with its current reviewers (`opened_by`, `assigned_by`: 403 `SELF_RESOLUTION`). A case of a decision whose outcome was `denied` (a forbids, an unmet requirement, a stop, no policy…) can never be approved: 409 `DENIAL_NEEDS_OVERRIDE` (changing a denial is an override's job, with its role, justification and two-person rule). Nor is one whose approval would break separation of duties: judged at the resolution, under the policy version the decision was made with and with its stored request, against the actor's approvals then (and again in the resolution's transaction), an approval that gives the actor approvals on both sides of a `conflicts` relation inside its window is 409 `CONFLICTS_WITH_APPROVAL` (naming the relation and the approving decision; an override is the deliberate exception); when the request was purged by retention the check cannot be made: 409 `APPROVAL_UNCHECKABLE`. `approved` and `denied` set the decision's effective outcome; `deferred` closes the case and leaves the decision escalated (not allowed); all three are final (409 `ALREADY_RESOLVED` afterwards) and ledgered as `escalation_resolved`. An approval mints the decision's capability token (unless it has one), which the agent reads at `GET /decide/:decision_id`; while decisions are halted an approval is refused with 409 `HALTED`. A denial revokes a token the decision holds. `escalated_further` moves the case to the next level of the escalation chain with a new SLA (ledgered as `escalation_escalated`; 409 `CHAIN_EXHAUSTED` at the top). Every resolution is a signed intervention record (its id is `intervention_id`) naming who opened and who assigned the case. 201.",
        tags: ['escalations'],
        params: EscalationParamsSchema,
        body: ResolveBodySchema,
        response: { 201: ResolutionResultSchema, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const r = await escalations.resolve(request.params.escalation_id, request.body, userPrincipal(request));
      return reply.status(201).send({
        ...toEscalationDto(r.escalation, escalations.now()),
        intervention_id: r.interventionId,
        effective_outcome: r.effectiveOutcome,
        token_jti: r.tokenJti,
        token_revoked: r.tokenRevoked,
      });
    },
  );
};
