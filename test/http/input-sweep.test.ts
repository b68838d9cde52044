import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_MAX_DEPTH } from '../../src/platform/input-guard.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';

/**
 * The input-guard sweep: every route with a JSON request body, read from the app's own OpenAPI document,
 * gets (1) a value nested 5,000 deep, (2) a lone surrogate in each top-level string field and in a key,
 * (3) bodies that are not objects. Each must answer a 4xx in the error envelope (never a 500), the first
 * two exactly 400 VALIDATION_FAILED naming the field, and no refused request may append to the ledger.
 */

type Json = Record<string, any>;

interface BodyRoute {
  method: string;
  path: string;
  /** The OpenAPI path with its parameters filled in. */
  url: string;
  schema: Json;
  access: 'public' | { roles: string[] };
}

let t: TestApp;
let admin: string;
let agent: string;
let doc: Json;
let routes: BodyRoute[];

/** Valid bodies for routes whose bugs the sweep reproduced, so that only the probed value is wrong. */
const VALID_BASES: Record<string, Json> = {
  'POST /decide': { actor: 'ai_agent:sweep', proposed_action: 'read:faq', tool: 'kb' },
  'POST /api/governance/risk/assess': { actor: 'ai_agent:sweep', action: 'read:faq' },
  'POST /api/governance/stop': { reason: 'sweep' },
  'POST /api/governance/resume': { reason: 'sweep' },
  'POST /auth/api-keys': { name: 'sweep', actor_pattern: 'ai_agent:*' },
  'POST /policies/evaluate': { actor: 'ai_agent:sweep', action: 'read:faq' },
};

function resolve(schema: Json | undefined): Json {
  let s = schema ?? {};
  for (let i = 0; i < 10; i++) {
    if (typeof s.$ref === 'string') {
      s = doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] as Json;
    } else if (Array.isArray(s.anyOf)) {
      s = (s.anyOf as Json[]).find((b) => b.type !== 'null') ?? {};
    } else break;
  }
  return s;
}

function allowsNull(schema: Json): boolean {
  return Array.isArray(schema.anyOf) && (schema.anyOf as Json[]).some((b) => b.type === 'null');
}

/** A value its parameter's schema accepts: `dec_` + 26 characters, 64 hex digits, an enum member. */
function paramValue(schema: Json): string {
  const s = resolve(schema);
  if (Array.isArray(s.enum)) return String(s.enum[0]);
  const pattern = typeof s.pattern === 'string' ? s.pattern : '';
  const prefixed = /^\^([a-z]+)_/.exec(pattern);
  if (prefixed) return `${prefixed[1]}_${'0'.repeat(26)}`;
  if (pattern.includes('[0-9a-f]{64}')) return '0'.repeat(64);
  return 'sweep';
}

function stringFields(schema: Json): string[] {
  const props = (resolve(schema).properties ?? {}) as Record<string, Json>;
  return Object.entries(props)
    .filter(([, p]) => {
      const r = resolve(p);
      return r.type === 'string' || (Array.isArray(r.type) && r.type.includes('string'));
    })
    .map(([name]) => name);
}

/** Where a deep value can go furthest: the first field that takes an object (e.g. /decide's `context`), else the first field. */
function deepField(schema: Json): string {
  const props = (resolve(schema).properties ?? {}) as Record<string, Json>;
  const objectField = Object.entries(props).find(([, p]) => {
    const r = resolve(p);
    return r.type === 'object' || r.type === undefined;
  });
  return objectField?.[0] ?? Object.keys(props)[0] ?? 'sweep';
}

/** The credentials to probe a route with: an admin session where admins are admitted, and an agent key where agents are. */
function callers(route: BodyRoute): Array<[string, Record<string, string>]> {
  if (route.access === 'public') return [['anonymous', {}]];
  const out: Array<[string, Record<string, string>]> = [];
  if (route.access.roles.includes('admin')) out.push(['admin', bearer(admin)]);
  if (route.access.roles.includes('agent')) out.push(['agent', bearer(agent)]);
  return out;
}

function headSeq(): number {
  const s = t.services.ledger.status;
  if (s.state !== 'ok') throw new Error(`ledger ${s.state}`);
  return s.headSeq;
}

/** What is wrong with an answer to a refused request ('' when it is a 4xx in the error envelope). */
function envelopeProblem(res: LightMyRequestResponse): string {
  if (res.statusCode < 400 || res.statusCode >= 500) return `status ${res.statusCode}: ${res.body.slice(0, 200)}`;
  let body: Json;
  try {
    body = res.json() as Json;
  } catch {
    return `status ${res.statusCode}, not JSON: ${res.body.slice(0, 200)}`;
  }
  const e = body.error as Json | undefined;
  if (typeof e?.code !== 'string' || typeof e.message !== 'string' || typeof body.request_id !== 'string') {
    return `status ${res.statusCode}, not the error envelope: ${res.body.slice(0, 200)}`;
  }
  return '';
}

/**
 * Send a raw JSON text and check the answer: a 4xx in the envelope, with `detail` (when given) among a
 * 400 VALIDATION_FAILED's details, and the ledger head where it was. Problems are collected in `failures`
 * so that one run lists every route that misbehaves.
 */
async function probe(
  failures: string[],
  what: string,
  route: BodyRoute,
  headers: Record<string, string>,
  payload: string,
  detail?: (d: Json) => boolean,
): Promise<void> {
  const before = headSeq();
  const res = await t.app.inject({
    method: route.method as 'POST',
    url: route.url,
    headers: { ...headers, 'content-type': 'application/json' },
    payload,
  });
  await t.services.ledger.drain();
  const after = headSeq();
  if (after !== before) failures.push(`${what}: appended ${after - before} ledger entries for a refused request`);
  const problem = envelopeProblem(res);
  if (problem) {
    failures.push(`${what}: ${problem}`);
    return;
  }
  if (detail) {
    const err = (res.json() as Json).error as Json;
    const details = Array.isArray(err.details) ? (err.details as Json[]) : [];
    if (res.statusCode !== 400 || err.code !== 'VALIDATION_FAILED' || !details.some(detail)) {
      failures.push(`${what}: expected 400 VALIDATION_FAILED naming the field, got ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
  }
}

function deepText(levels: number): string {
  return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

/** `{...base, field: <raw JSON>}` as text (the raw part may hold escapes JSON.stringify would not produce). */
function withRaw(base: Json, field: string, raw: string): string {
  const rest = JSON.stringify(Object.fromEntries(Object.entries(base).filter(([k]) => k !== field)));
  return `{${JSON.stringify(field)}:${raw}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
}

beforeAll(async () => {
  t = await buildTestApp();
  admin = await seedSession(t, 'admin');
  agent = (await createAgentKey(t, 'ai_agent:*')).secret;
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  routes = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      if (!schema) continue;
      let url = path;
      for (const p of (op.parameters ?? []) as Json[]) {
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(paramValue(p.schema)));
      }
      routes.push({ method: method.toUpperCase(), path, url, schema, access: op['x-access'] });
    }
  }
});
afterAll(() => t.app.close());

describe('every route with a JSON body refuses bad input with a 4xx in the envelope, and writes nothing', () => {
  it('finds the body routes in the OpenAPI document', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /decide',
        'POST /policies/load',
        'POST /policies/evaluate',
        'POST /api/governance/risk/assess',
        'POST /api/governance/stop',
        'POST /api/governance/escalation/{escalation_id}/resolve',
        'POST /auth/api-keys',
        'POST /auth/login',
      ]),
    );
    expect(routes.length).toBeGreaterThanOrEqual(25);
  });

  it('a value nested 5,000 deep: 400 VALIDATION_FAILED naming the field', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const field = deepField(route.schema);
      const base = VALID_BASES[`${route.method} ${route.path}`] ?? {};
      for (const [who, headers] of callers(route)) {
        await probe(failures, `${route.method} ${route.path} as ${who}`, route, headers, withRaw(base, field, deepText(5000)), (d) =>
          d.code === 'too_deep' && d.in === 'body' && String(d.field).startsWith(`${field}.a.a`),
        );
      }
    }
    expect(failures).toEqual([]);
  });

  it('a lone surrogate in each top-level string field and in a key: 400 VALIDATION_FAILED naming it', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const base = VALID_BASES[`${route.method} ${route.path}`] ?? {};
      const fields = stringFields(route.schema);
      for (const [who, headers] of callers(route)) {
        for (const field of fields.length > 0 ? fields : ['name']) {
          await probe(failures, `${route.method} ${route.path} as ${who}, ${field}`, route, headers, withRaw(base, field, '"lone \\ud800 surrogate"'), (d) =>
            d.code === 'lone_surrogate' && d.in === 'body' && d.field === field,
          );
        }
        const keyed = `{"k\\udc00":1,${JSON.stringify(base).slice(1)}`.replace(',}', '}');
        await probe(failures, `${route.method} ${route.path} as ${who}, a key`, route, headers, keyed, (d) =>
          d.code === 'lone_surrogate' && d.in === 'body' && d.field === 'k\ufffd',
        );
      }
    }
    expect(failures).toEqual([]);
  });

  it('bodies that are not objects: a 4xx in the envelope', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const payloads = ['[]', '"text"', '42', 'true', '"\\ud800"', ...(allowsNull(route.schema) ? [] : ['null'])];
      for (const [who, headers] of callers(route)) {
        for (const payload of payloads) await probe(failures, `${route.method} ${route.path} as ${who}: ${payload}`, route, headers, payload);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('the reproductions of issue 14 (C5), with real records', () => {
  it('lone surrogates in stop reason, escalation notes, risk/assess action and an API key name: 400, nothing written', async () => {
    const h = (token: string) => ({ ...bearer(token), 'content-type': 'application/json' });
    const loaded = await t.app.inject({
      method: 'POST',
      url: '/policies/load',
      headers: bearer(admin),
      payload: {
        policy_id: 'sweep-seed',
        terms: [
          { id: 'ai_agent', type: 'actor', value: 'ai_agent:*' },
          { id: 'bulk_export', type: 'action' },
        ],
        relations: [{ type: 'requires', source: 'bulk_export', target: 'human_approval' }],
      },
    });
    expect(loaded.statusCode).toBe(201);
    const decided = await t.app.inject({
      method: 'POST',
      url: '/decide',
      headers: bearer(agent),
      payload: { actor: 'ai_agent:sweep', proposed_action: 'bulk_export', tool: 'crm' },
    });
    const escalationId = decided.json().escalation_id as string;
    expect(escalationId).toMatch(/^esc_/);

    const keysBefore = await countRows(t, 'api_keys');
    const before = headSeq();
    const cases: Array<[string, string, string, string]> = [
      ['/api/governance/stop', admin, '{"reason":"stop \\ud800 now"}', 'reason'],
      [`/api/governance/escalation/${escalationId}/resolve`, admin, '{"outcome":"denied","notes":"no \\ud800"}', 'notes'],
      ['/api/governance/risk/assess', admin, '{"action":"read:\\ud800"}', 'action'],
      ['/api/governance/risk/assess', agent, '{"actor":"ai_agent:sweep","action":"read:\\ud800"}', 'action'],
      ['/auth/api-keys', admin, '{"name":"key \\ud800","actor_pattern":"ai_agent:*"}', 'name'],
    ];
    const answers: string[] = [];
    for (const [url, token, payload, field] of cases) {
      const res = await t.app.inject({ method: 'POST', url, headers: h(token), payload });
      const err = res.json().error;
      const named = Array.isArray(err?.details) && err.details.some((d: Json) => d.field === field && d.code === 'lone_surrogate');
      answers.push(`${url} ${field}: ${res.statusCode} ${err?.code}${named ? ' (named)' : ''}`);
    }
    expect(answers).toEqual(cases.map(([url, , , field]) => `${url} ${field}: 400 VALIDATION_FAILED (named)`));
    await t.services.ledger.drain();
    expect(headSeq()).toBe(before);
    expect(await countRows(t, 'api_keys')).toBe(keysBefore);
    expect((await t.services.oversight.status()).halted).toBe(false);
    const esc = await t.app.inject({ method: 'GET', url: `/api/governance/escalation/${escalationId}`, headers: bearer(admin) });
    expect(esc.json().status).toBe('pending');
  });
});

describe('the bound on nesting', () => {
  it(`admits ${BODY_MAX_DEPTH} levels and refuses ${BODY_MAX_DEPTH + 1}; /decide's context keeps its own depth ≤ 5`, async () => {
    const risk = (payload: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/governance/risk/assess',
        headers: { ...bearer(admin), 'content-type': 'application/json' },
        payload,
      });
    // The body is level 1, so a field may hold BODY_MAX_DEPTH - 1 levels: zod then refuses the shape, not the guard.
    const atBound = (await risk(`{"action":"read:x","dimensions":${deepText(BODY_MAX_DEPTH - 1)}}`)).json();
    expect(atBound.error.details.map((d: Json) => d.code)).not.toContain('too_deep');
    const over = (await risk(`{"action":"read:x","dimensions":${deepText(BODY_MAX_DEPTH)}}`)).json();
    expect(over.error.details).toEqual([expect.objectContaining({ code: 'too_deep', field: `dimensions${'.a'.repeat(BODY_MAX_DEPTH - 1)}` })]);

    const decide = await t.app.inject({
      method: 'POST',
      url: '/decide',
      headers: { ...bearer(agent), 'content-type': 'application/json' },
      payload: withRaw(VALID_BASES['POST /decide']!, 'context', deepText(6)),
    });
    expect(decide.statusCode).toBe(400);
    expect(decide.json().error.details).toEqual([
      expect.objectContaining({ field: 'context', message: 'must nest at most 5 levels deep' }),
    ]);
  });

  it('lets a policy document nest as deep as the loader allows, which reports deeper ones with their JSON path', async () => {
    const load = (payload: string) =>
      t.app.inject({ method: 'POST', url: '/policies/load', headers: { ...bearer(admin), 'content-type': 'application/json' }, payload });
    const policy = (metadata: string) =>
      `{"policy_id":"deep","terms":[{"term_id":"agent","term_type":"actor","value":"ai_agent:*","metadata":${metadata}}],"relations":[]}`;
    // 40 levels of metadata: deeper than other bodies may go, within the loader's limit of 64.
    expect((await load(policy(deepText(40)))).statusCode).toBe(201);
    const tooDeep = (await load(policy(deepText(62)))).json();
    expect(tooDeep.error.code).toBe('POLICY_INVALID');
    const refused = (await load(policy(deepText(5000)))).json();
    expect(refused.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ code: 'too_deep' })] });
  });
});

describe('URLs', () => {
  it('a path segment that is not percent-encoded UTF-8 is a 400 in the envelope', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/policies/%ED%A0%80', headers: bearer(admin) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.any(String) }, request_id: expect.any(String) });
    expect(res.headers['x-request-id']).toBe(res.json().request_id);
  });
});
