/**
 * LexeconClient against a real server over HTTP on 127.0.0.1: the four outcomes, an escalation resolved
 * by a person while waitForDecision waits, the wait's timeout, a retry after a lost answer that the server
 * decides once, typed errors, and no server at all.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LexeconApiError, LexeconClient, LexeconUnavailableError, type DecisionRecord } from 'lexecon/client';
import { countRows } from '../helpers/rows.js';
import { ACTOR, startServer, type LiveServer } from './server.js';

let s: LiveServer;
let client: LexeconClient;
beforeAll(async () => {
  s = await startServer();
  client = new LexeconClient({ baseUrl: s.baseUrl, apiKey: s.apiKey });
});
afterAll(() => s.close());

const request = (action: string, actor = ACTOR) => ({ actor, proposed_action: action, tool: 'crm' });

describe('decide', () => {
  it('approved: a token for exactly this action and tool, the request_id generated', async () => {
    const d = await client.decide(request('read_order'));
    expect(d).toMatchObject({ outcome: 'approved', allowed: true, conditions: [], escalation_id: null });
    expect(d.capability_token).toMatch(/^cap_/);
    expect(d.request_id).toMatch(/^[\x21-\x7e]+$/);
    expect(d.ledger.entry_hash).toMatch(/^[0-9a-f]{64}$/);
    const v = await client.verifyToken(d.capability_token!, { action: 'read_order', tool: 'crm' });
    expect(v).toMatchObject({ valid: true, reason: 'ok', claims: { dec: d.decision_id, act: 'read_order', tool: 'crm', sub: ACTOR } });
    expect((await client.verifyToken(d.capability_token!, { action: 'delete_records', tool: 'crm' })).reason).toBe('action_mismatch');
  });

  it('the caller’s request_id is sent as given', async () => {
    const d = await client.decide({ ...request('read_order'), request_id: 'caller-chosen-1' });
    expect(d.request_id).toBe('caller-chosen-1');
    const again = await client.decide({ ...request('read_order'), request_id: 'caller-chosen-1' });
    expect(again.decision_id).toBe(d.decision_id);
  });

  it('denied: no token, the reason', async () => {
    const d = await client.decide(request('delete_records'));
    expect(d).toMatchObject({ outcome: 'denied', allowed: false, capability_token: null });
    expect(d.reason).not.toBe('');
  });

  it('conditional: the conditions, in the answer and in the token', async () => {
    const d = await client.decide(request('read_customer'));
    expect(d).toMatchObject({ outcome: 'conditional', allowed: true, conditions: ['redact:pii'] });
    const v = await client.verifyToken(d.capability_token!, { action: 'read_customer', tool: 'crm' });
    expect(v.claims?.cnd).toEqual(['redact:pii']);
  });
});

describe('waitForDecision', () => {
  it('waits while the case is open; a person resolves it over the API; the token arrives', async () => {
    const d = await client.decide(request('bulk_export'));
    expect(d.outcome).toBe('escalated');
    const polls: { elapsedMs: number; outcome: string }[] = [];
    let resolved: Promise<unknown> | undefined;
    const record = await client.waitForDecision(d.decision_id, {
      timeoutMs: 20_000,
      pollS: 1,
      onPoll: (elapsedMs, r) => {
        polls.push({ elapsedMs, outcome: r.effective_outcome });
        // The approver resolves only once the client is already waiting (after its first answer).
        resolved ??= s.api('POST', `/api/governance/escalation/${d.escalation_id}/resolve`, s.approver.token, {
          outcome: 'approved',
          notes: 'export scope checked',
        });
      },
    });
    expect((await resolved) as { status: number }).toMatchObject({ status: 201 });
    expect(record).toMatchObject({ decision_id: d.decision_id, outcome: 'escalated', effective_outcome: 'approved' });
    expect(record.escalation).toMatchObject({ status: 'resolved', resolution: 'approved', resolved_by: s.approver.userId });
    expect(record.capability_token).toMatch(/^cap_/);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls[0]!.outcome).toBe('escalated');
    expect(polls.at(-1)!.outcome).toBe('approved');
    expect((await client.verifyToken(record.capability_token!, { action: 'bulk_export', tool: 'crm' })).valid).toBe(true);
  });

  it('a denial by the reviewer ends the wait: no token', async () => {
    const d = await client.decide(request('bulk_export'));
    const waiting = client.waitForDecision(d.decision_id, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const r = await s.api('POST', `/api/governance/escalation/${d.escalation_id}/resolve`, s.approver.token, { outcome: 'denied', notes: 'no' });
    expect(r.status).toBe(201);
    const record = await waiting;
    expect(record).toMatchObject({ effective_outcome: 'denied', capability_token: null });
  });

  it('its timeout returns the last record, still pending (never throws for the timeout)', async () => {
    const d = await client.decide(request('bulk_export'));
    const polls: number[] = [];
    const started = performance.now();
    const record: DecisionRecord = await client.waitForDecision(d.decision_id, { timeoutMs: 1_500, pollS: 1, onPoll: (ms) => polls.push(ms) });
    const took = performance.now() - started;
    expect(record).toMatchObject({ effective_outcome: 'escalated', capability_token: null, escalation: { status: 'pending' } });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(5_000);
    expect(polls.length).toBeGreaterThanOrEqual(2);
  });

  it('an already decided decision answers at once', async () => {
    const d = await client.decide(request('read_order'));
    const started = performance.now();
    const record = await client.waitForDecision(d.decision_id, { timeoutMs: 20_000 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(record).toMatchObject({ effective_outcome: 'approved', capability_token: d.capability_token });
  });

  it('the caller’s signal aborts the wait at once with its reason', async () => {
    const d = await client.decide(request('bulk_export'));
    const controller = new AbortController();
    const reason = new Error('agent shutting down');
    setTimeout(() => controller.abort(reason), 200);
    const started = performance.now();
    await expect(client.waitForDecision(d.decision_id, { timeoutMs: 20_000, signal: controller.signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

/**
 * A TCP proxy to the server that forwards the first connection's request but, as soon as the server
 * starts answering, drops that connection without passing a byte back: the caller gets no answer although
 * the server decided. Later connections pass through.
 */
async function dropFirstAnswerProxy(target: URL): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((downstream) => {
    const first = connections++ === 0;
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const sock of [downstream, upstream]) {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
    }
    downstream.pipe(upstream);
    if (first) {
      upstream.once('data', () => {
        downstream.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(downstream);
    }
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('retries', () => {
  it('a lost answer is retried with the same request_id: the server decided once (one ledger entry)', async () => {
    const proxy = await dropFirstAnswerProxy(new URL(s.baseUrl));
    try {
      const actor = 'ai_agent:support-retry';
      const before = await countRows(s.t, 'ledger_entries', "event_type = 'decision'");
      const viaProxy = new LexeconClient({ baseUrl: proxy.url, apiKey: s.apiKey, retries: 2 });
      const d = await viaProxy.decide(request('read_order', actor));
      expect(proxy.connections()).toBe(2); // the first attempt got no answer, the second one did
      expect(d.outcome).toBe('approved');
      expect(await countRows(s.t, 'ledger_entries', "event_type = 'decision'")).toBe(before + 1);
      const listed = await s.api('GET', `/decide?actor=${encodeURIComponent(actor)}`, s.admin);
      expect(listed.body.items.map((i: { decision_id: string }) => i.decision_id)).toEqual([d.decision_id]);
    } finally {
      await proxy.close();
    }
  });

  it('no server: LexeconUnavailableError after retries + 1 attempts', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const offline = new LexeconClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: s.apiKey, retries: 3, fetch: counting });
    const err = await offline.decide(request('read_order')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LexeconUnavailableError);
    expect((err as LexeconUnavailableError).attempts).toBe(4);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(calls).toBe(4);
  });

  it('a 4xx is never retried', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const c = new LexeconClient({ baseUrl: s.baseUrl, apiKey: s.apiKey, fetch: counting });
    await expect(c.decide({ ...request('read_order'), actor: '' })).rejects.toBeInstanceOf(LexeconApiError);
    expect(calls).toBe(1);
  });
});

describe('typed errors carry the server’s envelope', () => {
  it('401 for a bad API key', async () => {
    const bad = new LexeconClient({ baseUrl: s.baseUrl, apiKey: 'lxk_not-a-real-key' });
    const err = (await bad.decide(request('read_order')).catch((e: unknown) => e)) as LexeconApiError;
    expect(err).toBeInstanceOf(LexeconApiError);
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(err.message).not.toBe('');
    expect(err.requestId).toMatch(/^req_/);
  });

  it('400 for a bad body, with the details', async () => {
    const err = (await client.decide({ ...request('read_order'), risk_level: 9 }).catch((e: unknown) => e)) as LexeconApiError;
    expect(err).toBeInstanceOf(LexeconApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).not.toBe('');
    expect(JSON.stringify(err.details)).toMatch(/risk_level/);
    expect(err.requestId).toMatch(/^req_/);
  });

  it('404 for an unknown decision', async () => {
    const err = (await client.getDecision('dec_01ARZ3NDEKTSV4RRFFQ69G5FAV').catch((e: unknown) => e)) as LexeconApiError;
    expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('an agent key dry-runs policies for its own actors only (403 ACTOR_NOT_ALLOWED for another), keys are anonymous', async () => {
    expect(await client.evaluate({ actor: ACTOR, action: 'delete_records' })).toMatchObject({ policy_id: 'support-agent', outcome: 'denied' });
    const err = (await client.evaluate({ actor: 'ai_agent:sales-1', action: 'read_order' }).catch((e: unknown) => e)) as LexeconApiError;
    expect(err).toBeInstanceOf(LexeconApiError);
    expect(err).toMatchObject({ status: 403, code: 'ACTOR_NOT_ALLOWED' });
    const keys = await new LexeconClient({ baseUrl: s.baseUrl }).keys();
    expect(keys.keys.some((k) => k.alg === 'Ed25519' && k.status === 'active')).toBe(true);
  });

  it('a human session token evaluates', async () => {
    const lead = new LexeconClient({ baseUrl: s.baseUrl, sessionToken: s.admin });
    const e = await lead.evaluate({ actor: ACTOR, action: 'delete_records' });
    expect(e).toMatchObject({ policy_id: 'support-agent', outcome: 'denied' });
  });
});

/**
 * An HTTP front to the server that answers the first `failures` requests itself with `status` (and the
 * headers and body given), then forwards every request to the server. It records each request's body.
 */
async function flakyFront(target: string, failures: number, status: number, headers: Record<string, string>, body: string) {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text);
      if (bodies.length <= failures) {
        res.writeHead(status, headers).end(body);
        return;
      }
      const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('retries on 429 / 502 / 503 / 504', () => {
  const envelope = (code: string) => JSON.stringify({ error: { code, message: 'try later' }, request_id: 'req_front' });

  it('503 with Retry-After: waits for it, repeats the same request_id, one decision', async () => {
    const front = await flakyFront(s.baseUrl, 1, 503, { 'content-type': 'application/json', 'retry-after': '1' }, envelope('UNAVAILABLE'));
    try {
      const actor = 'ai_agent:support-503';
      const c = new LexeconClient({ baseUrl: front.url, apiKey: s.apiKey });
      const started = performance.now();
      const d = await c.decide(request('read_order', actor));
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(front.bodies).toHaveLength(2);
      const ids = front.bodies.map((b) => (JSON.parse(b) as { request_id: string }).request_id);
      expect(ids[0]).toBe(ids[1]);
      expect(d.request_id).toBe(ids[0]);
      const listed = await s.api('GET', `/decide?actor=${encodeURIComponent(actor)}`, s.admin);
      expect(listed.body.items).toHaveLength(1);
    } finally {
      await front.close();
    }
  });

  it('a Retry-After beyond maxRetryAfterMs is not waited for: the 429 is thrown at once', async () => {
    const front = await flakyFront(s.baseUrl, 10, 429, { 'content-type': 'application/json', 'retry-after': '120' }, envelope('RATE_LIMITED'));
    try {
      const c = new LexeconClient({ baseUrl: front.url, apiKey: s.apiKey, maxRetryAfterMs: 5_000 });
      const started = performance.now();
      const err = (await c.decide(request('read_order')).catch((e: unknown) => e)) as LexeconApiError;
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(err).toBeInstanceOf(LexeconApiError);
      expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED', requestId: 'req_front' });
      expect(front.bodies).toHaveLength(1);
    } finally {
      await front.close();
    }
  });

  it('a 502 without an envelope, every time: retries + 1 attempts, then code HTTP_502', async () => {
    const front = await flakyFront(s.baseUrl, 10, 502, { 'content-type': 'text/html' }, '<h1>Bad Gateway</h1>');
    try {
      const c = new LexeconClient({ baseUrl: front.url, apiKey: s.apiKey, retries: 2 });
      const err = (await c.getDecision('dec_01ARZ3NDEKTSV4RRFFQ69G5FAV').catch((e: unknown) => e)) as LexeconApiError;
      expect(err).toBeInstanceOf(LexeconApiError);
      expect(err).toMatchObject({ status: 502, code: 'HTTP_502', requestId: undefined });
      expect(err.message).toContain('Bad Gateway');
      expect(front.bodies).toHaveLength(3);
    } finally {
      await front.close();
    }
  });
});
