/**
 * The gateway's face to the agent: an MCP server (stdio, or Streamable HTTP on 127.0.0.1, one session
 * per client) whose tools/list passes the upstreams' tools through and whose tools/call goes through
 * handleToolCall (Lexecon decides first).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, isInitializeRequest, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { handleToolCall, type CallContext } from './gateway.call.js';
import { resolveToolSettings } from './gateway.config.js';
import { actorFor } from './gateway.mapping.js';
import type { RoutedTool } from './gateway.upstream.js';

export interface GatewayCore extends CallContext {
  version: string;
  log: (line: string) => void;
}

/**
 * hide_forbidden_tools: the tools whose dry run (POST /policies/evaluate, no ledger entry) is not
 * `denied` for this actor. A tool whose dry run fails (Lexecon unreachable, an error) is hidden too
 * (fail closed); its calls would be refused anyway. Listing is a convenience, not the boundary: every
 * call is decided by POST /decide whatever was listed.
 */
async function withoutForbidden(core: GatewayCore, routed: RoutedTool[], clientName: string | undefined, signal: AbortSignal): Promise<RoutedTool[]> {
  const actor = actorFor(core.config, clientName);
  if (!actor.ok) return [];
  const verdicts = await Promise.all(
    routed.map(async (r) => {
      const s = resolveToolSettings(core.config, r.server, r.tool);
      try {
        const evaluation = await core.lexecon.evaluate(
          { actor: actor.actor, action: s.proposedAction, ...(s.dataClasses !== undefined ? { data_classes: s.dataClasses } : {}) },
          { signal },
        );
        return evaluation.outcome !== 'denied';
      } catch (err) {
        core.log(`hide_forbidden_tools: the dry run of ${r.server}.${r.tool} failed, the tool is hidden: ${(err as Error).message}`);
        return false;
      }
    }),
  );
  return routed.filter((_, i) => verdicts[i]);
}

/** One MCP server to one agent connection. */
export function createAgentServer(core: GatewayCore): Server {
  const server = new Server(
    { name: 'lexecon-mcp-gateway', version: core.version },
    {
      capabilities: { tools: {} },
      instructions: 'Every tool call is decided by Lexecon before it reaches the tool; refusals name the reason and the decision id.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => {
    const routed = await core.upstreams.listTools(extra.signal);
    // With unknown_tools "refuse", a tool the configuration does not name would only ever be refused:
    // it is not listed.
    let listed = routed.filter(
      (r) => core.config.unknown_tools === 'decide' || resolveToolSettings(core.config, r.server, r.tool).configured,
    );
    if (core.config.hide_forbidden_tools) listed = await withoutForbidden(core, listed, server.getClientVersion()?.name, extra.signal);
    return { tools: listed.map((r) => r.listed) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const progressToken = req.params._meta?.progressToken;
    return handleToolCall(core, {
      name: req.params.name,
      args: req.params.arguments,
      clientName: server.getClientVersion()?.name,
      signal: extra.signal,
      progress:
        progressToken === undefined
          ? undefined
          : (progress, total, message) =>
              extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } }),
    });
  });
  return server;
}

/**
 * The largest message the agent may send on stdio. The SDK's transport closes the whole connection on a
 * message over its buffer (10 MiB by default); the gateway reads up to this much so that oversized
 * arguments get a refusal naming max_argument_bytes instead.
 */
export function stdioBufferBytes(maxArgumentBytes: number): number {
  return Math.max(32 * 1024 * 1024, maxArgumentBytes * 2 + 1024 * 1024);
}

/** Serve one agent on stdin/stdout; resolves when the agent closes the connection. */
export async function serveStdio(core: GatewayCore): Promise<void> {
  const server = createAgentServer(core);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport(process.stdin, process.stdout, { maxBufferSize: stdioBufferBytes(core.maxArgumentBytes) }));
  // The SDK's transport does not watch for the end of stdin: the agent closing it (or a signal) ends
  // the session here, so that the upstreams are closed and the audit log flushed before exiting.
  const end = () => void server.close();
  process.stdin.once('end', end);
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
  await closed;
}

/** Read a request body up to `limit` bytes; undefined when it is larger. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function jsonRpcError(res: http.ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export interface HttpGateway {
  url: string;
  close(): Promise<void>;
}

/**
 * Serve agents over Streamable HTTP at `http://<host>:<port><path>` (host 127.0.0.1 or localhost only:
 * the agent side has no authentication of its own). Port 0 lets the OS choose; `url` is the real one.
 */
export async function serveHttp(core: GatewayCore, listen: URL): Promise<HttpGateway> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  // A request body carries the arguments plus the JSON-RPC envelope: the limit leaves room for escaping.
  const bodyLimit = core.maxArgumentBytes * 2 + 64 * 1024;
  const path = listen.pathname;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) return jsonRpcError(res, 404, -32601, `not found: the MCP endpoint is ${path}`);
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (req.method !== 'POST') {
      if (existing === undefined) return jsonRpcError(res, 400, -32000, 'no valid mcp-session-id');
      return existing.handleRequest(req, res);
    }
    const raw = await readBody(req, bodyLimit);
    if (raw === undefined) return jsonRpcError(res, 413, -32600, `request body larger than ${bodyLimit} bytes (max_argument_bytes ${core.maxArgumentBytes})`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return jsonRpcError(res, 400, -32700, 'the request body is not JSON');
    }
    if (existing !== undefined) return existing.handleRequest(req, res, body);
    if (typeof sessionId === 'string' || !isInitializeRequest(body)) return jsonRpcError(res, 404, -32001, 'unknown session: initialize first');
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await createAgentServer(core).connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      core.log(`http: ${(err as Error).message}`);
      if (!res.headersSent) jsonRpcError(res, 500, -32603, 'internal error');
      else res.end();
    });
  });
  const host = listen.hostname === 'localhost' ? '127.0.0.1' : listen.hostname;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(Number(listen.port || 80), host, () => resolve());
  });
  const addr = httpServer.address() as { port: number };
  return {
    url: `http://${host}:${addr.port}${path}`,
    async close() {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
