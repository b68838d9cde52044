import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { PUBLIC } from './access.js';
import { VERSION } from './version.js';

/** OpenAPI 3 document built from the routes' zod schemas, Swagger UI at `/docs`, the document at `/openapi.json`. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lexecon',
        description:
          'Governance engine for AI agents: deterministic policy decisions with recomputable risk scores, signed capability tokens, ' +
          'a tamper-evident hash-chained ledger, human oversight (escalations with SLAs, overrides with an optional two-person rule, ' +
          'stop and resume as signed interventions, oversight metrics) and compliance (control statuses computed from live evidence ' +
          'for the EU AI Act, GDPR, HIPAA, ISO 27001/42001, NIST AI RMF/CSF, PCI DSS and SOC 2; EU AI Act Art 11 technical ' +
          'documentation and Art 12/14 reports; signed evidence exports; retention with legal holds).',
        version: VERSION,
        license: { name: 'MIT' },
      },
      tags: [
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'ledger', description: 'The tamper-evident, hash-chained ledger' },
        { name: 'auth', description: 'Login, sessions, MFA and OIDC' },
        { name: 'users', description: 'User administration and agent API keys (admin)' },
        { name: 'policies', description: 'Policy versions, loading and dry runs' },
        { name: 'risk', description: 'Risk assessment' },
        { name: 'keys', description: 'Public keys for offline verification' },
        { name: 'decisions', description: 'POST /decide and the decisions made' },
        { name: 'tokens', description: 'Capability token verification and revocation' },
        { name: 'escalations', description: 'Human review of escalated decisions, with SLAs' },
        { name: 'overrides', description: 'Audited overrides of decisions (two-person rule optional)' },
        { name: 'oversight', description: 'Stop and resume, signed interventions, oversight metrics' },
        { name: 'compliance', description: 'Framework controls with statuses computed from evidence' },
        { name: 'eu-ai-act', description: 'System profile, Art. 11 documentation, Art. 12/14 reports, Art. 73 incidents' },
        { name: 'retention', description: 'Retention runs and legal holds' },
        { name: 'evidence', description: 'Signed BagIt evidence exports' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A session token (`lxs_…`, from POST /auth/login) or an agent API key (`lxk_…`).',
          },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // Swagger UI's own routes (page, assets, document) are public: declared here, in their own scope.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: PUBLIC };
    });
    await scope.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
  });
  app.get('/openapi.json', { config: { access: PUBLIC }, schema: { hide: true } }, async () => app.swagger());
}
