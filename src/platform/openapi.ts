import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { VERSION } from './version.js';

/** OpenAPI 3 document built from the routes' zod schemas, Swagger UI at `/docs`, the document at `/openapi.json`. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lexecon',
        description:
          'Governance engine for AI agents: deterministic policy decisions, a hash-chained ledger, signed capability tokens.',
        version: VERSION,
        license: { name: 'MIT' },
      },
      tags: [
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'ledger', description: 'The tamper-evident, hash-chained ledger' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
