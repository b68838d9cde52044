/**
 * README "Govern an MCP agent in five minutes" runs: its policy (examples/mcp-tool-server/crm-policy.json),
 * its config (examples/mcp-gateway/gateway.json) and its command, against a real server process. The one
 * difference: `--lexecon-url`, since the test server's port is chosen by the OS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { BASE_ENV, jsonLines, startLexecon, tsxArgs, type Lexecon } from './peers.js';
import { exampleServer, textOf } from './upstreams.js';

describe('README: govern an MCP agent in five minutes', () => {
  let lx: Lexecon;
  let agent: Client;
  const dir = tempDir('lexecon-gw-readme-');
  const audit = path.join(dir, 'calls.jsonl');
  const crmLog = path.join(dir, 'crm.jsonl');
  const call = (name: string, args: Record<string, unknown> = {}) => agent.callTool({ name, arguments: args }) as Promise<CallToolResult>;

  beforeAll(async () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('-d @examples/mcp-tool-server/crm-policy.json');
    expect(readme).toContain('npx lexecon mcp-gateway --config examples/mcp-gateway/gateway.json \\\n  --audit-log calls.jsonl -- node --import tsx examples/mcp-tool-server/server.ts');
    lx = await startLexecon();
    const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples/mcp-tool-server/crm-policy.json'), 'utf8')) as unknown;
    const loaded = await lx.api('POST', '/policies/load', lx.adminToken, policy);
    expect(loaded.status, JSON.stringify(loaded.body)).toBe(201);
    agent = new Client({ name: 'readme-agent', version: '1.0.0' });
    await agent.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: tsxArgs('src/cli.ts', [
          'mcp-gateway',
          '--config',
          'examples/mcp-gateway/gateway.json',
          '--lexecon-url',
          lx.baseUrl,
          '--audit-log',
          audit,
          '--',
          ...exampleServer(lx.baseUrl, crmLog),
        ]),
        cwd: REPO_ROOT,
        env: { ...BASE_ENV(), LEXECON_API_KEY: lx.apiKey },
        stderr: 'ignore',
      }),
    );
  }, 90_000);

  afterAll(async () => {
    await agent?.close().catch(() => undefined);
    lx?.proc.child.kill('SIGKILL');
  });

  it('lists the tools but the denied one, approves ping, masks a customer, refuses a deletion, audits each call', async () => {
    const names = (await agent.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['export_customers', 'list_orders', 'lookup_customer', 'ping']);
    expect((await call('ping')).structuredContent).toEqual({ pong: true });
    const customer = await call('lookup_customer', { customer_id: 'c-42' });
    expect(customer.isError ?? false, textOf(customer)).toBe(false);
    expect(JSON.stringify(customer.structuredContent)).not.toContain('ada@example.com');
    const orders = await call('list_orders', {});
    expect((orders.structuredContent as { rows: unknown[] }).rows).toHaveLength(10);
    const deletion = await call('delete_records', { customer_id: 'c-42' });
    expect(deletion.isError).toBe(true);
    expect(textOf(deletion)).toMatch(/denied by Lexecon: .*forbids.*crm\.delete_records.*\(decision dec_\w+\)/);
    expect(jsonLines(crmLog).map((c) => c.tool)).toEqual(['ping', 'lookup_customer', 'list_orders']);
    expect(jsonLines(audit).map((l) => [l.tool, l.outcome, l.result])).toEqual([
      ['ping', 'approved', 'ok'],
      ['lookup_customer', 'conditional', 'ok'],
      ['list_orders', 'conditional', 'ok'],
      ['delete_records', 'denied', 'refused'],
    ]);
  }, 30_000);
});
