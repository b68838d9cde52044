/**
 * `lexecon mcp-gateway` end to end over stdio: an MCP Client from the SDK spawns the gateway
 * (`node --import tsx src/cli.ts mcp-gateway …`), which spawns two upstreams: the example tool server
 * (`examples/mcp-tool-server`, verifies the token itself, writes a call log) as `crm`, and a flaky
 * server (crashes, hangs) as `flaky`. A real Lexecon server process decides; an approver resolves an
 * escalation over the API; at the end Lexecon is killed.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { BASE_ENV, jsonLines, startLexecon, tsxArgs, waitForText, writeJsonFile, type Lexecon } from './peers.js';
import { exampleServer, textOf } from './upstreams.js';

describe('mcp-gateway over stdio, in front of real upstreams, Lexecon deciding', () => {
  let lx: Lexecon;
  let agent: Client;
  let transport: StdioClientTransport;
  let gatewayStderr = '';
  const dir = tempDir('lexecon-gw-stdio-');
  const crmLog = path.join(dir, 'crm-calls.jsonl');
  const flakyLog = path.join(dir, 'flaky-calls.jsonl');
  const auditLog = path.join(dir, 'audit.jsonl');
  const call = (name: string, args: Record<string, unknown> = {}, options?: Parameters<Client['callTool']>[2]) =>
    agent.callTool({ name, arguments: args }, undefined, options) as Promise<CallToolResult>;
  const crmCalls = () => jsonLines(crmLog);

  beforeAll(async () => {
    lx = await startLexecon();
    const config = writeJsonFile('gateway.json', {
      lexecon: { url: lx.baseUrl, timeout_ms: 3000 },
      actor_from_client: { prefix: 'ai_agent:' },
      upstream_name: 'crm',
      upstreams: {
        flaky: {
          command: process.execPath,
          args: tsxArgs(path.join(REPO_ROOT, 'test/gateway/fixtures/flaky-server.ts')),
          env: { FLAKY_CALL_LOG: flakyLog },
        },
      },
      tools: {
        'crm.lookup_customer': { context_args: ['customer_id'], data_classes: ['pii'], include_arguments_in_audit: true },
        'crm.list_orders': {},
        'crm.delete_records': {},
        'crm.ping': { escalation_wait_s: 25 },
        'flaky.echo': { context_args: ['note'] },
        'flaky.hang': {},
        'flaky.crash': {},
        // Decided as crm.list_orders (conditional: max_rows:2, redact:email); flaky verifies no token, so
        // what comes back is the gateway's own enforcement.
        'flaky.rows': { proposed_action: 'crm.list_orders', tool: 'crm' },
      },
      upstream_timeout_ms: 1500,
      max_argument_bytes: 1024 * 1024,
    });
    transport = new StdioClientTransport({
      command: process.execPath,
      args: tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--audit-log', auditLog, '--', ...exampleServer(lx.baseUrl, crmLog)]),
      cwd: REPO_ROOT,
      env: { ...BASE_ENV(), LEXECON_API_KEY: lx.apiKey },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (c: Buffer) => (gatewayStderr += c.toString()));
    agent = new Client({ name: 'support-bot', version: '1.0.0' });
    await agent.connect(transport);
  }, 90_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    lx?.proc.child.kill('SIGKILL');
  });

  it('tools/list passes the configured tools through, named <server>.<tool> (two upstreams)', async () => {
    const names = (await agent.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'crm.delete_records',
      'crm.list_orders',
      'crm.lookup_customer',
      'crm.ping',
      'flaky.crash',
      'flaky.echo',
      'flaky.hang',
      'flaky.rows',
    ]);
    // crm.export_customers and flaky.admin_reset exist upstream but are not in the config (unknown_tools:
    // refuse): not listed.
  });

  it('approved: forwarded with a capability token that the upstream verifies itself', async () => {
    const res = await call('crm.lookup_customer', { customer_id: 'c-42' });
    expect(res.isError ?? false, textOf(res)).toBe(false);
    const decisionId = res._meta?.['lexecon/decision_id'] as string;
    expect(decisionId).toMatch(/^dec_/);
    const last = crmCalls().at(-1)!;
    expect(last).toMatchObject({ tool: 'lookup_customer', executed: true, decision_id: decisionId });
    expect(last.jti).toMatch(/^tok_/);
    expect(res.structuredContent).toMatchObject({ found: true, customer: { customer_id: 'c-42' } });
    // The decision Lexecon recorded: the actor from the client's name, only the allow-listed context.
    const record = await lx.api('GET', `/decide/${decisionId}`, lx.adminToken);
    expect(record.body).toMatchObject({ actor: 'ai_agent:support-bot', action: 'crm.lookup_customer', tool: 'crm', outcome: 'approved' });
  });

  it('denied: an MCP tool error naming the reason and the decision id; the upstream never sees the call', async () => {
    const before = crmCalls().length;
    const res = await call('crm.delete_records', { customer_id: 'c-42' });
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/denied by Lexecon: .*\(decision dec_\w+\)/);
    expect(textOf(res)).toContain('delete');
    expect(crmCalls().length).toBe(before);
    expect(crmCalls().some((c) => c.tool === 'delete_records')).toBe(false);
  });

  it('conditional: forwarded with the token (the upstream honours its conditions) and max_rows enforced', async () => {
    const res = await call('crm.list_orders', {});
    expect(res.isError ?? false, textOf(res)).toBe(false);
    expect(crmCalls().at(-1)).toMatchObject({ tool: 'list_orders', executed: true });
    expect((res.structuredContent as { rows: unknown[] }).rows).toHaveLength(2);
    expect((JSON.parse(textOf(res)) as { rows: unknown[] }).rows).toHaveLength(2);
  });

  it('conditional: the conditions in _meta, and the gateway itself cuts rows and redacts in structured and JSON text results', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: i, email: `u${i}@example.com`, contact: { email: `x${i}@example.com` } }));
    const res = await call('flaky.rows', { rows });
    expect(res.isError ?? false, textOf(res)).toBe(false);
    const expected = { rows: [0, 1].map((id) => ({ id, email: '[redacted]', contact: { email: '[redacted]' } })) };
    expect(res.structuredContent).toEqual(expected);
    expect(JSON.parse(textOf(res))).toEqual(expected);
    expect(JSON.stringify(res)).not.toContain('@example.com');
    const seen = jsonLines(flakyLog).at(-1)!;
    expect(seen.tool).toBe('rows');
    expect(seen.meta['lexecon/conditions']).toEqual(['max_rows:2', 'redact:email']);
    expect(seen.meta['lexecon/capability_token']).toMatch(/^cap_/);
    // A plain-text result the gateway cannot redact in is withheld, with a note (fail closed).
    const raw = await call('flaky.rows', { raw: 'email: u0@example.com' });
    expect(raw.isError).toBe(true);
    expect(textOf(raw)).toMatch(/result withheld: content item 0 is text that is not JSON/);
    expect(textOf(raw)).not.toContain('u0@example.com');
  });

  it('bad input: 10 MB arguments, deep nesting, a lone surrogate, an over-deep context, unknown and unconfigured tools: refused, never forwarded', async () => {
    const before = jsonLines(flakyLog).length;
    const huge = await call('flaky.echo', { blob: 'x'.repeat(10 * 1024 * 1024) });
    expect(huge.isError).toBe(true);
    expect(textOf(huge)).toMatch(/larger than 1048576 bytes/);
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = { d: deep };
    const tooDeep = await call('flaky.echo', { deep });
    expect(textOf(tooDeep)).toMatch(/nested more than 64 levels/);
    const surrogate = await call('flaky.echo', { s: 'a\ud800b' });
    expect(textOf(surrogate)).toMatch(/lone surrogate/);
    const deepContext = await call('flaky.echo', { note: { a: { b: { c: { d: { e: 1 } } } } } });
    expect(textOf(deepContext)).toMatch(/context limit/);
    const unknown = await call('no_such_tool');
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/unknown tool/);
    const unconfigured = await call('flaky.admin_reset');
    expect(unconfigured.isError).toBe(true);
    expect(textOf(unconfigured)).toMatch(/not in the gateway's tools/);
    expect(jsonLines(flakyLog).length).toBe(before);
    // Still serving.
    expect(textOf(await call('flaky.echo', { note: 'hi' }))).toBe('{"note":"hi"}');
  }, 30_000);

  it('an upstream that never answers: an MCP error after upstream_timeout_ms, no hang', async () => {
    const started = Date.now();
    const res = await call('flaky.hang');
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/upstream flaky failed: .*timed out/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('escalated: the gateway waits (progress notifications), an approver approves over the API, the call completes', async () => {
    const progress: Array<{ progress: number; message?: string }> = [];
    const pending = call('crm.ping', {}, { onprogress: (p) => void progress.push(p), resetTimeoutOnProgress: true, timeout: 60_000 });
    const [, decisionId] = await waitForText(() => JSON.stringify(progress), /review decision (dec_\w+)/);
    const record = await lx.api('GET', `/decide/${decisionId}`, lx.adminToken);
    expect(record.body.effective_outcome).toBe('escalated');
    expect(crmCalls().some((c) => c.tool === 'ping')).toBe(false);
    const resolved = await lx.api('POST', `/api/governance/escalation/${record.body.escalation.escalation_id}/resolve`, await lx.approverToken(), {
      outcome: 'approved',
      notes: 'checked: a ping is harmless',
    });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(201);
    const res = await pending;
    expect(res.isError ?? false, textOf(res)).toBe(false);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(crmCalls().at(-1)).toMatchObject({ tool: 'ping', executed: true, decision_id: decisionId });
    expect(res.structuredContent).toEqual({ pong: true });
  }, 45_000);

  it("the agent's cancellation aborts the wait: nothing is forwarded", async () => {
    const before = crmCalls().length;
    const controller = new AbortController();
    const progress: string[] = [];
    const pending = call('crm.ping', {}, { signal: controller.signal, onprogress: (p) => void progress.push(p.message ?? '') });
    await waitForText(() => progress.join('\n'), /review decision dec_/);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitForText(() => jsonLines(auditLog).map((l) => l.reason ?? '').join('\n'), /cancelled by the client while waiting/);
    expect(crmCalls().length).toBe(before);
  }, 30_000);

  it('an upstream that crashes mid-call: an MCP error, no hang; its later calls fail too, never forwarded undecided', async () => {
    const res = await call('flaky.crash');
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/upstream flaky failed/);
    await waitForText(() => gatewayStderr, /upstream flaky closed its connection/);
    const after = await call('flaky.echo', { note: 'x' });
    expect(after.isError).toBe(true);
    // The other upstream is unaffected.
    expect((await call('crm.lookup_customer', { customer_id: 'c-1' })).isError ?? false).toBe(false);
  }, 30_000);

  it('the audit log: one line per call with decision and token ids, arguments only where configured', () => {
    const lines = jsonLines(auditLog);
    const lookup = lines.find((l) => l.tool === 'lookup_customer' && l.result === 'ok')!;
    expect(lookup).toMatchObject({ server: 'crm', outcome: 'approved', forwarded: true, arguments: { customer_id: 'c-42' } });
    expect(lookup.decision_id).toMatch(/^dec_/);
    expect(lookup.token_jti).toMatch(/^tok_/);
    expect(typeof lookup.duration_ms).toBe('number');
    const denied = lines.find((l) => l.tool === 'delete_records')!;
    expect(denied).toMatchObject({ server: 'crm', outcome: 'denied', forwarded: false, result: 'refused', token_jti: null });
    expect(denied.arguments).toBeUndefined();
    expect(lines.find((l) => l.tool === 'list_orders')).toMatchObject({ outcome: 'conditional', conditions: ['max_rows:2', 'redact:email'] });
    expect(lines.find((l) => l.tool === 'rows' && l.result === 'refused')).toMatchObject({ forwarded: true, reason: expect.stringMatching(/withheld/) });
    expect(lines.find((l) => l.tool === 'hang')).toMatchObject({ forwarded: true, result: 'upstream_error' });
    expect(JSON.stringify(lines)).not.toContain('xxxxxxxxxx');
  });

  it('Lexecon killed: every call is refused (fail closed), nothing forwarded', async () => {
    const before = crmCalls().length;
    lx.proc.child.kill('SIGKILL');
    await lx.proc.exited;
    const started = Date.now();
    const res = await call('crm.lookup_customer', { customer_id: 'c-42' });
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/Lexecon is unavailable, the call is refused \(fail closed\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(crmCalls().length).toBe(before);
  }, 30_000);
});
