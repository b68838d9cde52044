/**
 * `lexecon mcp-gateway` over Streamable HTTP, both directions: the gateway listens on 127.0.0.1 (port
 * chosen by the OS, printed on stderr) for an MCP Client with StreamableHTTPClientTransport, and reaches
 * one upstream over Streamable HTTP (the flaky fixture server) besides the example tool server it spawns
 * over stdio. A real Lexecon server process decides. Also: a malformed config exits 2 listing every
 * problem.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { jsonLines, run, startLexecon, tsxArgs, waitForText, writeJsonFile, type Lexecon, type Proc } from './peers.js';
import { exampleServer, textOf } from './upstreams.js';

describe('mcp-gateway over Streamable HTTP (agent side and one upstream)', () => {
  let lx: Lexecon;
  let flaky: Proc;
  let gateway: Proc;
  let agent: Client;
  const dir = tempDir('lexecon-gw-http-');
  const crmLog = path.join(dir, 'crm-calls.jsonl');
  const flakyLog = path.join(dir, 'flaky-calls.jsonl');
  const call = (name: string, args: Record<string, unknown> = {}) => agent.callTool({ name, arguments: args }) as Promise<CallToolResult>;

  beforeAll(async () => {
    lx = await startLexecon();
    flaky = run(process.execPath, tsxArgs('test/gateway/fixtures/flaky-server.ts'), { FLAKY_HTTP: '1', FLAKY_CALL_LOG: flakyLog });
    const flakyUrl = (await waitForText(flaky.output, /flaky listening at (http:\/\/127\.0\.0\.1:\d+\/mcp)/))[1]!;
    const config = writeJsonFile('gateway.json', {
      lexecon: { url: lx.baseUrl },
      actor: 'ai_agent:http-bot',
      upstream_name: 'crm',
      upstreams: { flaky: { url: flakyUrl } },
      unknown_tools: 'decide',
      hide_forbidden_tools: true,
      tools: { 'crm.ping': { escalation_wait_s: 2 } },
    });
    gateway = run(
      process.execPath,
      tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--listen', 'http://127.0.0.1:0/mcp', '--', ...exampleServer(lx.baseUrl, crmLog)]),
      { LEXECON_API_KEY: lx.apiKey },
    );
    const url = (await waitForText(gateway.output, /lexecon mcp-gateway: listening at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 60_000))[1]!;
    agent = new Client({ name: 'http-agent', version: '1.0.0' });
    await agent.connect(new StreamableHTTPClientTransport(new URL(url)));
  }, 90_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    gateway?.child.kill('SIGKILL');
    flaky?.child.kill('SIGKILL');
    lx?.proc.child.kill('SIGKILL');
  });

  it('lists the tools of both upstreams but those the policy denies outright (hide_forbidden_tools: a dry run, no ledger entry)', async () => {
    const entriesBefore = (await lx.api('GET', '/ledger/verify', lx.adminToken)).body.entries_checked as number;
    const names = (await agent.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['crm.lookup_customer', 'crm.list_orders', 'crm.ping', 'flaky.echo', 'flaky.admin_reset']));
    expect(names).not.toContain('crm.delete_records');
    expect(names).not.toContain('crm.export_customers'); // not in the strict policy: denied
    expect((await lx.api('GET', '/ledger/verify', lx.adminToken)).body.entries_checked).toBe(entriesBefore);
  });

  it('approved: reaches the stdio upstream with a token it verifies, and the HTTP upstream with the token in _meta', async () => {
    const res = await call('crm.lookup_customer', { customer_id: 'c-7' });
    expect(res.isError ?? false, textOf(res)).toBe(false);
    expect(jsonLines(crmLog).at(-1)).toMatchObject({ tool: 'lookup_customer', executed: true });
    const echo = await call('flaky.echo', { note: 'over http' });
    expect(textOf(echo)).toBe('{"note":"over http"}');
    const seen = jsonLines(flakyLog).at(-1)!;
    expect(seen.tool).toBe('echo');
    expect(seen.meta['lexecon/capability_token']).toMatch(/^cap_/);
    expect(seen.meta['lexecon/decision_id']).toBe(echo._meta?.['lexecon/decision_id']);
  });

  it('denied (a hidden tool called anyway: still decided): refused with the reason and decision id, never forwarded', async () => {
    const res = await call('crm.delete_records', { customer_id: 'c-7' });
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/denied by Lexecon: .*\(decision dec_\w+\)/);
    expect(jsonLines(crmLog).some((c) => c.tool === 'delete_records')).toBe(false);
  });

  it('escalated and nobody answers within escalation_wait_s: refused, the upstream never called', async () => {
    const started = Date.now();
    const res = await call('crm.ping');
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/no person resolved the escalation within 2 s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(jsonLines(crmLog).some((c) => c.tool === 'ping')).toBe(false);
    const id = /decision (dec_\w+)/.exec(textOf(res))![1]!;
    expect((await lx.api('GET', `/decide/${id}`, lx.adminToken)).body.effective_outcome).toBe('escalated');
  }, 20_000);
});

describe('mcp-gateway as a process: configuration errors and exit', () => {
  it('a malformed config: exit 2, every problem listed with its path', async () => {
    const config = writeJsonFile('bad.json', {
      lexecon: { url: 'not a url', api_key: 'lxk_secret' },
      tools: { 'crm.x': { on_unavailable: 'allow', risk_level: 7 }, nodot: {} },
      unknown_tools: 'sometimes',
      max_argument_bytes: -1,
    });
    const gw = run(process.execPath, tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--', 'true']), { LEXECON_API_KEY: 'x' });
    expect(await gw.exited).toBe(2);
    const out = gw.output();
    for (const where of [
      '$.lexecon.url',
      '$.lexecon.api_key: the API key is never read from the file',
      '$.actor',
      '$.tools["crm.x"].on_unavailable: "allow" is not accepted',
      '$.tools["crm.x"].risk_level',
      '$.tools.nodot',
      '$.unknown_tools',
      '$.max_argument_bytes',
    ]) {
      expect(out).toContain(where);
    }
    expect(out).toMatch(/: 8 problem\(s\)/);
    expect(out).not.toContain('lxk_secret');
  }, 30_000);

  it('no API key in the environment, an agent side off loopback: exit 2 with the reason', async () => {
    const config = writeJsonFile('ok.json', { lexecon: { url: 'http://127.0.0.1:1' }, actor: 'ai_agent:x' });
    const noKey = run(process.execPath, tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--', 'true']), {});
    expect(await noKey.exited).toBe(2);
    expect(noKey.output()).toContain('set LEXECON_API_KEY');
    const offLoopback = run(process.execPath, tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--listen', 'http://0.0.0.0:0/mcp', '--', 'true']), {
      LEXECON_API_KEY: 'x',
    });
    expect(await offLoopback.exited).toBe(2);
    expect(offLoopback.output()).toContain('loopback only');
  }, 30_000);

  it('the agent closing stdin ends the gateway: exit 0, its upstream closed', async () => {
    const config = writeJsonFile('ok.json', { lexecon: { url: 'http://127.0.0.1:1' }, actor: 'ai_agent:x', upstream_name: 'flaky' });
    const gw = run(process.execPath, tsxArgs('src/cli.ts', ['mcp-gateway', '--config', config, '--', process.execPath, ...tsxArgs('test/gateway/fixtures/flaky-server.ts')]), {
      LEXECON_API_KEY: 'x',
    });
    await waitForText(gw.output, /1 upstream\(s\) connected: flaky/, 30_000);
    gw.child.stdin.end();
    expect(await gw.exited).toBe(0);
  }, 40_000);
});
