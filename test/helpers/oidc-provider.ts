/**
 * A real OpenID Provider (panva `oidc-provider`) for end-to-end tests, listening on
 * 127.0.0.1 only, with its own minimal login/consent interaction endpoints that
 * {@link TestOidcProvider.authorize} drives over HTTP like a browser.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running test provider. */
export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`. */
  issuer: string;
  /** Stops the HTTP server and drops its open connections. */
  close(): Promise<void>;
  /**
   * Plays the browser: requests `authorizationUrl`, follows redirects through the provider's
   * login and consent interactions (signing in as `accountId`, or denying when `deny`), and
   * returns the final redirect to the client's redirect URI (with `code`/`state`, or `error`)
   * without requesting it. A fresh cookie jar is used per call (no provider session reuse).
   */
  authorize(authorizationUrl: string, opts: { accountId: string; deny?: boolean; amr?: string[] }): Promise<URL>;
}

/** Options of {@link startTestOidcProvider}. */
export interface TestOidcProviderOptions {
  /** Registered clients; a client without a secret is public (`token_endpoint_auth_method: none`). */
  clients: Array<{ client_id: string; client_secret?: string; redirect_uris: string[] }>;
  /** accountId → claims, e.g. `{ email, email_verified, preferred_username, name, groups: [...] }`. */
  accounts: Record<string, Record<string, unknown>>;
}

/**
 * The slice of the oidc-provider API used here. The package ships no type declarations, so it is
 * imported through a non-literal specifier (typed `any`) and narrowed to this interface.
 */
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    opts?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => ProviderGrant;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

interface InteractionDetails {
  uid: string;
  prompt: {
    name: string;
    details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}

interface ProviderGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

const OIDC_PROVIDER_MODULE: string = 'oidc-provider';
const UNSUPPORTED_RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime.';

let providerClass: Promise<ProviderConstructor> | undefined;

/**
 * Loads oidc-provider once. On Node 20 its entry module prints an "Unsupported runtime (use
 * Node 22)" warning while being evaluated; that one message is dropped, everything else passes.
 */
function loadProvider(): Promise<ProviderConstructor> {
  providerClass ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith(UNSUPPORTED_RUNTIME_WARNING)) return;
      warn(...args);
    };
    try {
      const mod = (await import(OIDC_PROVIDER_MODULE)) as { default: ProviderConstructor };
      return mod.default;
    } finally {
      console.warn = warn;
    }
  })();
  return providerClass;
}

/**
 * A per-provider in-memory storage adapter. Passing one avoids oidc-provider's process-wide
 * development adapter (and its warning) and keeps providers of different tests isolated.
 */
function createMemoryAdapter(): (model: string) => object {
  interface Entry {
    payload: Record<string, unknown>;
    expiresAt: number;
  }
  const store = new Map<string, Entry>();
  const sessionUids = new Map<string, string>();
  const userCodes = new Map<string, string>();

  const read = (key: string): Record<string, unknown> | undefined => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  return (model: string) => {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        store.set(keyOf(id), { payload, expiresAt });
        if (model === 'Session' && typeof payload.uid === 'string') sessionUids.set(payload.uid, id);
        if (typeof payload.userCode === 'string') userCodes.set(payload.userCode, id);
      },
      async find(id: string): Promise<Record<string, unknown> | undefined> {
        return read(keyOf(id));
      },
      async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
        const id = sessionUids.get(uid);
        return id === undefined ? undefined : read(keyOf(id));
      },
      async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
        const id = userCodes.get(userCode);
        return id === undefined ? undefined : read(keyOf(id));
      },
      async consume(id: string): Promise<void> {
        const payload = read(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string): Promise<void> {
        store.delete(keyOf(id));
      },
      async revokeByGrantId(grantId: string): Promise<void> {
        for (const [key, entry] of store) {
          if (entry.payload.grantId === grantId) store.delete(key);
        }
      },
    };
  };
}

/** A fresh RS256 signing key (avoids oidc-provider's development keys and their warning). */
function signingJwks(): { keys: object[] } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' }] };
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)$/;
const MAX_REDIRECTS = 20;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The interaction endpoints (the provider's "login page"):
 * - `GET /interaction/:uid` → `{ uid, prompt }` (what the page would show);
 * - `POST /interaction/:uid` with form `accountId=…` (sign in / consent) or `deny=1` → 303 back
 *   to the provider.
 * Consent grants exactly what the provider reports missing for the request.
 */
async function handleInteraction(
  provider: ProviderInstance,
  accounts: TestOidcProviderOptions['accounts'],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    sendJson(res, 200, { uid: details.uid, prompt: details.prompt.name });
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: 'method not allowed' });
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  if (form.get('deny') === '1') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User denied the request' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  switch (details.prompt.name) {
    case 'login': {
      const accountId = form.get('accountId') ?? '';
      if (!Object.hasOwn(accounts, accountId)) {
        sendJson(res, 400, { error: `unknown account "${accountId}"` });
        return;
      }
      const amr = form.get('amr');
      const login = amr ? { accountId, amr: amr.split(',') } : { accountId };
      await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
      return;
    }
    case 'consent': {
      const accountId = details.session?.accountId;
      const clientId = details.params.client_id;
      if (accountId === undefined || typeof clientId !== 'string') {
        sendJson(res, 400, { error: 'consent without a signed-in account' });
        return;
      }
      const grant = new provider.Grant({ accountId, clientId });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(resource, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    default:
      sendJson(res, 400, { error: `unsupported prompt "${details.prompt.name}"` });
  }
}

/** A minimal browser cookie jar: name/path scoped, honours deletion, ignores domain (one host). */
class CookieJar {
  readonly #cookies = new Map<string, { value: string; path: string }>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [rawKey = '', ...rest] = attribute.split('=');
        const key = rawKey.trim().toLowerCase();
        const attrValue = rest.join('=').trim();
        if (key === 'path' && attrValue.startsWith('/')) path = attrValue;
        if (key === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (key === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { value, path });
    }
  }

  header(url: URL): string {
    const pairs: string[] = [];
    for (const [id, cookie] of this.#cookies) {
      const matches =
        url.pathname === cookie.path ||
        url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`);
      if (matches) pairs.push(`${id.slice(0, id.indexOf(';'))}=${cookie.value}`);
    }
    return pairs.join('; ');
  }
}

/**
 * Starts a real oidc-provider on `127.0.0.1:<random port>` with the given clients and accounts.
 *
 * Configuration: authorization code flow only, PKCE required for every client, scopes
 * `openid email profile groups` whose claims (`email`, `email_verified`, `name`,
 * `preferred_username`, `groups`) are put in the ID token (`conformIdTokenClaims: false`), own
 * signing key, cookie keys and storage (so no development-mode warnings), no dev interactions.
 */
export async function startTestOidcProvider(opts: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const Provider = await loadProvider();
  const accounts = opts.accounts;
  const redirectUris = opts.clients.flatMap((c) => c.redirect_uris);

  let provider: ProviderInstance | undefined;
  let providerHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!provider || !providerHandler) {
      sendJson(res, 503, { error: 'provider starting' });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (INTERACTION_PATH.test(path)) {
      handleInteraction(provider, accounts, req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
      return;
    }
    providerHandler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    jwks: signingJwks(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: opts.clients.map((c) => ({
      client_id: c.client_id,
      ...(c.client_secret === undefined ? {} : { client_secret: c.client_secret }),
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.client_secret === undefined ? 'none' : 'client_secret_basic',
    })),
    async findAccount(_ctx: unknown, id: string) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, claims: async () => ({ ...accounts[id], sub: id }) };
    },
    claims: {
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 300, Session: 300, Grant: 300 },
    async renderError(ctx: { type: string; body: unknown }, out: Record<string, unknown>) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  providerHandler = provider.callback();

  const isClientRedirect = (url: URL): boolean =>
    redirectUris.some((uri) => {
      const registered = new URL(uri);
      return registered.origin === url.origin && registered.pathname === url.pathname;
    });

  async function authorize(
    authorizationUrl: string,
    options: { accountId: string; deny?: boolean; amr?: string[] },
  ): Promise<URL> {
    const jar = new CookieJar();
    const request = async (url: URL, init: RequestInit = {}): Promise<Response> => {
      const headers = new Headers(init.headers);
      const cookie = jar.header(url);
      if (cookie) headers.set('cookie', cookie);
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      jar.store(response);
      return response;
    };

    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < MAX_REDIRECTS; hop += 1) {
      if (url.origin !== issuer) throw new Error(`authorize(): refusing to request ${url.href} (not the provider)`);
      let response = await request(url);
      if (response.status === 200 && INTERACTION_PATH.test(url.pathname)) {
        const page = (await response.json()) as { prompt: string };
        const form: Record<string, string> = options.deny
          ? { deny: '1' }
          : { accountId: options.accountId, prompt: page.prompt, ...(options.amr ? { amr: options.amr.join(',') } : {}) };
        response = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        });
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        const body = await response.text();
        throw new Error(`authorize(): unexpected ${response.status} from ${url.pathname}: ${body.slice(0, 500)}`);
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (isClientRedirect(next)) return next;
      url = next;
    }
    throw new Error(`authorize(): more than ${MAX_REDIRECTS} redirects`);
  }

  return {
    issuer,
    authorize,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
