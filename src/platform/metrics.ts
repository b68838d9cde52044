import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { PUBLIC } from './access.js';
import { secretsEqual } from './crypto/secrets-equal.js';
import { errorResponses, errors } from './errors.js';

/** One registry per app instance, so that tests can build many apps side by side. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsOptions {
  registry: Registry;
  token: string | undefined;
}

/**
 * HTTP request counter and latency histogram, labelled by route template (never the raw URL, so the
 * label set stays bounded), and the `GET /metrics` exposition route.
 */
export function installMetrics(app: FastifyInstance, { registry, token }: MetricsOptions): void {
  const requests = new Counter({
    name: 'lexecon_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'lexecon_http_request_duration_seconds',
    help: 'HTTP request latency, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  registerMetricsRoute(app, registry, token);
}

function registerMetricsRoute(app: FastifyInstance, registry: Registry, token: string | undefined): void {
  app.route({
    method: 'GET',
    url: '/metrics',
    // Anonymous at the guard; the handler checks LEXECON_METRICS_TOKEN when it is set (DESIGN §7).
    config: { access: PUBLIC },
    schema: {
      summary: 'Prometheus metrics',
      description:
        'Prometheus text exposition. Anonymous unless LEXECON_METRICS_TOKEN is set; then send it as a bearer token.',
      tags: ['operations'],
      response: { 200: z.string(), ...errorResponses(401) },
    },
    handler: async (request, reply) => {
      if (token !== undefined) {
        const header = request.headers.authorization ?? '';
        const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
        if (!secretsEqual(presented, token)) throw errors.unauthorized('A valid metrics bearer token is required');
      }
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  });
}
