import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/errors.js';
import { assertMayActFor } from '../auth/actor-binding.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import { POLICY_LIMITS } from './policy.document.schema.js';
import type { NormalizedPolicy } from './policy.model.js';
import {
  EvaluateBodySchema,
  EvaluateResponseSchema,
  LoadResponseSchema,
  PolicyDetailSchema,
  PolicyDocumentBodySchema,
  PolicyListSchema,
  PolicyParamsSchema,
  toVersionDto,
  VersionListSchema,
} from './policy.schemas.js';
import type { PolicyService } from './policy.service.js';

export interface PolicyRoutesOptions {
  policies: PolicyService;
}

/** DESIGN §8: policy documents may be up to 10 MiB. */
export const POLICY_BODY_LIMIT = 10 * 1024 * 1024;

const AUTHORS = roles('governance_lead', 'admin');
/** A dry run: policy authors, and agent keys for the actors their pattern allows (as POST /decide). */
const EVALUATORS = roles('governance_lead', 'admin', 'agent');
const READERS = roles(...READ_ROLES);

export const policyRoutes: FastifyPluginAsyncZod<PolicyRoutesOptions> = async (app, { policies }) => {
  app.post(
    '/policies/load',
    {
      // A policy document may nest as deep as the loader allows (it reports deeper ones with a JSON path),
      // plus the optional `{"policy": …}` wrapper.
      config: { access: AUTHORS, bodyDepth: POLICY_LIMITS.depth + 1 },
      bodyLimit: POLICY_BODY_LIMIT,
      schema: {
        summary: 'Load a policy and make it active',
        description:
          'Validates the whole document (400 `POLICY_INVALID` lists every problem with a JSON path, and the active policy stays as it was), normalizes it, stores the version immutably, makes it active for the next decision and ledgers `policy_loaded`. Loading the active version again changes nothing (200, `activated: false`). Also accepts `{"policy": {…}}`.',
        tags: ['policies'],
        body: PolicyDocumentBodySchema,
        response: { 200: LoadResponseSchema, 201: LoadResponseSchema, ...errorResponses(400, 401, 403, 413, 429, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const document = isWrapped(body) ? body.policy : body;
      const report = await policies.load(document, userPrincipal(request).userId);
      return reply.status(report.activated ? 201 : 200).send({
        policy_id: report.policyId,
        version_hash: report.versionHash,
        mode: report.mode,
        terms_loaded: report.termsLoaded,
        relations_loaded: report.relationsLoaded,
        warnings: report.warnings,
        created: report.created,
        activated: report.activated,
      });
    },
  );

  app.get(
    '/policies',
    {
      config: { access: READERS },
      schema: {
        summary: 'Policies, each with its latest version, and the active version',
        tags: ['policies'],
        response: { 200: PolicyListSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async () => {
      const { policies: items, active } = await policies.summaries();
      return {
        items: items.map((p) => ({
          policy_id: p.policyId,
          name: p.name,
          latest_version_hash: p.latestVersionHash,
          latest_loaded_at: p.latestLoadedAt,
          versions: p.versions,
          active: p.policyId === active?.policyId,
        })),
        active_version_hash: active?.versionHash ?? null,
      };
    },
  );

  app.get(
    '/policies/:policy_id',
    {
      config: { access: READERS },
      schema: {
        summary: 'A policy: its active version if it is the active policy, else its latest, in full',
        tags: ['policies'],
        params: PolicyParamsSchema,
        response: { 200: PolicyDetailSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const versions = await policies.versions(request.params.policy_id);
      const activeHash = await policies.activeHash();
      const shown = versions.find((v) => v.versionHash === activeHash) ?? versions[0]!;
      const policy = JSON.parse(shown.document) as NormalizedPolicy;
      return {
        ...toVersionDto(shown, activeHash),
        policy_id: shown.policyId,
        name: shown.name,
        warnings: shown.warnings,
        terms: policy.terms,
        relations: policy.relations,
        risk_factors: policy.risk_factors ?? null,
      };
    },
  );

  app.get(
    '/policies/:policy_id/versions',
    {
      config: { access: READERS },
      schema: {
        summary: 'Every stored version of a policy, newest first, with its hash',
        tags: ['policies'],
        params: PolicyParamsSchema,
        response: { 200: VersionListSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const versions = await policies.versions(request.params.policy_id);
      const activeHash = await policies.activeHash();
      return { policy_id: request.params.policy_id, items: versions.map((v) => toVersionDto(v, activeHash)) };
    },
  );

  app.post(
    '/policies/evaluate',
    {
      config: { access: EVALUATORS },
      schema: {
        summary: 'Dry-run a request against the active policy or a stored version',
        description:
          "The full explanation: outcome, reason, every matched relation and the part it played, conditions, the terms the request matched. No ledger entry, no token. Policy authors, and agent API keys for the actors their key's pattern allows (403 `ACTOR_NOT_ALLOWED`, the check of POST /decide): an MCP gateway uses it to hide the tools the policy forbids.",
        tags: ['policies'],
        body: EvaluateBodySchema,
        response: { 200: EvaluateResponseSchema, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      assertMayActFor(request.principal!, request.body.actor);
      const { version_hash: versionHash, ...evaluation } = request.body;
      const { policy, versionHash: hash, result } = await policies.evaluate(evaluation, versionHash);
      return { policy_id: policy.policy_id, version_hash: hash, ...result };
    },
  );
};

function isWrapped(body: Record<string, unknown>): body is { policy: Record<string, unknown> } {
  return typeof body.policy === 'object' && body.policy !== null && !Array.isArray(body.policy) && body.terms === undefined;
}
