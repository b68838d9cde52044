/**
 * A small MCP tool server that acts only on a Lexecon capability token it verified itself.
 *
 *   node --import tsx examples/mcp-tool-server/server.ts --lexecon-url http://127.0.0.1:8000      # stdio
 *   node --import tsx examples/mcp-tool-server/server.ts --public-keys keys.json --http 0          # Streamable HTTP
 *
 * Tools (server name `--name`, default `crm`): `lookup_customer`, `list_orders` (50 rows), `delete_records`,
 * `export_customers`, `ping`. A call must carry `_meta["lexecon/capability_token"]`: a token for the action
 * `<name>.<tool>` and the tool `<name>`, signed by a Lexecon key, not expired, not used here before
 * (single-use: its `jti` is remembered until it expires) and, when online (`--lexecon-url` and env
 * LEXECON_API_KEY), not revoked (`POST /decide/verify`). Anything else is refused with an MCP tool error
 * result (`isError: true`) naming the reason; the tool does not run. The token's conditions (`cnd`) are
 * honoured (`redact:pii`, `redact:<field>`, `max_rows:<n>`); a condition it does not know means it must not act.
 *
 * It uses `lexecon/verify` only (plus `lexecon/client` for the online revocation check). See README.md.
 */
import fs from 'node:fs';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { LexeconClient, LexeconUnavailableError } from 'lexecon/client';
import { KeySet, publicKeysFrom, verifyCapabilityToken, verifyCapabilityTokenWithKeySet, type CapabilityClaims, type TokenVerdict } from 'lexecon/verify';
import type { KeyObject } from 'node:crypto';

/** The `_meta` keys the governance gateway sets (fixed). */
const META_TOKEN = 'lexecon/capability_token';
const META_DECISION = 'lexecon/decision_id';
const META_CONDITIONS = 'lexecon/conditions';

const USAGE = `usage: server.ts [--name crm] [--http <port>] (--lexecon-url <url> | --public-keys <keys.json|key.pem>) [--call-log <file>]
  --name          the server's name: tokens must be for action <name>.<tool> and tool <name> (default crm)
  --http <port>   Streamable HTTP on 127.0.0.1:<port>/mcp (0: any free port, printed) instead of stdio
  --lexecon-url   fetch the public keys from Lexecon (GET /api/governance/keys, refreshed on a new kid);
                  with env LEXECON_API_KEY also check revocation online (POST /decide/verify)
  --public-keys   the keys offline: the JSON of GET /api/governance/keys, or an Ed25519 public key PEM
  --key-refresh-s at most one fetch of the keys per this many seconds for unknown kids (default 30)
  --call-log      append one JSON line per call: {ts, tool, executed, reason?, jti?, decision_id?}`;

// ---------------------------------------------------------------- the tools' data

const CUSTOMERS = Array.from({ length: 5 }, (_, i) => ({
  customer_id: `c-${42 + i}`,
  name: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov'][i]!,
  email: `${['ada', 'alan', 'grace', 'edsger', 'barbara'][i]}@example.com`,
  phone: `+44 20 7946 00${18 + i}`,
  tier: i % 2 === 0 ? 'gold' : 'standard',
}));
const deleted = new Set<string>();
const ORDERS = Array.from({ length: 50 }, (_, i) => ({
  order_id: `o-${1001 + i}`,
  customer_id: CUSTOMERS[i % CUSTOMERS.length]!.customer_id,
  status: ['shipped', 'processing', 'delivered'][i % 3]!,
  total_eur: 10 + ((i * 37) % 490),
}));

type Structured = Record<string, unknown>;
interface ToolDef {
  description: string;
  input: z.ZodRawShape;
  run: (args: Record<string, unknown>) => Structured;
}

const TOOLS: Record<string, ToolDef> = {
  lookup_customer: {
    description: 'A customer record (personal data: name, email, phone).',
    input: { customer_id: z.string().max(64) },
    run: (a) => {
      const c = CUSTOMERS.find((x) => x.customer_id === a.customer_id && !deleted.has(x.customer_id));
      return c ? { found: true, customer: { ...c } } : { found: false };
    },
  },
  list_orders: {
    description: 'Orders, newest first, as rows (50 in all).',
    input: { customer_id: z.string().max(64).optional() },
    run: (a) => ({ rows: ORDERS.filter((o) => a.customer_id === undefined || o.customer_id === a.customer_id).map((o) => ({ ...o })) }),
  },
  delete_records: {
    description: 'Delete a customer’s records.',
    input: { customer_id: z.string().max(64) },
    run: (a) => {
      deleted.add(String(a.customer_id));
      return { deleted: a.customer_id };
    },
  },
  export_customers: {
    description: 'Every customer record (leaves the company).',
    input: {},
    run: () => ({ rows: CUSTOMERS.filter((c) => !deleted.has(c.customer_id)).map((c) => ({ ...c })) }),
  },
  ping: {
    description: 'Answers pong (for benchmarks).',
    input: {},
    run: () => ({ pong: true }),
  },
};

// ---------------------------------------------------------------- conditions

const PII_FIELDS = new Set(['name', 'email', 'phone']);

/** Apply the token's conditions to a result, walking it with an explicit stack; or the condition not understood. */
function applyConditions(result: Structured, conditions: readonly string[]): { result: Structured } | { unsupported: string } {
  const redact = new Set<string>();
  let maxRows: number | undefined;
  for (const cnd of conditions) {
    if (cnd === 'redact:pii') for (const f of PII_FIELDS) redact.add(f);
    else if (cnd.startsWith('redact:') && cnd.length > 7) redact.add(cnd.slice(7));
    else if (/^max_rows:[0-9]{1,9}$/.test(cnd)) maxRows = Math.min(maxRows ?? Infinity, Number(cnd.slice(9)));
    else return { unsupported: cnd };
  }
  const out = structuredClone(result);
  if (maxRows !== undefined && Array.isArray(out.rows)) out.rows = out.rows.slice(0, maxRows);
  if (redact.size > 0) {
    const stack: unknown[] = [out];
    while (stack.length > 0) {
      const node = stack.pop();
      if (Array.isArray(node)) stack.push(...node);
      else if (typeof node === 'object' && node !== null) {
        const obj = node as Record<string, unknown>;
        for (const [k, v] of Object.entries(obj)) {
          if (redact.has(k) && v !== null && typeof v !== 'object') obj[k] = '[redacted]';
          else stack.push(v);
        }
      }
    }
  }
  return { result: out };
}

// ---------------------------------------------------------------- the guard

interface Options {
  name: string;
  http: number | undefined;
  lexeconUrl: string | undefined;
  publicKeys: string | undefined;
  callLog: string | undefined;
  keyRefreshMs: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', default: 'crm' },
      http: { type: 'string' },
      'lexecon-url': { type: 'string' },
      'public-keys': { type: 'string' },
      'call-log': { type: 'string' },
      'key-refresh-s': { type: 'string', default: '30' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const problems: string[] = [];
  const port = values.http === undefined ? undefined : Number(values.http);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) problems.push('--http must be a port 0–65535');
  const refreshS = Number(values['key-refresh-s']);
  if (!(Number.isFinite(refreshS) && refreshS >= 0 && refreshS <= 86_400)) problems.push('--key-refresh-s must be 0–86400 seconds');
  if (!values['lexecon-url'] && !values['public-keys']) problems.push('give --lexecon-url or --public-keys');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(values.name)) problems.push('--name must be 1–64 letters, digits, _ or -');
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return { name: values.name, http: port, lexeconUrl: values['lexecon-url'], publicKeys: values['public-keys'], callLog: values['call-log'], keyRefreshMs: refreshS * 1000 };
}

class UsageError extends Error {}

type Verifier = (token: string, expected: { action: string; tool: string }) => Promise<TokenVerdict>;

function offlineVerifier(file: string): Verifier {
  const text = fs.readFileSync(file, 'utf8');
  let keys: ReadonlyMap<string, KeyObject> | string[];
  if (text.trimStart().startsWith('-----BEGIN')) keys = [text];
  else keys = publicKeysFrom(JSON.parse(text));
  if (!Array.isArray(keys) && keys.size === 0) throw new UsageError(`${file} lists no Ed25519 key`);
  return async (token, expected) => verifyCapabilityToken(token, { publicKeys: keys, ...expected });
}

interface CallRecord {
  ts: string;
  tool: string;
  executed: boolean;
  reason?: string;
  jti?: string;
  decision_id?: string;
}

/** The guard: every check before a tool runs. */
class Guard {
  /** jti → exp (Unix s): tokens used here, forgotten once they would fail as expired anyway. */
  readonly #used = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly verify: Verifier,
    private readonly online: LexeconClient | undefined,
    private readonly callLog: string | undefined,
  ) {}

  log(rec: CallRecord): void {
    if (this.callLog) fs.appendFileSync(this.callLog, `${JSON.stringify(rec)}\n`);
    process.stderr.write(`mcp-tool-server: ${rec.executed ? 'EXECUTED' : 'REFUSED'} ${rec.tool}${rec.reason ? ` (${rec.reason})` : ''}\n`);
  }

  /** The verified claims, or the reason to refuse. */
  async check(tool: string, meta: Record<string, unknown> | undefined): Promise<{ claims: CapabilityClaims } | { reason: string; claims?: CapabilityClaims }> {
    const token = meta?.[META_TOKEN];
    if (token === undefined) return { reason: 'missing_token' };
    if (typeof token !== 'string') return { reason: 'malformed' };
    const expected = { action: `${this.name}.${tool}`, tool: this.name };
    let verdict: TokenVerdict;
    try {
      verdict = await this.verify(token, expected);
    } catch {
      return { reason: 'keys_unavailable' }; // the keys could not be fetched: fail closed
    }
    if (!verdict.valid) return { reason: verdict.reason, ...(verdict.claims ? { claims: verdict.claims } : {}) };
    const claims = verdict.claims;
    const now = Math.floor(Date.now() / 1000);
    for (const [jti, exp] of this.#used) if (exp <= now) this.#used.delete(jti);
    if (this.#used.has(claims.jti)) return { reason: 'replayed', claims };
    this.#used.set(claims.jti, claims.exp); // taken now: a concurrent replay is refused too
    if (this.online) {
      try {
        const v = await this.online.verifyToken(token, expected);
        if (!v.valid) return { reason: v.reason, claims };
      } catch (err) {
        return { reason: err instanceof LexeconUnavailableError ? 'lexecon_unreachable' : 'online_check_failed', claims };
      }
    }
    return { claims };
  }
}

function refusal(reason: string, decisionId: string | undefined): CallToolResult {
  const text = `refused by the tool: ${reason}${decisionId ? ` (decision ${decisionId})` : ''}`;
  return { isError: true, content: [{ type: 'text', text }], structuredContent: { refused: true, reason } };
}

function buildServer(guard: Guard, serverName: string): McpServer {
  const server = new McpServer({ name: `${serverName}-tool-server`, version: '1.0.0' });
  for (const [tool, def] of Object.entries(TOOLS)) {
    server.registerTool(tool, { description: def.description, inputSchema: def.input }, async (args: Record<string, unknown>, extra) => {
      const meta = extra._meta as Record<string, unknown> | undefined;
      const metaDecision = typeof meta?.[META_DECISION] === 'string' ? (meta[META_DECISION] as string) : undefined;
      const ts = new Date().toISOString();
      const checked = await guard.check(tool, meta);
      const decisionId = metaDecision ?? checked.claims?.dec;
      const ids = { ...(checked.claims ? { jti: checked.claims.jti } : {}), ...(decisionId ? { decision_id: decisionId } : {}) };
      if ('reason' in checked) {
        guard.log({ ts, tool, executed: false, reason: checked.reason, ...ids });
        return refusal(checked.reason, decisionId);
      }
      const done = applyConditions(def.run(args), checked.claims.cnd ?? []);
      if ('unsupported' in done) {
        guard.log({ ts, tool, executed: false, reason: `unsupported_condition:${done.unsupported}`, ...ids });
        return refusal(`unsupported_condition:${done.unsupported}`, decisionId);
      }
      guard.log({ ts, tool, executed: true, ...ids });
      return { content: [{ type: 'text', text: JSON.stringify(done.result) }], structuredContent: done.result };
    });
  }
  return server;
}

async function serveHttp(guard: Guard, serverName: string, port: number): Promise<void> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const httpServer = http.createServer((req, res) => {
    void (async () => {
      if (!req.url?.startsWith('/mcp')) {
        res.writeHead(404).end();
        return;
      }
      const sid = req.headers['mcp-session-id'];
      const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (existing) return existing.handleRequest(req, res);
      if (req.method !== 'POST' || sid !== undefined) {
        res.writeHead(sid === undefined ? 405 : 404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no such session' }, id: null }));
        return;
      }
      const body = await readJson(req);
      if (!isInitializeRequest(body)) {
        res.writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'initialize first' }, id: null }));
        return;
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, transport),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await buildServer(guard, serverName).connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((err: Error) => {
      process.stderr.write(`mcp-tool-server: ${err.message}\n`);
      if (!res.headersSent) res.writeHead(400).end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const { port: chosen } = httpServer.address() as { port: number };
  process.stderr.write(`mcp-tool-server: listening at http://127.0.0.1:${chosen}/mcp\n`);
  const stop = () => {
    for (const t of sessions.values()) void t.close();
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A request body as JSON (at most 4 MiB; the SDK checks the message itself). */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 4 * 1024 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  let verify: Verifier;
  if (opts.publicKeys) {
    verify = offlineVerifier(opts.publicKeys);
  } else {
    const keySet = new KeySet({ baseUrl: opts.lexeconUrl!, minRefreshIntervalMs: opts.keyRefreshMs });
    verify = (token, expected) => verifyCapabilityTokenWithKeySet(token, keySet, expected);
  }
  // An example program reads its own environment; the client library never does.
  const apiKey = process.env.LEXECON_API_KEY;
  const online = opts.lexeconUrl && apiKey ? new LexeconClient({ baseUrl: opts.lexeconUrl, apiKey, retries: 1, timeoutMs: 5_000 }) : undefined;
  const guard = new Guard(opts.name, verify, online, opts.callLog);
  process.stderr.write(
    `mcp-tool-server: "${opts.name}" with tools ${Object.keys(TOOLS).join(', ')}; keys ${opts.publicKeys ? `from ${opts.publicKeys}` : `from ${opts.lexeconUrl}`}${online ? ', revocation checked online' : ', offline only'}\n`,
  );
  if (opts.http !== undefined) return serveHttp(guard, opts.name, opts.http);
  await buildServer(guard, opts.name).connect(new StdioServerTransport());
}

main().catch((err: Error) => {
  process.stderr.write(`mcp-tool-server: ${err.message}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
  process.exit(2);
});
