/**
 * examples/mcp-tool-server against real peers: an MCP `Client` from the SDK spawns it over stdio (and
 * talks to it over Streamable HTTP), with real capability tokens from a real Lexecon server. A valid token
 * runs the tool (its conditions honoured); every other case is an MCP tool error naming the reason, and
 * the server's own call log shows the tool never ran.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LexeconClient, computeKid, verifyCapabilityToken, publicKeysFrom } from 'lexecon/client';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startServer, type LiveServer } from './server.js';

const POLICY = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples/mcp-tool-server/crm-policy.json'), 'utf8'));
const SERVER = 'examples/mcp-tool-server/server.ts';
const ACTOR = 'ai_agent:crm-bot';

let s: LiveServer;
let lexecon: LexeconClient;
let mcp: Client;
let callLog: string;
const dir = tempDir('lexecon-mcp-tool-');

beforeAll(async () => {
  s = await startServer(POLICY, 'ai_agent:*');
  lexecon = new LexeconClient({ baseUrl: s.baseUrl, apiKey: s.apiKey });
  callLog = path.join(dir, 'calls.jsonl');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', SERVER, '--lexecon-url', s.baseUrl, '--call-log', callLog, '--key-refresh-s', '1'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LEXECON_API_KEY: s.apiKey },
    cwd: REPO_ROOT,
    stderr: 'pipe',
  });
  mcp = new Client({ name: 'test-agent', version: '1.0.0' });
  await mcp.connect(transport);
}, 60_000);
afterAll(async () => {
  await mcp?.close();
  await s?.close();
});

/** A decision for `crm.<tool>` and its token. */
async function tokenFor(tool: string, opts: { toolClaim?: string } = {}) {
  const d = await lexecon.decide({ actor: ACTOR, proposed_action: `crm.${tool}`, tool: opts.toolClaim ?? 'crm' });
  return d;
}

const call = async (name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) =>
  (await mcp.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) })) as CallToolResult;

const calls = () =>
  fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];

/** The refusal's reason, and the call log's last line saying the tool did not run for that reason. */
async function refusedFor(name: string, args: Record<string, unknown>, meta?: Record<string, unknown>): Promise<string> {
  const before = calls().length;
  const r = await call(name, args, meta);
  expect(r.isError).toBe(true);
  const reason = (r.structuredContent as { reason: string }).reason;
  expect((r.content as { text: string }[])[0]!.text).toContain(reason);
  const log = calls();
  expect(log.length).toBe(before + 1);
  expect(log.at(-1)).toMatchObject({ tool: name, executed: false, reason });
  return reason;
}

describe('the example MCP tool server (stdio, keys from Lexecon, revocation online)', () => {
  it('lists its tools', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['delete_records', 'export_customers', 'list_orders', 'lookup_customer', 'ping']);
  });

  it('a valid token runs the tool; its conditions are honoured; the call log names the decision and token', async () => {
    const d = await tokenFor('lookup_customer');
    expect(d).toMatchObject({ outcome: 'conditional', conditions: ['redact:pii'] });
    const r = await call('lookup_customer', { customer_id: 'c-42' }, { 'lexecon/capability_token': d.capability_token, 'lexecon/decision_id': d.decision_id, 'lexecon/conditions': d.conditions });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ found: true, customer: { customer_id: 'c-42', name: '[redacted]', email: '[redacted]', phone: '[redacted]', tier: 'gold' } });
    const jti = (verifyCapabilityToken(d.capability_token!, { publicKeys: publicKeysFrom(await lexecon.keys()), action: 'crm.lookup_customer', tool: 'crm' }) as { claims: { jti: string } }).claims.jti;
    expect(calls().at(-1)).toMatchObject({ tool: 'lookup_customer', executed: true, jti, decision_id: d.decision_id });

    const orders = await tokenFor('list_orders');
    expect(orders.conditions).toEqual(['max_rows:10']);
    const rows = await call('list_orders', {}, { 'lexecon/capability_token': orders.capability_token });
    expect((rows.structuredContent as { rows: unknown[] }).rows).toHaveLength(10);

    const ping = await tokenFor('ping');
    expect(ping.outcome).toBe('approved');
    expect((await call('ping', {}, { 'lexecon/capability_token': ping.capability_token })).structuredContent).toEqual({ pong: true });
  });

  it('refuses a call without a token, or with a malformed one', async () => {
    expect(await refusedFor('ping', {})).toBe('missing_token');
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': 'cap_garbage' })).toBe('malformed');
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': 42 })).toBe('malformed');
  });

  it('refuses forged tokens: the server’s kid with a forger’s signature, or a kid Lexecon never had', async () => {
    const d = await tokenFor('ping');
    const claims = (verifyCapabilityToken(d.capability_token!, { publicKeys: publicKeysFrom(await lexecon.keys()), action: 'crm.ping', tool: 'crm' }) as unknown as { claims: Record<string, unknown> }).claims;
    const forge = (c: Record<string, unknown>, key: ReturnType<typeof generateKeyPairSync>['privateKey']) => {
      const input = `cap_${Buffer.from(JSON.stringify(Object.fromEntries(Object.keys(c).sort().map((k) => [k, c[k]])))).toString('base64url')}`;
      return `${input}_${sign(null, Buffer.from(input), key).toString('base64url')}`;
    };
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const deleteClaims = { ...claims, act: 'crm.delete_records' };
    expect(await refusedFor('delete_records', { customer_id: 'c-43' }, { 'lexecon/capability_token': forge(deleteClaims, privateKey) })).toBe('bad_signature');
    expect(await refusedFor('delete_records', { customer_id: 'c-43' }, { 'lexecon/capability_token': forge({ ...deleteClaims, kid: computeKid(publicKey) }, privateKey) })).toBe('unknown_kid');
  });

  it('refuses a token for another action (a denied action never runs) or another tool', async () => {
    const denied = await tokenFor('delete_records');
    expect(denied).toMatchObject({ outcome: 'denied', capability_token: null });
    const ping = await tokenFor('ping');
    expect(await refusedFor('delete_records', { customer_id: 'c-44' }, { 'lexecon/capability_token': ping.capability_token, 'lexecon/decision_id': denied.decision_id })).toBe('action_mismatch');
    expect(calls().at(-1)).toMatchObject({ decision_id: denied.decision_id });
    const billing = await tokenFor('ping', { toolClaim: 'billing' });
    expect(billing.outcome).toBe('approved');
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': billing.capability_token })).toBe('tool_mismatch');
    // Nothing was deleted: the customer is still there.
    const look = await tokenFor('lookup_customer');
    expect((await call('lookup_customer', { customer_id: 'c-44' }, { 'lexecon/capability_token': look.capability_token })).structuredContent).toMatchObject({ found: true });
  });

  it('refuses an expired token', async () => {
    s.t.clock.set(Date.now() - 10 * 60_000); // Lexecon's clock ten minutes back: the token (TTL 300 s) is already expired
    let d;
    try {
      d = await tokenFor('ping');
    } finally {
      s.t.clock.set(Date.now());
    }
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': d.capability_token })).toBe('expired');
  });

  it('refuses a token used once already (single-use jti)', async () => {
    const d = await tokenFor('ping');
    expect((await call('ping', {}, { 'lexecon/capability_token': d.capability_token })).isError).toBeFalsy();
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': d.capability_token })).toBe('replayed');
  });

  it('refuses a revoked token (online check)', async () => {
    const d = await tokenFor('ping');
    const jti = (await s.api('GET', `/decide/${d.decision_id}`, s.admin)).body.token.jti;
    expect((await s.api('POST', `/api/governance/tokens/${jti}/revoke`, s.admin, { reason: 'test' })).status).toBe(201);
    expect(await refusedFor('ping', {}, { 'lexecon/capability_token': d.capability_token })).toBe('revoked');
  });

  it('follows a key rotation (one refresh on the new kid, once the refresh interval allows)', async () => {
    const rotation = s.t.services.keys.rotate('Ed25519');
    const d = await tokenFor('ping');
    // The forged kids above made it refresh less than a second ago (--key-refresh-s 1): not yet.
    await new Promise((r) => setTimeout(r, 1_100));
    const r = await call('ping', {}, { 'lexecon/capability_token': d.capability_token });
    expect(r.isError).toBeFalsy();
    expect(calls().at(-1)).toMatchObject({ executed: true, decision_id: d.decision_id });
    expect(rotation.kid).not.toBe(rotation.previous_kid);
  });
});

describe('the example MCP tool server over Streamable HTTP, keys from a file (offline)', () => {
  let child: ChildProcess;
  let client: Client;
  let log: string;
  beforeAll(async () => {
    const keysFile = path.join(dir, 'keys.json');
    fs.writeFileSync(keysFile, JSON.stringify(await lexecon.keys()));
    log = path.join(dir, 'http-calls.jsonl');
    child = spawn(process.execPath, ['--import', 'tsx', SERVER, '--public-keys', keysFile, '--http', '0', '--call-log', log], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${err}`)), 30_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening at (http:\/\/127\.0\.0\.1:[0-9]+\/mcp)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', () => reject(new Error(`exited:\n${err}`)));
    });
    client = new Client({ name: 'test-agent-http', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('runs a call with a valid token, refuses one without', async () => {
    const d = await tokenFor('list_orders');
    const ok = (await client.callTool({ name: 'list_orders', arguments: {}, _meta: { 'lexecon/capability_token': d.capability_token } })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
    expect((ok.structuredContent as { rows: unknown[] }).rows).toHaveLength(10);
    const no = (await client.callTool({ name: 'list_orders', arguments: {} })) as CallToolResult;
    expect(no).toMatchObject({ isError: true, structuredContent: { reason: 'missing_token' } });
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toMatchObject([
      { tool: 'list_orders', executed: true, decision_id: d.decision_id },
      { tool: 'list_orders', executed: false, reason: 'missing_token' },
    ]);
  });

  it('offline it cannot see revocation (the documented caveat): a revoked token still runs once', async () => {
    const d = await tokenFor('ping');
    const jti = (await s.api('GET', `/decide/${d.decision_id}`, s.admin)).body.token.jti;
    expect((await s.api('POST', `/api/governance/tokens/${jti}/revoke`, s.admin, {})).status).toBe(201);
    const r = (await client.callTool({ name: 'ping', arguments: {}, _meta: { 'lexecon/capability_token': d.capability_token } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
  });
});
