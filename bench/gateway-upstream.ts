/** The trivial upstream MCP server of `npm run bench:gateway` (stdio): one tool, `ping`, answering `{pong: true}`. */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'bench', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [{ name: 'ping', description: 'pong', inputSchema: { type: 'object' as const } }] }));
server.setRequestHandler(CallToolRequestSchema, () => ({ content: [{ type: 'text', text: '{"pong":true}' }], structuredContent: { pong: true } }));
await server.connect(new StdioServerTransport());
