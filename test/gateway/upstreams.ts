/** The upstream MCP servers the gateway tests put behind it, and reading a tool result. */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { tsxArgs } from './peers.js';

/**
 * The example tool server as `crm` (stdio): verifies the token in _meta itself against the keys of
 * `lexeconUrl` and appends each call to `callLog` as `{ts, tool, executed, reason?, jti?, decision_id?}`.
 */
export function exampleServer(lexeconUrl: string, callLog: string): string[] {
  return [process.execPath, ...tsxArgs('examples/mcp-tool-server/server.ts', ['--name', 'crm', '--lexecon-url', lexeconUrl, '--call-log', callLog])];
}

/** The text of a tool result's content items, joined. */
export function textOf(res: CallToolResult): string {
  return res.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}
