/**
 * The examples in examples/ against a real server: the policy author's script loads the policy, the
 * tool gateway verifies tokens offline, and the agent asks POST /decide and acts through the gateway.
 * One server process, one gateway process; every agent run is a child process.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { bearerJson, run, type Proc } from '../helpers/processes.js';

/** Resolves with the first match of `pattern` in the process output (or rejects when it exits first). */
function waitFor(p: Proc, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}:\n${p.output()}`)), timeoutMs);
    const check = () => {
      const m = pattern.exec(p.output());
      if (m) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(m);
      }
    };
    const poll = setInterval(check, 25);
    void p.exited.then(() => {
      check();
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`process exited before ${pattern}:\n${p.output()}`));
    });
  });
}

const tsx = (file: string, args: string[], env: Record<string, string>) => run(process.execPath, ['--import', 'tsx', file, ...args], env);

describe('examples/ against a real server', () => {
  const ADMIN_PASSWORD = 'violet-harbour-42-trombone';
  const APPROVER_PASSWORD = 'copper-lantern-97-meadow';
  let server: Proc;
  let gateway: Proc;
  let baseUrl = '';
  let gatewayUrl = '';
  let adminToken = '';
  let apiKey = '';
  let approverId = '';

  const api = (method: string, url: string, token: string, body?: unknown) => bearerJson(baseUrl, method, url, token, body);
  const agent = (args: string[]) =>
    tsx('examples/agent.ts', args, { LEXECON_URL: baseUrl, LEXECON_API_KEY: apiKey, GATEWAY_URL: gatewayUrl });

  beforeAll(async () => {
    server = tsx('src/server.ts', [], {
      LEXECON_PORT: '0',
      LEXECON_DATA_DIR: tempDir(),
      LEXECON_LOG_LEVEL: 'info',
      LEXECON_BOOTSTRAP_ADMIN: `root:${ADMIN_PASSWORD}`,
      LEXECON_MFA_REQUIRED_ROLES: '',
    });
    baseUrl = (await waitFor(server, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;

    const login = await fetch(`${baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
    });
    adminToken = ((await login.json()) as { token: string }).token;
    const key = await api('POST', '/auth/api-keys', adminToken, { name: 'support-bot', actor_pattern: 'ai_agent:support-*' });
    expect(key.status).toBe(201);
    apiKey = key.body.api_key as string;
    const approver = await api('POST', '/auth/users', adminToken, {
      username: 'alice',
      email: 'alice@example.com',
      password: APPROVER_PASSWORD,
      role: 'approver',
    });
    expect(approver.status).toBe(201);
    approverId = approver.body.user_id as string;

    // The policy author's workflow, against this server.
    const author = run('bash', ['examples/policy-author.sh'], {
      LEXECON_URL: baseUrl,
      LEXECON_TOKEN: adminToken,
      LEXECON_CLI: `${process.execPath} --import tsx src/cli.ts`,
    });
    const code = await author.exited;
    expect(code, author.output()).toBe(0);
    expect(author.output()).toContain('policy support-agent is valid');
    expect(author.output()).toContain('6 passed, 0 failed');
    expect(author.output()).toMatch(/recorded \S+ on the server: 6 passed, 0 failed/);
    const active = await api('GET', '/policies', adminToken);
    expect(JSON.stringify(active.body)).toContain('support-agent');

    gateway = tsx('examples/tool-gateway.ts', [], { LEXECON_URL: baseUrl, GATEWAY_PORT: '0' });
    gatewayUrl = (await waitFor(gateway, /listening at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  }, 90_000);

  afterAll(() => {
    gateway?.child.kill('SIGKILL');
    server?.child.kill('SIGKILL');
  });

  it('approved: the agent acts through the gateway; conditional: the gateway honours redact:pii', async () => {
    const approved = agent(['--action', 'read_order', '--param', 'order_id=o-7']);
    expect(await approved.exited, approved.output()).toBe(0);
    expect(approved.output()).toMatch(/read_order on crm for ai_agent:support-bot: approved \(dec_/);
    expect(approved.output()).toContain('"order_id":"o-7"');
    await waitFor(gateway, /ACTED read_order for ai_agent:support-bot \(decision dec_/);

    const conditional = agent(['--action', 'read_customer', '--param', 'customer_id=c-43']);
    expect(await conditional.exited, conditional.output()).toBe(0);
    expect(conditional.output()).toContain('conditional');
    expect(conditional.output()).toContain('conditions: redact:pii');
    expect(conditional.output()).toContain('"email":"[redacted]"');
    expect(conditional.output()).not.toContain('alan@example.com');
    await waitFor(gateway, /ACTED read_customer for ai_agent:support-bot honouring redact:pii/);
  }, 30_000);

  it('denied: the agent stops and the gateway is never called', async () => {
    const denied = agent(['--action', 'delete_records', '--param', 'customer_id=c-42']);
    expect(await denied.exited, denied.output()).toBe(2);
    expect(denied.output()).toContain('delete_records on crm for ai_agent:support-bot: denied');
    expect(denied.output()).toContain('not allowed: stopping');
    expect(gateway.output()).not.toMatch(/(ACTED|REFUSED) delete_records/);

    // An actor outside the key's pattern is refused by Lexecon itself.
    const other = agent(['--actor', 'ai_agent:sales-bot', '--action', 'read_order']);
    expect(await other.exited).toBe(1);
    expect(gateway.output()).not.toContain('sales-bot');
  }, 30_000);

  it('the gateway refuses forged, tampered, misused and replayed tokens', async () => {
    const decided = await api('POST', '/decide', apiKey, { actor: 'ai_agent:support-bot', proposed_action: 'read_order', tool: 'crm' });
    expect(decided.body.outcome).toBe('approved');
    const token = decided.body.capability_token as string;
    const callGateway = async (action: string, presented?: string) => {
      const res = await fetch(`${gatewayUrl}/actions/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(presented ? { authorization: `Bearer ${presented}` } : {}) },
        body: '{}',
      });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error };
    };
    const sigStart = token.length - 86;
    const payloadPart = token.slice(4, sigStart - 1);
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    const reencode = (c: Record<string, unknown>) => Buffer.from(JSON.stringify(c)).toString('base64url');

    // Tampered: the claims say delete_records, the signature is still the read_order one.
    const tampered = `cap_${reencode({ ...claims, act: 'delete_records' })}_${token.slice(sigStart)}`;
    expect(await callGateway('delete_records', tampered)).toEqual({ status: 403, error: 'bad_signature' });
    // Forged: signed with a key that is not Lexecon's, claiming Lexecon's kid.
    const { privateKey } = generateKeyPairSync('ed25519');
    const forgedInput = `cap_${reencode({ ...claims, act: 'delete_records' })}`;
    const forged = `${forgedInput}_${sign(null, Buffer.from(forgedInput, 'ascii'), privateKey).toString('base64url')}`;
    expect(await callGateway('delete_records', forged)).toEqual({ status: 403, error: 'bad_signature' });
    // A flipped signature bit, a garbage string, no token at all, an unknown kid.
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    expect(await callGateway('read_order', flipped)).toEqual({ status: 403, error: 'bad_signature' });
    expect(await callGateway('read_order', 'cap_not-a-token')).toEqual({ status: 403, error: 'malformed' });
    expect((await callGateway('read_order')).status).toBe(401);
    const otherKid = `cap_${reencode({ ...claims, kid: '0123456789abcdef' })}_${token.slice(sigStart)}`;
    expect(await callGateway('read_order', otherKid)).toEqual({ status: 403, error: 'unknown_kid' });
    // A genuine token, for another action.
    expect(await callGateway('bulk_export', token)).toEqual({ status: 403, error: 'action_mismatch' });
    expect(gateway.output()).not.toMatch(/ACTED (delete_records|bulk_export)/);
    // Genuine and for this action: once, not twice.
    expect((await callGateway('read_order', token)).status).toBe(200);
    expect(await callGateway('read_order', token)).toEqual({ status: 409, error: 'replayed' });
    await waitFor(gateway, /REFUSED read_order: token tok_\S+ already used \(replay\)/);
  }, 30_000);

  it('revocation: the offline gateway cannot see it (the documented caveat); with GATEWAY_VERIFY_ONLINE=1 it refuses', async () => {
    const online = tsx('examples/tool-gateway.ts', [], {
      LEXECON_URL: baseUrl,
      GATEWAY_PORT: '0',
      GATEWAY_VERIFY_ONLINE: '1',
      LEXECON_API_KEY: apiKey,
    });
    try {
      const onlineUrl = (await waitFor(online, /listening at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const decide = async () =>
        (await api('POST', '/decide', apiKey, { actor: 'ai_agent:support-bot', proposed_action: 'read_order', tool: 'crm' })).body;
      const act = async (url: string, token: string) =>
        (await fetch(`${url}/actions/read_order`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' })).status;

      // A valid token passes the online check too.
      expect(await act(onlineUrl, (await decide()).capability_token as string)).toBe(200);

      const revokedOne = await decide();
      const jti = JSON.parse(Buffer.from((revokedOne.capability_token as string).slice(4, -87), 'base64url').toString()).jti as string;
      const revoked = await api('POST', `/api/governance/tokens/${jti}/revoke`, adminToken, { reason: 'agent misbehaving' });
      expect(revoked.status).toBe(201);
      expect(await act(onlineUrl, revokedOne.capability_token as string)).toBe(403);
      await waitFor(online, /REFUSED read_order: online check: revoked/);
      // The offline gateway still accepts it until it expires: keep LEXECON_TOKEN_TTL_S short.
      expect(await act(gatewayUrl, revokedOne.capability_token as string)).toBe(200);
    } finally {
      online.child.kill('SIGKILL');
    }
  }, 30_000);

  it('escalated: the agent long-polls until an approver approves, then acts with the token from that answer', async () => {
    const waiting = agent(['--action', 'bulk_export']);
    const [, escalationId] = await waitFor(waiting, /escalated to a person \(case (esc_\w+)\); waiting/);
    expect(waiting.output()).toContain('bulk_export on crm for ai_agent:support-bot: escalated');
    expect(gateway.output()).not.toContain('ACTED bulk_export');
    // The agent's long-poll is in flight on the server (Fastify logs each incoming request).
    await waitFor(server, /"url":"\/decide\/dec_\w+\?wait=30"/);

    const login = await fetch(`${baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: APPROVER_PASSWORD }),
    });
    const approverToken = ((await login.json()) as { token: string }).token;
    const resolved = await api('POST', `/api/governance/escalation/${escalationId}/resolve`, approverToken, {
      outcome: 'approved',
      notes: 'one-off export for the quarterly audit',
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(201);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'approved', resolved_by: approverId });

    expect(await waiting.exited, waiting.output()).toBe(0);
    expect(waiting.output()).toContain(`reviewed by ${approverId}: approved`);
    expect(waiting.output()).toContain('"rows":2');
    await waitFor(gateway, /ACTED bulk_export for ai_agent:support-bot \(decision dec_/);
  }, 45_000);
});
