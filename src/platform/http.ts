import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { errors } from './errors.js';
import { installSecurityHeaders } from './http-security-headers.js';
// NOTE: for the type of `request.principal`, which the auth module's guard sets before route hooks run.
import type {} from '../modules/auth/auth.guard.js';

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Use the caller's `X-Request-Id` when it is well-formed, else a fresh id. */
export function requestIdGenerator(fresh: () => string) {
  return (req: { headers: Record<string, string | string[] | undefined> }): string => {
    const incoming = req.headers['x-request-id'];
    return typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : fresh();
  };
}

/** Security headers, CORS, rate limiting, request id echo, and JSON as the only body type. */
export async function registerHttpPlatform(app: FastifyInstance, config: Config): Promise<void> {
  // Bodies are JSON only: anything else is answered 415 rather than parsed into a string.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // helmet's default headers, as constants (see http-security-headers.ts).
  installSecurityHeaders(app);
  if (config.corsOrigins !== undefined) {
    await app.register(cors, {
      origin: config.corsOrigins === '*' ? true : config.corsOrigins,
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  }
  // Registered whenever any limit is on: routes with their own `config.rateLimit` (login) are limited
  // even when the global per-client limit is off.
  if (config.rateLimitRpm > 0 || config.login.ratePerMinute > 0) {
    await app.register(rateLimit, {
      global: config.rateLimitRpm > 0,
      max: config.rateLimitRpm,
      // Per principal where there is one (DESIGN §8): the limiter runs as a route hook, after the auth
      // guard has set `request.principal`; anonymous requests count per client address.
      keyGenerator: (request) => {
        const p = request.principal;
        if (p) return p.kind === 'agent' ? `key:${p.keyId}` : `user:${p.userId}`;
        return `ip:${request.ip}`;
      },
      timeWindow: 60_000,
      errorResponseBuilder: (_request, context) => errors.tooManyRequests(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  }
}
