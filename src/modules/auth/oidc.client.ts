import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import * as client from 'openid-client';

/** Static configuration of one OpenID Provider (one relying-party registration). */
export interface OidcClientConfig {
  /** Short display/log name of the provider, e.g. `keycloak`. */
  name: string;
  /** Issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** Client identifier registered at the provider. */
  clientId: string;
  /** Client secret; when absent the client is public and authenticates with PKCE only. */
  clientSecret?: string;
  /** Absolute redirect URI registered at the provider (the callback route). */
  redirectUri: string;
  /** Space-separated scopes to request; must contain `openid`. */
  scopes: string;
}

/** What the caller must keep (server side, bound to the browser) between the redirect and the callback. */
export interface OidcLoginStart {
  /** Where to redirect the browser. */
  authorizationUrl: string;
  state: string;
  nonce: string;
  /** PKCE `code_verifier`; secret, never sent to the browser. */
  codeVerifier: string;
}

/** The end-user identity taken from a validated ID token. */
export interface OidcIdentity {
  /** The `sub` claim. */
  subject: string;
  /** The `iss` claim. */
  issuer: string;
  email?: string;
  /** True only when the ID token says `email_verified: true`. */
  emailVerified: boolean;
  preferredUsername?: string;
  name?: string;
  /** Every claim of the validated ID token. */
  claims: Record<string, unknown>;
}

/**
 * Failure classes of an OIDC login.
 *
 * - `OIDC_PROVIDER_UNAVAILABLE`: discovery failed, or the provider could not be reached.
 * - `OIDC_STATE_MISMATCH`: the callback's `state` is missing or differs from the expected one.
 * - `OIDC_NONCE_MISMATCH`: the ID token's `nonce` differs from the expected one.
 * - `OIDC_CALLBACK_ERROR`: the provider returned `?error=…`, or the code exchange or ID token
 *   validation failed for another reason (e.g. a wrong PKCE verifier).
 */
export type OidcErrorCode =
  | 'OIDC_PROVIDER_UNAVAILABLE'
  | 'OIDC_STATE_MISMATCH'
  | 'OIDC_NONCE_MISMATCH'
  | 'OIDC_CALLBACK_ERROR';

/** An OIDC login failure; `cause` carries the underlying openid-client error when there is one. */
export class OidcError extends Error {
  override readonly name = 'OidcError';

  constructor(
    readonly code: OidcErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Timeout, in seconds, of every request to the provider (discovery, JWKS, token endpoint). */
const REQUEST_TIMEOUT_SECONDS = 10;

/** Whether a URL hostname (as given by `URL#hostname`) names the loopback interface. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Constant-time string equality. */
function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** An error's message followed by the messages of its causes, e.g. `fetch failed: connect ECONNREFUSED …`. */
function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/** Whether an error is a transport failure (connection refused, reset, DNS, timeout). */
function isTransportFailure(err: unknown): boolean {
  if (err instanceof client.ClientError) {
    return err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT';
  }
  // undici's fetch rejects with `TypeError('fetch failed')` whose cause is the socket error.
  return err instanceof TypeError && err.message === 'fetch failed';
}

/** The innermost openid-client/oauth4webapi error of a `ClientError` (it wraps one level). */
function innerError(err: client.ClientError): { message: string; details: unknown } {
  const cause: unknown = err.cause;
  if (cause instanceof Error) {
    return { message: cause.message, details: cause.cause };
  }
  return { message: err.message, details: cause };
}

/**
 * Translates an error thrown by `authorizationCodeGrant` into an {@link OidcError}.
 *
 * The state is compared before openid-client is called (openid-client's own check, a
 * `ClientError` `OAUTH_INVALID_RESPONSE` told apart only by its message, is then never reached).
 * openid-client v6 throws:
 * - nonce mismatch: `ClientError` code `OAUTH_JWT_CLAIM_COMPARISON_FAILED` wrapping an error whose
 *   `cause.claim` is `'nonce'`;
 * - `?error=…` in the callback: `AuthorizationResponseError`;
 * - token endpoint error (e.g. `invalid_grant` for a wrong PKCE verifier): `ResponseBodyError`;
 * - token endpoint 401 with a `WWW-Authenticate` challenge (e.g. `invalid_client` for a wrong
 *   secret): `WWWAuthenticateChallengeError`.
 */
function mapGrantError(providerName: string, err: unknown): OidcError {
  if (err instanceof client.AuthorizationResponseError) {
    const description = err.error_description ? `: ${err.error_description}` : '';
    return new OidcError(
      'OIDC_CALLBACK_ERROR',
      `OIDC provider "${providerName}" returned an error: ${err.error}${description}`,
      { cause: err },
    );
  }
  if (err instanceof client.ResponseBodyError) {
    const description = err.error_description ? `: ${err.error_description}` : '';
    return new OidcError(
      'OIDC_CALLBACK_ERROR',
      `OIDC provider "${providerName}" refused the authorization code: ${err.error}${description}`,
      { cause: err },
    );
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0]?.parameters;
    const error = challenge?.error ?? `HTTP ${err.status}`;
    const description = challenge?.error_description ? `: ${challenge.error_description}` : '';
    return new OidcError(
      'OIDC_CALLBACK_ERROR',
      `OIDC provider "${providerName}" refused the client: ${error}${description}`,
      { cause: err },
    );
  }
  if (err instanceof client.ClientError) {
    const inner = innerError(err);
    if (
      err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' &&
      typeof inner.details === 'object' &&
      inner.details !== null &&
      'claim' in inner.details &&
      inner.details.claim === 'nonce'
    ) {
      return new OidcError('OIDC_NONCE_MISMATCH', `OIDC provider "${providerName}": ID token nonce mismatch`, {
        cause: err,
      });
    }
  }
  if (isTransportFailure(err)) {
    return new OidcError(
      'OIDC_PROVIDER_UNAVAILABLE',
      `OIDC provider "${providerName}" could not be reached: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const detail = err instanceof client.ClientError ? innerError(err).message : errorMessage(err);
  return new OidcError('OIDC_CALLBACK_ERROR', `OIDC login with provider "${providerName}" failed: ${detail}`, {
    cause: err,
  });
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * An OpenID Connect relying party for one provider: authorization code flow with PKCE (S256),
 * `state` and `nonce`, always.
 *
 * Discovery is lazy (first {@link OidcClient.beginLogin} / {@link OidcClient.completeLogin}),
 * cached on success and retried on the next call after a failure, so the server can start while
 * the provider is down.
 *
 * Plain-HTTP issuers are accepted only on a loopback host (development and tests); any other
 * `http:` issuer is refused by the constructor.
 */
export class OidcClient {
  readonly #cfg: OidcClientConfig;
  readonly #issuerUrl: URL;
  readonly #insecure: boolean;
  readonly #now: (() => Date) | undefined;
  #configuration: client.Configuration | undefined;
  #discovering: Promise<client.Configuration> | undefined;

  /**
   * @throws Error when the issuer or redirect URI is not a valid URL, when the issuer uses plain
   *   HTTP on a non-loopback host or another scheme than http/https, or when `scopes` lacks `openid`.
   */
  constructor(cfg: OidcClientConfig, opts: { now?: () => Date } = {}) {
    let issuerUrl: URL;
    try {
      issuerUrl = new URL(cfg.issuer);
    } catch {
      throw new Error(`OIDC provider "${cfg.name}": issuer "${cfg.issuer}" is not a valid URL`);
    }
    if (issuerUrl.protocol !== 'https:' && issuerUrl.protocol !== 'http:') {
      throw new Error(`OIDC provider "${cfg.name}": issuer "${cfg.issuer}" must use https`);
    }
    if (issuerUrl.protocol === 'http:' && !isLoopbackHost(issuerUrl.hostname)) {
      throw new Error(
        `OIDC provider "${cfg.name}": issuer "${cfg.issuer}" uses plain http on a non-loopback host; use https`,
      );
    }
    if (!URL.canParse(cfg.redirectUri)) {
      throw new Error(`OIDC provider "${cfg.name}": redirect URI "${cfg.redirectUri}" is not a valid URL`);
    }
    if (!cfg.scopes.split(/\s+/).includes('openid')) {
      throw new Error(`OIDC provider "${cfg.name}": scopes "${cfg.scopes}" must include "openid"`);
    }
    this.#cfg = { ...cfg };
    this.#issuerUrl = issuerUrl;
    this.#insecure = issuerUrl.protocol === 'http:';
    this.#now = opts.now;
  }

  /**
   * Starts a login: generates `state`, `nonce` and a PKCE verifier and builds the authorization URL.
   * The caller stores the returned secrets and passes them to {@link OidcClient.completeLogin}.
   *
   * @throws OidcError `OIDC_PROVIDER_UNAVAILABLE` when discovery fails.
   */
  async beginLogin(): Promise<OidcLoginStart> {
    const config = await this.#getConfiguration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: this.#cfg.redirectUri,
      response_type: 'code',
      scope: this.#cfg.scopes,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { authorizationUrl: authorizationUrl.href, state, nonce, codeVerifier };
  }

  /**
   * Completes a login from the provider's redirect: checks `state`, exchanges the code (with the
   * PKCE verifier), validates the ID token (signature, issuer, audience, expiry, `nonce`) and
   * returns the identity from its claims.
   *
   * Only the query of `callbackUrl` is used; the token request always uses the configured
   * redirect URI, so a callback URL reconstructed behind a proxy cannot cause a mismatch.
   *
   * @throws OidcError `OIDC_STATE_MISMATCH`, `OIDC_NONCE_MISMATCH`, `OIDC_CALLBACK_ERROR` or
   *   `OIDC_PROVIDER_UNAVAILABLE`.
   */
  async completeLogin(
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<OidcIdentity> {
    const states = callbackUrl.searchParams.getAll('state');
    const [state] = states;
    if (states.length !== 1 || state === undefined || !safeEqual(state, expected.state)) {
      throw new OidcError('OIDC_STATE_MISMATCH', `OIDC provider "${this.#cfg.name}": state mismatch`);
    }
    const config = await this.#getConfiguration();
    const currentUrl = new URL(this.#cfg.redirectUri);
    currentUrl.search = callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, currentUrl, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        pkceCodeVerifier: expected.codeVerifier,
        idTokenExpected: true,
      });
    } catch (err) {
      throw mapGrantError(this.#cfg.name, err);
    }
    const claims = tokens.claims();
    if (!claims) {
      throw new OidcError('OIDC_CALLBACK_ERROR', `OIDC provider "${this.#cfg.name}" returned no ID token`);
    }
    return {
      subject: claims.sub,
      issuer: claims.iss,
      email: optionalString(claims.email),
      emailVerified: claims.email_verified === true,
      preferredUsername: optionalString(claims.preferred_username),
      name: optionalString(claims.name),
      claims: { ...claims },
    };
  }

  /** The discovered configuration; concurrent callers share one in-flight discovery. */
  async #getConfiguration(): Promise<client.Configuration> {
    if (this.#configuration) return this.#configuration;
    this.#discovering ??= this.#discover().finally(() => {
      this.#discovering = undefined;
    });
    return this.#discovering;
  }

  async #discover(): Promise<client.Configuration> {
    const metadata: Partial<client.ClientMetadata> = {};
    if (this.#now) {
      // NOTE: openid-client v6 has no clock hook; it only accepts a fixed offset in seconds
      // (`clockSkew`) frozen into the Configuration. The offset between `now()` and the system
      // clock is therefore sampled once, at discovery; later drift of `now` is not followed.
      metadata[client.clockSkew] = Math.round((this.#now().getTime() - Date.now()) / 1000);
    }
    const auth = this.#cfg.clientSecret ? client.ClientSecretBasic(this.#cfg.clientSecret) : client.None();
    try {
      const config = await client.discovery(this.#issuerUrl, this.#cfg.clientId, metadata, auth, {
        timeout: REQUEST_TIMEOUT_SECONDS,
        // Reached only for loopback issuers: the constructor refuses any other http issuer.
        execute: this.#insecure ? [client.allowInsecureRequests] : [],
      });
      this.#configuration = config;
      return config;
    } catch (err) {
      throw new OidcError(
        'OIDC_PROVIDER_UNAVAILABLE',
        `OIDC provider "${this.#cfg.name}" is unavailable: discovery of ${this.#issuerUrl.href} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
}
