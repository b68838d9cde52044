import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { principalId, roles, userPrincipal } from '../auth/auth.guard.js';
import { HUMAN_ROLES } from '../auth/roles.js';
import { CONTROL_STATUSES, EVIDENCE_KINDS, PRIMITIVES } from './compliance.model.js';
import { controlMarkdown, coverageMarkdown, frameworkMarkdown, frameworksMarkdown } from './compliance.markdown.js';
import { MIN_SCOPE_JUSTIFICATION, type ComplianceService } from './compliance.service.js';

export interface ComplianceRoutesOptions {
  compliance: ComplianceService;
}

const MARKDOWN = 'text/markdown; charset=utf-8';

const ReadQuerySchema = z
  .object({
    format: z.enum(['json', 'markdown']).default('json').describe('`markdown` answers text/markdown (so does `Accept: text/markdown`)'),
    refresh: z.enum(['true', 'false']).default('false').describe('`true` re-verifies the ledger now instead of using the cached verification'),
  })
  .strict();

const FrameworkParamsSchema = z.object({ framework_id: z.string().min(1).max(64) });
const ControlParamsSchema = z.object({
  framework_id: z.string().min(1).max(64),
  control_id: z.string().min(1).max(64).describe('URL-encoded: ids hold dots, spaces and parentheses (`Art%2014(4)(e)`)'),
});

const CoverageSchema = z
  .object({
    total: z.number().int(),
    satisfied: z.number().int(),
    not_satisfied: z.number().int(),
    manual: z.number().int(),
    not_applicable: z.number().int(),
    automated_satisfied_percent: z.number().nullable(),
  })
  .meta({ id: 'ComplianceCoverageCounts' });

const EvidenceSchema = z
  .object({ kind: z.enum(EVIDENCE_KINDS), holds: z.boolean(), detail: z.string(), checked_at: z.string() })
  .meta({ id: 'ComplianceEvidence' });

const ControlSchema = z
  .object({
    control_id: z.string(),
    title: z.string(),
    kind: z.enum(['control', 'clause']),
    primitives: z.array(z.object({ primitive: z.enum(PRIMITIVES), partial: z.boolean() })),
    status: z.enum(CONTROL_STATUSES),
    reason: z.string().nullable(),
    evidence: z.array(EvidenceSchema),
    checked_at: z.string(),
  })
  .meta({ id: 'ComplianceControl' });

const FrameworkSummarySchema = z
  .object({
    framework_id: z.string(),
    name: z.string(),
    version: z.string(),
    source: z.string(),
    in_scope: z.boolean(),
    scope: z
      .object({ justification: z.string().nullable(), changed_by: z.string(), changed_at: z.string(), ledger_seq: z.number().int() })
      .nullable(),
    coverage: CoverageSchema,
    checked_at: z.string(),
  })
  .meta({ id: 'ComplianceFrameworkSummary' });

const FrameworkSchema = FrameworkSummarySchema.extend({ controls: z.array(ControlSchema) }).meta({ id: 'ComplianceFramework' });

const CoverageReportSchema = z
  .object({
    checked_at: z.string(),
    totals: CoverageSchema,
    frameworks: z.array(z.object({ framework_id: z.string(), name: z.string(), in_scope: z.boolean(), coverage: CoverageSchema })),
    evidence: z.array(EvidenceSchema),
  })
  .meta({ id: 'ComplianceCoverage' });

const ScopeBodySchema = z
  .object({
    in_scope: z.boolean(),
    justification: z.string().max(2000).optional().describe(`required (≥ ${MIN_SCOPE_JUSTIFICATION} characters) when in_scope is false`),
  })
  .strict();

/** `?format=markdown`, or an Accept header that prefers text/markdown. */
function wantsMarkdown(request: FastifyRequest, format: 'json' | 'markdown'): boolean {
  return format === 'markdown' || /^\s*text\/markdown/i.test(request.headers.accept ?? '');
}

function markdown(reply: FastifyReply, text: string): FastifyReply {
  return reply.type(MARKDOWN).send(text);
}

const READ = roles(...HUMAN_ROLES);
const READ_ERRORS = errorResponses(400, 401, 403, 404, 429);

export const complianceRoutes: FastifyPluginAsyncZod<ComplianceRoutesOptions> = async (app, { compliance }) => {
  app.get(
    '/api/governance/compliance/frameworks',
    {
      config: { access: READ },
      schema: {
        summary: 'Compliance frameworks with their coverage',
        description:
          'Every framework of the registry (SOC 2, ISO/IEC 27001:2022, GDPR, HIPAA, PCI DSS 4.0.1, NIST CSF 2.0, EU AI Act, ISO/IEC 42001:2023, NIST AI RMF 1.0) with its scope and the count of its controls per computed status. `?format=markdown` answers a table.',
        tags: ['compliance'],
        querystring: ReadQuerySchema,
        response: { 200: z.object({ items: z.array(FrameworkSummarySchema) }), ...READ_ERRORS },
      },
    },
    async (request, reply) => {
      const items = await compliance.frameworks({ refresh: request.query.refresh === 'true' });
      if (wantsMarkdown(request, request.query.format)) return markdown(reply, frameworksMarkdown(items, items[0]?.checked_at ?? ''));
      return { items };
    },
  );

  app.get(
    '/api/governance/compliance/frameworks/:framework_id',
    {
      config: { access: READ },
      schema: {
        summary: 'One framework with the computed status of each control',
        description:
          'Each control: `satisfied` when every evidence kind behind it holds, `not_satisfied` (with the failing evidence as `reason`) when one does not, `manual` when Lexecon holds no automated evidence for it, `not_applicable` when the framework is out of scope. 404 for an unknown framework.',
        tags: ['compliance'],
        params: FrameworkParamsSchema,
        querystring: ReadQuerySchema,
        response: { 200: FrameworkSchema, ...READ_ERRORS },
      },
    },
    async (request, reply) => {
      const report = await compliance.framework(request.params.framework_id, { refresh: request.query.refresh === 'true' });
      if (wantsMarkdown(request, request.query.format)) return markdown(reply, frameworkMarkdown(report));
      return report;
    },
  );

  app.get(
    '/api/governance/compliance/frameworks/:framework_id/controls/:control_id',
    {
      config: { access: READ },
      schema: {
        summary: 'One control with its evidence',
        description:
          'The control’s status, the primitives that evidence it and each evidence kind with whether it holds, why, and when it was checked. Control ids contain dots, spaces and parentheses: URL-encode them (`encodeURIComponent`). 404 for an unknown framework or control.',
        tags: ['compliance'],
        params: ControlParamsSchema,
        querystring: ReadQuerySchema,
        response: { 200: ControlSchema.extend({ framework_id: z.string() }), ...READ_ERRORS },
      },
    },
    async (request, reply) => {
      const control = await compliance.control(request.params.framework_id, request.params.control_id, {
        refresh: request.query.refresh === 'true',
      });
      if (wantsMarkdown(request, request.query.format)) return markdown(reply, controlMarkdown(control));
      return control;
    },
  );

  app.get(
    '/api/governance/compliance/coverage',
    {
      config: { access: READ },
      schema: {
        summary: 'Coverage across frameworks',
        description:
          'Counts per status for each framework and in total, the share of automated controls that are satisfied, and every evidence kind with its current result.',
        tags: ['compliance'],
        querystring: ReadQuerySchema,
        response: { 200: CoverageReportSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const report = await compliance.coverage({ refresh: request.query.refresh === 'true' });
      if (wantsMarkdown(request, request.query.format)) return markdown(reply, coverageMarkdown(report));
      return report;
    },
  );

  app.patch(
    '/api/governance/compliance/frameworks/:framework_id',
    {
      config: { access: roles('governance_lead', 'admin') },
      schema: {
        summary: 'Mark a framework in or out of scope',
        description: `Out of scope needs a \`justification\` of at least ${MIN_SCOPE_JUSTIFICATION} characters; every control of an out-of-scope framework is then \`not_applicable\` and no gap is reported for it. Stored and ledgered as \`compliance_scope_changed\` (with the justification’s SHA-256, not its text). 200 with the framework summary.`,
        tags: ['compliance'],
        params: FrameworkParamsSchema,
        body: ScopeBodySchema,
        response: { 200: FrameworkSummarySchema, ...errorResponses(400, 401, 403, 404, 415, 429, 503) },
      },
    },
    async (request) =>
      compliance.setScope(
        request.params.framework_id,
        { inScope: request.body.in_scope, justification: request.body.justification },
        principalId(userPrincipal(request)),
      ),
  );
};
