import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { PUBLIC } from '../../src/platform/access.js';
import { errorResponses } from '../../src/platform/errors.js';
import { bearer, buildTestApp, createTestUser, seedSession, type TestApp } from '../helpers/build-test-app.js';

const REQ_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Routes that exist only in this test, to drive the platform's body parsing and error handling. */
function addProbeRoutes(t: TestApp): void {
  const app = t.app as FastifyInstance;
  t.db.exec('CREATE TABLE probe (name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n >= 0)) STRICT');
  app.post(
    '/probe/echo',
    {
      config: { access: PUBLIC },
      schema: {
        body: z.object({ name: z.string().min(2), count: z.number().int().min(0), tags: z.array(z.string()).max(2) }),
        response: { 200: z.object({ name: z.string(), count: z.number() }), ...errorResponses(400, 413, 415) },
      },
    },
    async (request) => {
      const body = request.body as { name: string; count: number };
      return { name: body.name, count: body.count };
    },
  );
  app.post('/probe/insert', { config: { access: PUBLIC } }, async (request, reply) => {
    const { name, n } = request.body as { name: string | null; n: number };
    t.db.prepare('INSERT INTO probe (name, n) VALUES (?, ?)').run(name, n);
    return reply.status(201).send({ ok: true });
  });
  app.get('/probe/boom', { config: { access: PUBLIC } }, async () => {
    throw new Error('secret internal detail: /etc/lexecon/keys');
  });
}

describe('platform over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    addProbeRoutes(t);
  });
  afterAll(() => t.app.close());

  it('GET /health answers ok with the version', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', version: '0.1.0' });
  });

  it('GET /ready reports every check', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database).toEqual({ ok: true, detail: 'sqlite reachable' });
    expect(body.checks.keys_dir).toEqual({ ok: true, detail: 'writable' });
    expect(body.checks.ledger.ok).toBe(true);
    expect(body.checks.ledger.detail).toMatch(/^head seq \d+$/);
  });

  it('unknown routes answer 404 in the error envelope', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/no/such/route?x=1' });
    expect(res.statusCode).toBe(404);
    const body = res.json();
    expect(body).toEqual({
      error: { code: 'NOT_FOUND', message: 'Route GET /no/such/route not found' },
      request_id: expect.stringMatching(REQ_ID),
    });
    expect(res.headers['x-request-id']).toBe(body.request_id);
  });

  it('a wrong method on a known path is a 404 too', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/health' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('validation errors list every failing field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      payload: { name: 'x', count: -1.5, tags: ['a', 'b', 'c'] },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    const fields = body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['count', 'name', 'tags']));
    expect(body.error.details.every((d: { in: string }) => d.in === 'body')).toBe(true);
  });

  it('a missing body is a 400, not a 500', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/probe/echo', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
  });

  it('malformed JSON is a 400', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "abc", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST', message: 'The request body is not valid JSON' } });
  });

  it('a body over the limit is a 413', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(t.config.bodyLimit + 1), count: 1, tags: [] });
    const res = await t.app.inject({
      method: 'POST',
      url: '/probe/echo',
      headers: { 'content-type': 'application/json' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it.each(['text/plain', 'application/xml', 'application/x-www-form-urlencoded'])(
    'content type %s is a 415',
    async (contentType) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/probe/echo',
        headers: { 'content-type': contentType },
        payload: 'name=abc',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('SQLite constraint errors map to 409 and 400', async () => {
    const first = await t.app.inject({ method: 'POST', url: '/probe/insert', payload: { name: 'a', n: 1 } });
    expect(first.statusCode).toBe(201);
    const dup = await t.app.inject({ method: 'POST', url: '/probe/insert', payload: { name: 'a', n: 2 } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('CONFLICT');
    const nul = await t.app.inject({ method: 'POST', url: '/probe/insert', payload: { name: null, n: 2 } });
    expect(nul.statusCode).toBe(400);
    const check = await t.app.inject({ method: 'POST', url: '/probe/insert', payload: { name: 'b', n: -1 } });
    expect(check.statusCode).toBe(400);
    expect(check.json().error.message).not.toMatch(/probe|SQLITE/);
  });

  it('an unexpected error is a generic 500 that leaks nothing and carries the request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/probe/boom', headers: { 'x-request-id': 'trace-42' } });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret');
    expect(res.body).not.toContain('/etc/lexecon');
    expect(res.json()).toEqual({
      error: { code: 'INTERNAL_ERROR', message: expect.stringContaining('request id') },
      request_id: 'trace-42',
    });
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123.x:y' } });
    expect(ok.headers['x-request-id']).toBe('abc-123.x:y');
    const bad = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'a b<script>' } });
    expect(bad.headers['x-request-id']).toMatch(REQ_ID);
  });

  it('sets security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('sends no CORS headers when CORS is not configured', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('OpenAPI and Swagger UI', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.app.close());

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('swagger');
    const init = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
  });

  it('documents every route with request and response schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/health', '/ledger/entries', '/ledger/entries/{entry_id}', '/ledger/verify', '/metrics', '/ready']),
    );
    expect(paths.some((p) => p.startsWith('/probe') || p.startsWith('/docs'))).toBe(false);
    for (const [p, methods] of Object.entries<Record<string, { responses?: Record<string, unknown> }>>(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(op.responses, `${method} ${p} responses`).toBeDefined();
        expect(Object.keys(op.responses!).some((s) => /^[23]\d\d$/.test(s)), `${method} ${p}`).toBe(true);
      }
    }
    const list = doc.paths['/ledger/entries'].get;
    expect(list.parameters.map((x: { name: string }) => x.name).sort()).toEqual(
      ['after_seq', 'cursor', 'event_type', 'limit', 'since'],
    );
    expect(doc.paths['/ledger/entries/{entry_id}'].get.parameters[0]).toMatchObject({ name: 'entry_id', in: 'path' });
    // Every operation's tag is declared, so Swagger UI groups and describes each one.
    const declared = new Set(doc.tags.map((x: { name: string }) => x.name));
    for (const [p, methods] of Object.entries<Record<string, { tags?: string[] }>>(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const tag of op.tags ?? []) expect(declared.has(tag), `${method} ${p} tag ${tag}`).toBe(true);
      }
    }
  });
});

describe('metrics', () => {
  it('exposes HTTP and ledger metrics with route templates as labels', async () => {
    const t = await buildTestApp();
    try {
      const auditor = await createTestUser(t, 'auditor');
      await t.app.inject({ method: 'GET', url: '/ledger/entries/entry_1', headers: bearer(auditor.token) });
      await t.app.inject({ method: 'GET', url: '/unknown/abc123' });
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toMatch(
        /lexecon_http_requests_total\{method="GET",route="\/ledger\/entries\/:entry_id",status_code="200"\} 1/,
      );
      expect(res.body).toMatch(/lexecon_http_requests_total\{method="GET",route="unmatched",status_code="404"\} 1/);
      expect(res.body).not.toContain('abc123');
      expect(res.body).toContain('lexecon_http_request_duration_seconds_bucket');
      // genesis, system_startup, the auditor's user_created and auth_login_succeeded
      expect(res.body).toMatch(/^lexecon_ledger_entries 4$/m);
      expect(res.body).toMatch(/lexecon_ledger_appends_total\{event_type="system_startup"\} 1/);
      expect(res.body).toContain('lexecon_ledger_append_batch_size_bucket');
      expect(res.body).toContain('lexecon_ledger_commit_duration_seconds_bucket');
      expect(res.body).toContain('lexecon_ledger_head_lock_wait_seconds_bucket');
      expect(res.body).toContain('process_cpu_seconds_total');
    } finally {
      await t.app.close();
    }
  });

  it('requires the bearer token when LEXECON_METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789';
    const t = await buildTestApp({ env: { LEXECON_METRICS_TOKEN: token } });
    try {
      const none = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('UNAUTHORIZED');
      const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
      expect(wrong.statusCode).toBe(401);
      const right = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(right.statusCode).toBe(200);
      expect(right.body).toContain('lexecon_http_requests_total');
    } finally {
      await t.app.close();
    }
  });
});

describe('rate limiting and CORS', () => {
  it('answers 429 with Retry-After in the envelope once the per-minute budget is spent', async () => {
    const t = await buildTestApp({ env: { LEXECON_RATE_LIMIT_RPM: '3' } });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      }
      const res = await t.app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.json()).toMatchObject({ error: { code: 'RATE_LIMITED' }, request_id: expect.any(String) });
    } finally {
      await t.app.close();
    }
  });

  it('counts signed-in callers per principal, not per address', async () => {
    const t = await buildTestApp({ env: { LEXECON_RATE_LIMIT_RPM: '3' } });
    try {
      const [a, b] = [await seedSession(t, 'operator'), await seedSession(t, 'operator')];
      const get = (token: string) => t.app.inject({ method: 'GET', url: '/ledger/verify', headers: bearer(token) });
      for (let i = 0; i < 3; i++) expect((await get(a)).statusCode).toBe(200);
      expect((await get(a)).statusCode).toBe(429);
      // Same address, another principal: its own budget.
      expect((await get(b)).statusCode).toBe(200);
      // Anonymous requests from that address have theirs too.
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await t.app.close();
    }
  });

  it('allows configured origins only', async () => {
    const t = await buildTestApp({ env: { LEXECON_CORS_ORIGINS: 'https://console.example, https://audit.example' } });
    try {
      const allowed = await t.app.inject({
        method: 'GET',
        url: '/health',
        headers: { origin: 'https://audit.example' },
      });
      expect(allowed.headers['access-control-allow-origin']).toBe('https://audit.example');
      const other = await t.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.app.close();
    }
  });
});
