import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/errors.js';
import { roles, userPrincipal } from '../auth/auth.guard.js';
import { HUMAN_ROLES } from '../auth/roles.js';
import { technicalDocumentationMarkdown, type SystemProfileContent } from './annex-iv.js';
import { article12Markdown, article14Markdown } from './reports.markdown.js';
import type { EuAiActService } from './eu-ai-act.service.js';
import {
  Article12Schema,
  Article14Schema,
  ProfileVersionsQuerySchema,
  SystemProfileBodySchema,
  SystemProfileListSchema,
  SystemProfileSchema,
  TechnicalDocumentationQuerySchema,
  TechnicalDocumentationSchema,
  TestRunBodySchema,
  TestRunSchema,
  WindowQuerySchema,
} from './eu-ai-act.schemas.js';

export interface EuAiActRoutesOptions {
  euAiAct: EuAiActService;
}

const CHANGERS = roles('governance_lead', 'admin');
const MARKDOWN = 'text/markdown; charset=utf-8';

/** `?format=markdown`, or an Accept header that prefers text/markdown. */
function wantsMarkdown(request: FastifyRequest, format: 'json' | 'markdown'): boolean {
  return format === 'markdown' || /^\s*text\/markdown/i.test(request.headers.accept ?? '');
}

/** Markdown text; the JSON response schema does not apply to it (a string payload is sent as is). */
function sendText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type(MARKDOWN).send(text);
}

export const euAiActRoutes: FastifyPluginAsyncZod<EuAiActRoutesOptions> = async (app, { euAiAct }) => {
  app.get(
    '/api/governance/eu-ai-act/system-profile',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'The governed AI system profile (current version)',
        description: 'Provider, system name and version, intended purpose, classification, deployment forms and the manual Annex IV inputs, with the version and its SHA-256. 404 before the first PUT.',
        tags: ['eu-ai-act'],
        response: { 200: SystemProfileSchema, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async () => euAiAct.profile(),
  );

  app.put(
    '/api/governance/eu-ai-act/system-profile',
    {
      config: { access: CHANGERS },
      schema: {
        summary: 'Store a new version of the governed AI system profile',
        description:
          'Every PUT stores a new immutable version (SHA-256 over its canonical JSON), ledgered as `system_profile_updated` with the version and hash (never the text). Annex IV inputs are keyed `1.a`…`9`, each `{text?, document_sha256?}` or `{not_applicable_justification}`; point 7 text may not name a draft standard. 200 with the stored version.',
        tags: ['eu-ai-act'],
        body: SystemProfileBodySchema,
        response: { 200: SystemProfileSchema, ...errorResponses(400, 401, 403, 415, 429, 503) },
      },
    },
    async (request) => euAiAct.updateProfile(request.body as SystemProfileContent, userPrincipal(request)),
  );

  app.get(
    '/api/governance/eu-ai-act/system-profile/versions',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Every version of the system profile, newest first',
        tags: ['eu-ai-act'],
        querystring: ProfileVersionsQuerySchema,
        response: { 200: SystemProfileListSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await euAiAct.profileVersions(q.cursor === undefined ? undefined : Number(q.cursor), q.limit);
      return { items: page.items, next_cursor: page.nextCursor };
    },
  );

  app.post(
    '/api/governance/eu-ai-act/test-runs',
    {
      config: { access: CHANGERS },
      schema: {
        summary: 'Run and record a signed policy test run (Annex IV 2.g)',
        description:
          'Runs the cases (the `lexecon test-policy` format) against a stored policy version (default: the active one), signs the record with the Ed25519 key and stores it, ledgered as `policy_test_recorded`. 201 with the run, its cases and `verified`. 404 for an unknown version, 409 `NO_ACTIVE_POLICY`.',
        tags: ['eu-ai-act'],
        body: TestRunBodySchema,
        response: { 201: TestRunSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await euAiAct.recordTestRun({ policyVersionHash: request.body.policy_version_hash, cases: request.body.cases }, userPrincipal(request))),
  );

  app.get(
    '/api/governance/eu-ai-act/technical-documentation',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Art 11 technical documentation (Annex IV), JSON or Markdown',
        description:
          'Every Annex IV key with its status (`generated`, `manual_input_required`, `not_applicable`); generated items are read from live data (version chain, oversight configuration, signed test runs, risk register, change log, post-market metrics). Legal basis and date of application follow the classification. `document_sha256` is the SHA-256 of the canonical JSON of the document without `document_sha256` and `generated_at`: identical data give the same hash. `?format=markdown` (or `Accept: text/markdown`) answers Markdown. 409 `SYSTEM_PROFILE_MISSING` before the first profile.',
        tags: ['eu-ai-act'],
        querystring: TechnicalDocumentationQuerySchema,
        response: { 200: TechnicalDocumentationSchema, ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { document, documentSha256, generatedAt } = await euAiAct.technicalDocumentation(request.query.as_of);
      if (wantsMarkdown(request, request.query.format)) {
        return sendText(reply, technicalDocumentationMarkdown(document, { documentSha256, generatedAt }));
      }
      return { document_sha256: documentSha256, generated_at: generatedAt, ...document };
    },
  );

  app.get(
    '/api/governance/eu-ai-act/article-12',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Art 12 record-keeping: event taxonomy, counts per purpose, retention, holds, ledger verification',
        description:
          'Every ledger event type tagged with its Art 12(2) purposes ((a) risk situations and substantial modification, (b) post-market monitoring, (c) deployer monitoring) and counted over the window (default the last 30 days), the counts per purpose, the retention setting against its 183-day floor, the active legal holds, and the ledger verified now. `?format=markdown` answers a report for a compliance officer (summary, tables of the counts per purpose and event type, retention and holds, the integrity of the record, what it does not show).',
        tags: ['eu-ai-act'],
        querystring: WindowQuerySchema,
        response: { 200: Article12Schema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const report = await euAiAct.article12(request.query.since, request.query.until);
      if (wantsMarkdown(request, request.query.format)) return sendText(reply, article12Markdown(report));
      return report;
    },
  );

  app.get(
    '/api/governance/eu-ai-act/article-14',
    {
      config: { access: roles(...HUMAN_ROLES) },
      schema: {
        summary: 'Art 14 human oversight: the measures per Art 14(4)(a)–(e) with their configuration and figures',
        description:
          'Over the window (default the last 30 days): escalations opened and resolved, SLA breaches, the median time to resolution, overrides and the override rate, rubber-stamp approvals and rate, stops and resumes, decisions by outcome. `?format=markdown` answers a report for a compliance officer (summary, each Art 14(4) point with its measures, configuration and figures explained, what needs attention).',
        tags: ['eu-ai-act'],
        querystring: WindowQuerySchema,
        response: { 200: Article14Schema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const report = await euAiAct.article14(request.query.since, request.query.until);
      if (wantsMarkdown(request, request.query.format)) return sendText(reply, article14Markdown(report));
      return report;
    },
  );
};
