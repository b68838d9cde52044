/**
 * The security headers on the wire (issue 16): the app sets helmet's defaults from constants instead of
 * registering @fastify/helmet (which rebuilt helmet's middleware on every request). These tests compare
 * the raw response headers (names as sent, order, values) of real HTTP responses with those of a bare
 * Fastify that registers @fastify/helmet as the app did, so a change on either side is caught.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../src/platform/http-security-headers.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));

/** Raw header pairs `name: value` (as sent) of one request over HTTP. */
function rawHeaders(app: FastifyInstance, method: string, url: string, headers: Record<string, string> = {}, body?: string) {
  const { port } = app.server.address() as { port: number };
  return new Promise<{ status: number; pairs: string[] }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const pairs: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        resolve({ status: res.statusCode!, pairs });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let reference: FastifyInstance;
let t: TestApp;
/** What @fastify/helmet (default options) puts on the wire, in order. */
let helmetPairs: string[];

beforeAll(async () => {
  reference = Fastify();
  await reference.register(helmet);
  reference.get('/x', async () => ({ ok: true }));
  await reference.listen({ host: '127.0.0.1', port: 0 });
  const generic = /^(content-type|content-length|date|connection|keep-alive):/i;
  helmetPairs = (await rawHeaders(reference, 'GET', '/x')).pairs.filter((p) => !generic.test(p));
  t = await buildTestApp();
  await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(await seedSession(t, 'governance_lead')), payload: SEED });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await reference?.close();
  await t?.app.close();
});

it('the constants are what @fastify/helmet sends, in its order', () => {
  expect(helmetPairs.length).toBeGreaterThan(10);
  expect(SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}`)).toEqual(helmetPairs);
});

it('every kind of answer starts with exactly those headers, then the request id, as with @fastify/helmet', async () => {
  const { secret } = await createAgentKey(t);
  const json = { 'content-type': 'application/json', 'x-request-id': 'hdr-1' };
  const decide = JSON.stringify({ actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' });
  const answers = [
    await rawHeaders(t.app, 'POST', '/decide', { ...json, authorization: `Bearer ${secret}` }, decide),
    await rawHeaders(t.app, 'POST', '/decide', { ...json, authorization: `Bearer ${secret}` }, '{"actor":1}'),
    await rawHeaders(t.app, 'POST', '/decide', { ...json, authorization: 'Bearer lxk_nope' }, decide),
    await rawHeaders(t.app, 'GET', '/nowhere', { 'x-request-id': 'hdr-1' }),
    await rawHeaders(t.app, 'GET', '/health', { 'x-request-id': 'hdr-1' }),
  ];
  expect(answers.map((a) => a.status)).toEqual([200, 400, 401, 404, 200]);
  for (const { pairs } of answers) {
    expect(pairs.slice(0, helmetPairs.length)).toEqual(helmetPairs);
    expect(pairs[helmetPairs.length]).toBe('x-request-id: hdr-1');
    // Nothing of helmet's appears twice.
    expect(pairs.filter((p) => /^content-security-policy:/i.test(p))).toHaveLength(1);
  }
});
