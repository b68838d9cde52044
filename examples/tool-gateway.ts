/**
 * A tool gateway that acts only on a valid Lexecon capability token — verified OFFLINE.
 *
 *   LEXECON_URL=http://127.0.0.1:8000 npx tsx examples/tool-gateway.ts
 *
 * It serves one tool (`crm`, or GATEWAY_TOOL) at `POST /actions/<action>` with
 * `Authorization: Bearer cap_…` and a JSON body of parameters. Before it does anything it checks, with
 * `lexecon/verify` (nothing but `node:crypto`) and Lexecon's public key, that the token
 *   - is well formed and signed (Ed25519) by a Lexecon key it knows (by `kid`),
 *   - was issued for exactly this action (`act`) and this tool (`tool`),
 *   - has not expired (`exp`) and was not issued in the future (`iat`, 60 s clock skew),
 *   - has not been used at this gateway before (tokens are single-use here: `jti` remembered until `exp`).
 * Conditions carried in the token (`cnd`, e.g. `redact:pii`) are honoured.
 *
 * The public keys are fetched ONCE at start from `GET /api/governance/keys` (anonymous), or read from a
 * PEM file (LEXECON_PUBLIC_KEY_FILE) so that the gateway needs no connection to Lexecon at all. After
 * that no request goes to Lexecon: the gateway keeps working if Lexecon is down.
 *
 * The caveat of offline verification: it cannot see REVOCATION. A token revoked on the server (or every
 * token issued before an emergency stop) still verifies here until it expires — keep LEXECON_TOKEN_TTL_S
 * short (default 300 s). A gateway that must honour revocation at once sets GATEWAY_VERIFY_ONLINE=1 and
 * LEXECON_API_KEY: it then also asks `POST /decide/verify` (signature, expiry, revocation, action, tool)
 * and refuses when Lexecon says no or cannot be reached.
 *
 * Environment: LEXECON_URL (http://127.0.0.1:8000), LEXECON_PUBLIC_KEY_FILE (PEM, instead of fetching),
 * GATEWAY_HOST (127.0.0.1), GATEWAY_PORT (8100; 0 = any free port), GATEWAY_TOOL (crm),
 * GATEWAY_VERIFY_ONLINE (unset), LEXECON_API_KEY (with GATEWAY_VERIFY_ONLINE).
 *
 * The verifier is `lexecon/verify` (this package's export): it needs nothing but `node:crypto`, pulls in no
 * other Lexecon code, and gives the same verdicts as the server's own `verifyTokenOffline` (DESIGN §5).
 * A tool that must follow key rotation uses its `KeySet` (see examples/mcp-tool-server).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { computeKid, publicKeysFrom, verifyCapabilityToken } from 'lexecon/verify';

// ---------------------------------------------------------------- the trusted keys

/** Ed25519 public keys by kid: from a PEM file, or fetched once from Lexecon (the kid is computed, never taken on trust). */
async function loadKeys(lexeconUrl: string, pemFile: string | undefined): Promise<Map<string, KeyObject>> {
  let keys: Map<string, KeyObject>;
  if (pemFile) {
    const key = createPublicKey(readFileSync(pemFile, 'utf8'));
    keys = key.asymmetricKeyType === 'ed25519' ? new Map([[computeKid(key), key]]) : new Map();
  } else {
    const res = await fetch(new URL('/api/governance/keys', lexeconUrl));
    if (!res.ok) throw new Error(`GET /api/governance/keys answered ${res.status}`);
    keys = publicKeysFrom(await res.json());
  }
  if (keys.size === 0) throw new Error('no Ed25519 public key found');
  return keys;
}

// ---------------------------------------------------------------- the tool

type Params = Record<string, unknown>;
const CUSTOMERS = [
  { customer_id: 'c-42', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0018' },
  { customer_id: 'c-43', name: 'Alan Turing', email: 'alan@example.com', phone: '+44 20 7946 0019' },
];
/** What the CRM tool can do. Lexecon decides which of these an agent may do, and when. */
const ACTIONS: Record<string, (p: Params) => unknown> = {
  read_order: (p) => ({ order_id: p.order_id ?? 'o-1001', status: 'shipped', carrier: 'DHL' }),
  read_customer: (p) => CUSTOMERS.find((c) => c.customer_id === (p.customer_id ?? 'c-42')) ?? null,
  bulk_export: () => ({ rows: CUSTOMERS.length, customers: CUSTOMERS }),
  delete_records: (p) => ({ deleted: p.customer_id ?? 'c-42' }),
};

/** Honour the token's conditions; a condition this tool does not understand means it must not act. */
function applyConditions(result: unknown, conditions: string[]): { result: unknown } | { unsupported: string } {
  let out = result;
  for (const cnd of conditions) {
    if (cnd === 'redact:pii') {
      out = JSON.parse(JSON.stringify(out), (k, v) => (['email', 'phone', 'name'].includes(k) && typeof v === 'string' ? '[redacted]' : v));
    } else {
      return { unsupported: cnd };
    }
  }
  return { result: out };
}

async function main(): Promise<void> {
  const lexeconUrl = process.env.LEXECON_URL ?? 'http://127.0.0.1:8000';
  const tool = process.env.GATEWAY_TOOL ?? 'crm';
  const online = process.env.GATEWAY_VERIFY_ONLINE === '1';
  const apiKey = process.env.LEXECON_API_KEY;
  if (online && !apiKey) throw new Error('GATEWAY_VERIFY_ONLINE=1 needs LEXECON_API_KEY');
  const keys = await loadKeys(lexeconUrl, process.env.LEXECON_PUBLIC_KEY_FILE);
  /** jti → exp: tokens already used here (forgotten once expired, when they would fail anyway). */
  const used = new Map<string, number>();
  const log = (line: string) => process.stdout.write(`gateway: ${line}\n`);

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
      if (raw.length > 65_536) req.destroy();
    });
    req.on('end', () => {
      void (async () => {
        const m = /^\/actions\/([A-Za-z0-9_:.-]+)$/.exec(req.url ?? '');
        const action = m?.[1];
        if (req.method !== 'POST' || !action || !ACTIONS[action]) return reply(404, { error: 'no such action' });
        const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!token) {
          log(`REFUSED ${action}: no capability token`);
          return reply(401, { error: 'a capability token is required (Authorization: Bearer cap_…)' });
        }
        const verdict = verifyCapabilityToken(token, { publicKeys: keys, action, tool });
        if (!verdict.valid) {
          log(`REFUSED ${action}: ${verdict.reason}`);
          return reply(403, { error: verdict.reason });
        }
        const c = verdict.claims;
        const now = Math.floor(Date.now() / 1000);
        for (const [jti, exp] of used) if (exp <= now) used.delete(jti);
        if (used.has(c.jti)) {
          log(`REFUSED ${action}: token ${c.jti} already used (replay)`);
          return reply(409, { error: 'replayed' });
        }
        if (online) {
          const check = await fetch(new URL('/decide/verify', lexeconUrl), {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
            body: JSON.stringify({ token, action, tool }),
          }).then((r) => (r.ok ? (r.json() as Promise<{ valid: boolean; reason: string }>) : { valid: false, reason: `lexecon answered ${r.status}` }))
            .catch((err: Error) => ({ valid: false, reason: `lexecon unreachable: ${err.message}` }));
          if (!check.valid) {
            log(`REFUSED ${action}: online check: ${check.reason}`);
            return reply(403, { error: check.reason });
          }
        }
        let params: Params = {};
        try {
          params = raw ? (JSON.parse(raw) as Params) : {};
        } catch {
          return reply(400, { error: 'the body must be JSON' });
        }
        const done = applyConditions(ACTIONS[action]!(params), c.cnd ?? []);
        if ('unsupported' in done) {
          log(`REFUSED ${action}: condition ${done.unsupported} not supported by this tool`);
          return reply(403, { error: `unsupported condition ${done.unsupported}` });
        }
        used.set(c.jti, c.exp);
        const cnd = c.cnd?.length ? ` honouring ${c.cnd.join(', ')}` : '';
        log(`ACTED ${action} for ${c.sub}${cnd} (decision ${c.dec}, token ${c.jti}, ledger ${c.led.slice(0, 12)}…)`);
        return reply(200, { action, tool, decision_id: c.dec, conditions: c.cnd ?? [], result: done.result });
      })().catch((err: Error) => {
        log(`ERROR ${err.message}`);
        reply(500, { error: 'internal error' });
      });
    });
  });

  const host = process.env.GATEWAY_HOST ?? '127.0.0.1';
  server.listen(Number(process.env.GATEWAY_PORT ?? 8100), host, () => {
    const { port } = server.address() as { port: number };
    log(`tool "${tool}" with ${keys.size} trusted key(s) (${[...keys.keys()].join(', ')}), offline verification${online ? ' + online revocation check' : ''}`);
    log(`listening at http://${host}:${port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`gateway: ${err.message}\n`);
  process.exit(1);
});
