import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses, errors } from '../../platform/errors.js';
import { mayActFor } from '../auth/actor-binding.js';
import { roles, type Principal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import type { TokenService } from '../tokens/tokens.service.js';
import { ReceiptSchema } from '../transparency/receipt.js';
import type { ReceiptService } from '../transparency/receipts.service.js';
import type { DecisionChanges } from './decision.changes.js';
import {
  DecideBodySchema,
  DecisionGetQuerySchema,
  DecisionListQuerySchema,
  DecisionListSchema,
  DecisionDetailSchema,
  DecisionParamsSchema,
  DecisionResponseSchema,
} from './decision.schemas.js';
import type { DecisionDetailDto, DecisionRecordDto } from './decision.schemas.js';
import type { DecisionService } from './decision.service.js';
import { decisionDetailJson } from './decision.json.js';

export interface DecisionRoutesOptions {
  decisions: DecisionService;
  tokens: TokenService;
  /** Notices of resolutions and overrides, for `?wait=N`. */
  changes: DecisionChanges;
  /** Decision receipts (issue 19): the entry, its inclusion proof and the signed checkpoint. */
  receipts: ReceiptService;
}

/** Whether a long-poll should wait: the decision is escalated and its case still open. */
const awaitingReview = (d: DecisionRecordDto) =>
  d.effective_outcome === 'escalated' && d.escalation !== null && d.escalation.status !== 'resolved';

/**
 * An agent reads only the decisions its own key asked for, for actors its key allows; any other id
 * looks unknown (404), so that ids do not leak. Humans read every decision.
 */
function assertMayRead(principal: Principal, record: DecisionRecordDto): void {
  if (principal.kind !== 'agent') return;
  if (record.requested_by !== principal.keyId || !mayActFor(principal, record.actor)) {
    throw errors.notFound('Decision', record.decision_id);
  }
}

/**
 * Send JSON text as it is: Fastify serialises no string payload whose content-type is set (the route's
 * response schema still documents it). The content-type is the one Fastify writes for JSON.
 */
function sendJsonText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text);
}

const utc = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

export const decisionRoutes: FastifyPluginAsyncZod<DecisionRoutesOptions> = async (app, { decisions, tokens, changes, receipts }) => {
  app.post(
    '/decide',
    {
      config: { access: roles('agent', 'admin') },
      schema: {
        summary: 'Decide whether an agent may act',
        description:
          'Evaluates the active policy (DESIGN §4), scores the risk, applies the mode rules and the ≥ 80 escalation rule, and answers `approved`, `denied`, `escalated` or `conditional`, always with status 200. The decision and its `decision` ledger entry (and, when escalated, the escalation and its `escalation_created` entry) are committed in one transaction before the answer; approved and conditional decisions carry an Ed25519-signed capability token bound to the entry hash. With no policy loaded everything is denied. A repeated `request_id` from the same caller answers the original decision (header `idempotent-replayed: true`) and writes nothing; reusing it for a different request is 409 `REQUEST_ID_REUSED`. An API key may decide only for actors its pattern allows (403 `ACTOR_NOT_ALLOWED`).',
        tags: ['decisions'],
        body: DecideBodySchema,
        response: { 200: DecisionResponseSchema, ...errorResponses(400, 401, 403, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const { decision, replayed, json } = await decisions.decide(request.body, request.principal!);
      if (replayed) reply.header('idempotent-replayed', 'true');
      // A new decision's text was written once, with the copy stored (decision.json.ts: the same bytes as
      // the 200 schema's serializer, which documents it). A JSON string payload is sent as it is.
      if (json !== undefined) return sendJsonText(reply, json);
      return decision;
    },
  );

  app.get(
    '/decide',
    {
      config: { access: roles(...READ_ROLES) },
      schema: {
        summary: 'List decisions',
        description:
          'Newest first: by `timestamp`, then decision id (the order of the ids unless the clock was set back). Filters: `actor` (exact), `outcome`, `since` (at or after), `until` (before). Cursor pagination: pass `next_cursor` as `cursor`.',
        tags: ['decisions'],
        querystring: DecisionListQuerySchema,
        response: { 200: DecisionListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = await decisions.listJson({
        actor: q.actor,
        outcome: q.outcome,
        since: utc(q.since),
        until: utc(q.until),
        beforeId: q.cursor,
        limit: q.limit,
      });
      // Hand-serialised (decision.record.ts toRecordJson: the 200 schema's serializer's bytes, which it documents).
      return sendJsonText(reply, page);
    },
  );

  app.get(
    '/decide/:decision_id',
    {
      config: { access: roles(...READ_ROLES, 'agent') },
      schema: {
        summary: 'One decision, with its effective outcome',
        description:
          'The decision as answered, its escalation, overrides, and `effective_outcome` (after escalation resolution or an active override; equal to `outcome` otherwise), with what the agent asked with: `user_intent` and `data_classes` as it sent them, read from the stored raw request, both null with `request_purged: true` once retention purged that request (neither is in `POST /decide`\'s answer nor in `GET /decide`\'s items). Humans see the capability token\'s `jti`, expiry and revocation, never the token string. An agent may read only the decisions its own API key asked for (any other id answers 404, as an unknown one does), and sees `capability_token`: the token string once one exists, e.g. after a reviewer approved its escalated decision. `wait=N` (0–30 s): while the decision is escalated and its case open, answer as soon as a resolution or an override is committed, or after N seconds, whichever comes first; the answer is the state at that moment, and only if the caller still has access then (its API key or session is checked again after the wait: 401 when it was revoked meanwhile, 403 when its role no longer may read).',
        tags: ['decisions'],
        params: DecisionParamsSchema,
        querystring: DecisionGetQuerySchema,
        response: { 200: DecisionDetailSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const id = request.params.decision_id;
      // A long-poll registers its waiter BEFORE the read: a notice committed while the read is under way
      // wakes it instead of being missed (the read is a query, an await).
      const waiting = request.query.wait > 0 ? new AbortController() : undefined;
      const woken = waiting && changes.waitFor(id, request.query.wait * 1000, waiting.signal);
      let record: DecisionDetailDto;
      try {
        record = await decisions.detail(id);
        assertMayRead(request.principal!, record);
      } catch (err) {
        waiting?.abort();
        throw err;
      }
      if (woken !== undefined && awaitingReview(record)) {
        await woken;
        // The caller may have lost its access while it waited (API key revoked, session ended, role
        // changed): check everything again before answering, and never hand a token to a revoked key.
        await request.reauthorize();
        record = await decisions.detail(id);
        assertMayRead(request.principal!, record);
      } else {
        waiting?.abort();
      }
      const principal = request.principal!;
      if (principal.kind === 'agent') record = { ...record, capability_token: (await tokens.tokenForDecision(id))?.token ?? null };
      return sendJsonText(reply, decisionDetailJson(record));
    },
  );
  app.get(
    '/decide/:decision_id/receipt',
    {
      config: { access: roles(...READ_ROLES, 'agent') },
      schema: {
        summary: "A decision's receipt: its ledger entry, inclusion proof and signed checkpoint",
        description:
          'A self-contained bundle (`format: "lexecon-receipt/v1"`) that proves offline that the decision is in the signed transparency log: the decision\'s ledger entry exactly as `GET /ledger/entries/:entry_id` serves it, its RFC 9162 inclusion proof (`leaf_index` = its seq, base64 hashes) in the Merkle tree of the latest stored checkpoint (`tree_size`), that checkpoint\'s C2SP signed note, and the Ed25519 key that signed it (`public_key` as `GET /api/governance/keys` lists it, and its C2SP `verifier_key`). Verify it with `lexecon verify-receipt`. Read as `GET /decide/:decision_id`: every human role, and an agent only for the decisions its own API key asked for (any other id answers 404, as an unknown one does). 409 `RECEIPT_NOT_READY` while no checkpoint covers the entry yet (details: the checkpoint\'s and the integrated tree\'s sizes; a checkpoint is cut every `LEXECON_CHECKPOINT_INTERVAL_S` when the tree grew, or with `POST /ledger/checkpoints`).',
        tags: ['decisions'],
        params: DecisionParamsSchema,
        response: { 200: ReceiptSchema, ...errorResponses(400, 401, 403, 404, 409, 429, 500) },
      },
    },
    async (request) => {
      const id = request.params.decision_id;
      const record = await decisions.detail(id);
      assertMayRead(request.principal!, record);
      return receipts.receipt(id, record.ledger.seq);
    },
  );
};
