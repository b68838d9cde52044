import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OidcClient, OidcError, type OidcClientConfig, type OidcErrorCode } from '../../src/modules/auth/oidc.client.js';
import { startTestOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const REDIRECT_URI = 'http://127.0.0.1:9/auth/oidc/callback';
const CLIENT_SECRET = 'test-client-secret-0123456789abcdef';

const accounts = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    preferred_username: 'alice',
    name: 'Alice Example',
    groups: ['lexecon-admins', 'staff'],
  },
  bob: {
    email: 'bob@example.com',
    email_verified: 'true',
    preferred_username: 'bob',
    groups: [],
  },
};

let provider: TestOidcProvider;

beforeAll(async () => {
  provider = await startTestOidcProvider({
    clients: [
      { client_id: 'lexecon', client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] },
      { client_id: 'lexecon-public', redirect_uris: [REDIRECT_URI] },
    ],
    accounts,
  });
});

afterAll(async () => {
  await provider.close();
});

function config(overrides: Partial<OidcClientConfig> = {}): OidcClientConfig {
  return {
    name: 'test-idp',
    issuer: provider.issuer,
    clientId: 'lexecon',
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    scopes: 'openid email profile groups',
    ...overrides,
  };
}

/** The OidcError code of a rejected promise (fails the test when it resolves or throws something else). */
async function rejectionOf(promise: Promise<unknown>): Promise<OidcError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OidcError);
  return err as OidcError;
}

async function expectCode(promise: Promise<unknown>, code: OidcErrorCode): Promise<OidcError> {
  const err = await rejectionOf(promise);
  expect(err.code).toBe(code);
  return err;
}

/** A 127.0.0.1 port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Records the URLs of the HTTP requests made through fetch (undici) while `fn` runs. */
async function recordRequests(fn: () => Promise<void>): Promise<string[]> {
  const urls: string[] = [];
  const onRequest = (message: unknown): void => {
    const { request } = message as { request: { origin: string; path: string } };
    urls.push(`${request.origin}${request.path}`);
  };
  subscribe('undici:request:create', onRequest);
  try {
    await fn();
  } finally {
    unsubscribe('undici:request:create', onRequest);
  }
  return urls;
}

describe('OidcClient against a real OpenID Provider', () => {
  it('completes a login (confidential client) and returns the ID token identity', async () => {
    const client = new OidcClient(config());
    const start = await client.beginLogin();

    const authUrl = new URL(start.authorizationUrl);
    expect(authUrl.origin).toBe(provider.issuer);
    expect(Object.fromEntries(authUrl.searchParams)).toMatchObject({
      client_id: 'lexecon',
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile groups',
      code_challenge_method: 'S256',
      state: start.state,
      nonce: start.nonce,
    });
    expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authUrl.searchParams.get('code_challenge')).not.toBe(start.codeVerifier);
    expect(start.authorizationUrl).not.toContain(start.codeVerifier);

    const callback = await provider.authorize(start.authorizationUrl, { accountId: 'alice' });
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe(start.state);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const identity = await client.completeLogin(callback, start);
    expect(identity).toMatchObject({
      subject: 'alice',
      issuer: provider.issuer,
      email: 'alice@example.com',
      emailVerified: true,
      preferredUsername: 'alice',
      name: 'Alice Example',
    });
    expect(identity.claims).toMatchObject({
      sub: 'alice',
      iss: provider.issuer,
      aud: 'lexecon',
      nonce: start.nonce,
      groups: ['lexecon-admins', 'staff'],
      email_verified: true,
    });
    expect(typeof identity.claims.exp).toBe('number');
  });

  it('completes a login as a public client (PKCE only) and reports emailVerified only for `true`', async () => {
    const client = new OidcClient(config({ clientId: 'lexecon-public', clientSecret: undefined }));
    const start = await client.beginLogin();
    const callback = await provider.authorize(start.authorizationUrl, { accountId: 'bob' });

    const identity = await client.completeLogin(callback, start);
    expect(identity.subject).toBe('bob');
    expect(identity.email).toBe('bob@example.com');
    expect(identity.claims.email_verified).toBe('true');
    expect(identity.emailVerified).toBe(false);
    expect(identity.name).toBeUndefined();
    expect(identity.claims.groups).toEqual([]);
  });

  it('generates fresh state, nonce and verifier for every login', async () => {
    const client = new OidcClient(config());
    const a = await client.beginLogin();
    const b = await client.beginLogin();
    expect(a.state).not.toBe(b.state);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.codeVerifier).not.toBe(b.codeVerifier);
  });

  it('maps a wrong, tampered or missing state to OIDC_STATE_MISMATCH', async () => {
    const client = new OidcClient(config());
    const start = await client.beginLogin();
    const callback = await provider.authorize(start.authorizationUrl, { accountId: 'alice' });

    await expectCode(client.completeLogin(callback, { ...start, state: 'some-other-state' }), 'OIDC_STATE_MISMATCH');

    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'attacker-state');
    await expectCode(client.completeLogin(tampered, start), 'OIDC_STATE_MISMATCH');

    const missing = new URL(callback);
    missing.searchParams.delete('state');
    await expectCode(client.completeLogin(missing, start), 'OIDC_STATE_MISMATCH');

    const duplicated = new URL(callback);
    duplicated.searchParams.append('state', start.state);
    await expectCode(client.completeLogin(duplicated, start), 'OIDC_STATE_MISMATCH');

    // The code was not spent by the rejected attempts: the genuine callback still succeeds.
    await expect(client.completeLogin(callback, start)).resolves.toMatchObject({ subject: 'alice' });
  });

  it("maps a valid callback completed with another login's nonce to OIDC_NONCE_MISMATCH", async () => {
    const client = new OidcClient(config());
    const loginA = await client.beginLogin();
    const loginB = await client.beginLogin();
    const callbackA = await provider.authorize(loginA.authorizationUrl, { accountId: 'alice' });

    const err = await expectCode(
      client.completeLogin(callbackA, { state: loginA.state, codeVerifier: loginA.codeVerifier, nonce: loginB.nonce }),
      'OIDC_NONCE_MISMATCH',
    );
    expect((err.cause as { code?: unknown }).code).toBe('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
  });

  it('maps a wrong PKCE verifier to OIDC_CALLBACK_ERROR (invalid_grant)', async () => {
    const client = new OidcClient(config());
    const login = await client.beginLogin();
    const other = await client.beginLogin();
    const callback = await provider.authorize(login.authorizationUrl, { accountId: 'alice' });

    const err = await expectCode(
      client.completeLogin(callback, { ...login, codeVerifier: other.codeVerifier }),
      'OIDC_CALLBACK_ERROR',
    );
    expect(err.message).toContain('invalid_grant');
  });

  it('maps a replayed authorization code to OIDC_CALLBACK_ERROR', async () => {
    const client = new OidcClient(config());
    const login = await client.beginLogin();
    const callback = await provider.authorize(login.authorizationUrl, { accountId: 'alice' });

    await expect(client.completeLogin(callback, login)).resolves.toMatchObject({ subject: 'alice' });
    const err = await expectCode(client.completeLogin(callback, login), 'OIDC_CALLBACK_ERROR');
    expect(err.message).toContain('invalid_grant');
  });

  it('maps a wrong client secret to OIDC_CALLBACK_ERROR (invalid_client)', async () => {
    const client = new OidcClient(config({ clientSecret: 'not-the-secret' }));
    const login = await client.beginLogin();
    const callback = await provider.authorize(login.authorizationUrl, { accountId: 'alice' });

    const err = await expectCode(client.completeLogin(callback, login), 'OIDC_CALLBACK_ERROR');
    expect(err.message).toContain('invalid_client');
  });

  it('maps a provider denial (?error=access_denied) to OIDC_CALLBACK_ERROR', async () => {
    const client = new OidcClient(config());
    const login = await client.beginLogin();
    const callback = await provider.authorize(login.authorizationUrl, { accountId: 'alice', deny: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('state')).toBe(login.state);

    const err = await expectCode(client.completeLogin(callback, login), 'OIDC_CALLBACK_ERROR');
    expect(err.message).toContain('access_denied');
  });

  it('applies the injected clock to ID token validation', async () => {
    const twoHoursAhead = (): Date => new Date(Date.now() + 2 * 60 * 60 * 1000);
    const client = new OidcClient(config(), { now: twoHoursAhead });
    const login = await client.beginLogin();
    const callback = await provider.authorize(login.authorizationUrl, { accountId: 'alice' });

    const err = await expectCode(client.completeLogin(callback, login), 'OIDC_CALLBACK_ERROR');
    expect((err.cause as { code?: unknown }).code).toBe('OAUTH_JWT_TIMESTAMP_CHECK_FAILED');
  });

  it('discovers lazily and only once after a success', async () => {
    const discoveryUrl = `${provider.issuer}/.well-known/openid-configuration`;
    let client: OidcClient | undefined;
    const atConstruction = await recordRequests(async () => {
      client = new OidcClient(config());
    });
    expect(atConstruction).toEqual([]);

    const requests = await recordRequests(async () => {
      await Promise.all([client?.beginLogin(), client?.beginLogin()]);
      await client?.beginLogin();
    });
    expect(requests.filter((url) => url === discoveryUrl)).toHaveLength(1);
  });
});

describe('OidcClient when the provider is unavailable', () => {
  it('fails with OIDC_PROVIDER_UNAVAILABLE for an unreachable issuer, on begin and complete', async () => {
    const client = new OidcClient(config({ issuer: `http://127.0.0.1:${await closedPort()}` }));
    const err = await expectCode(client.beginLogin(), 'OIDC_PROVIDER_UNAVAILABLE');
    expect(err.message).toContain('test-idp');
    const callback = new URL(`${REDIRECT_URI}?code=abc&state=s`);
    await expectCode(
      client.completeLogin(callback, { state: 's', nonce: 'n', codeVerifier: 'v' }),
      'OIDC_PROVIDER_UNAVAILABLE',
    );
  });

  describe('with an issuer that answers 503', () => {
    let server: Server;
    let hits = 0;

    beforeAll(async () => {
      server = createServer((_req, res) => {
        hits += 1;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    });

    it('does not cache a failed discovery: every call retries', async () => {
      const { port } = server.address() as AddressInfo;
      const client = new OidcClient(config({ issuer: `http://127.0.0.1:${port}` }));
      expect(hits).toBe(0);
      await expectCode(client.beginLogin(), 'OIDC_PROVIDER_UNAVAILABLE');
      expect(hits).toBe(1);
      await expectCode(client.beginLogin(), 'OIDC_PROVIDER_UNAVAILABLE');
      expect(hits).toBe(2);
    });
  });

  it('maps a token endpoint that went away after discovery to OIDC_PROVIDER_UNAVAILABLE', async () => {
    const shortLived = await startTestOidcProvider({
      clients: [{ client_id: 'lexecon', client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }],
      accounts,
    });
    const client = new OidcClient(config({ issuer: shortLived.issuer }));
    const login = await client.beginLogin();
    const callback = await shortLived.authorize(login.authorizationUrl, { accountId: 'alice' });
    await shortLived.close();

    await expectCode(client.completeLogin(callback, login), 'OIDC_PROVIDER_UNAVAILABLE');
  });
});

describe('OidcClient configuration checks', () => {
  it('refuses a plain-http issuer on a non-loopback host at construction', () => {
    for (const issuer of ['http://idp.example.com', 'http://10.0.0.5:8080', 'http://localhost.example.com', 'http://[::2]']) {
      expect(() => new OidcClient(config({ issuer }))).toThrow(/non-loopback/);
    }
  });

  it('accepts https issuers and plain http on loopback hosts without any network traffic', async () => {
    const requests = await recordRequests(async () => {
      for (const issuer of [
        'https://idp.example.com/realms/lexecon',
        'http://127.0.0.1:8080',
        'http://localhost:8080',
        'http://[::1]:8080',
      ]) {
        expect(() => new OidcClient(config({ issuer }))).not.toThrow();
      }
    });
    expect(requests).toEqual([]);
  });

  it('refuses other schemes, invalid URLs and scopes without openid', () => {
    expect(() => new OidcClient(config({ issuer: 'ftp://idp.example.com' }))).toThrow(/https/);
    expect(() => new OidcClient(config({ issuer: 'not a url' }))).toThrow(/not a valid URL/);
    expect(() => new OidcClient(config({ redirectUri: '/relative' }))).toThrow(/not a valid URL/);
    expect(() => new OidcClient(config({ scopes: 'email profile' }))).toThrow(/openid/);
  });
});
