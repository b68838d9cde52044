import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OidcSettings } from '../../config.js';
import { PUBLIC } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, errorResponses, errors } from '../../platform/errors.js';
import { secretsEqual } from '../../platform/crypto/secrets-equal.js';
import type { AuthRepo } from './auth.repo.js';
import { loginRateLimit, toGrantDto } from './auth.routes.js';
import { SessionGrantSchema } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { hashSecret } from './credentials.js';
import { OidcError, type OidcClient } from './oidc.client.js';
import { mapOidcRole } from './oidc.roles.js';

export interface OidcRoutesOptions {
  auth: AuthService;
  repo: AuthRepo;
  clock: Clock;
  settings: OidcSettings | undefined;
  client: OidcClient | undefined;
  mfaRequiredRoles: readonly string[];
  /** Attempts per minute per client IP, shared with POST /auth/login's setting (0: no limit of its own). */
  loginRatePerMinute: number;
}

/** How long a login may take between the redirect to the provider and the callback. */
const LOGIN_TTL_S = 600;
const STATE_COOKIE = 'lexecon_oidc_state';

/**
 * RFC 8176 `amr` values that show the provider checked more than a password. Roles that require MFA
 * may sign in through OIDC only when the ID token carries one of them.
 */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'iris', 'retina', 'vbm']);

const ProviderParamsSchema = z.object({ provider: z.string().min(1).max(32) });
const CallbackQuerySchema = z
  .object({
    code: z.string().max(2048).optional(),
    state: z.string().max(512).optional(),
    error: z.string().max(256).optional(),
    error_description: z.string().max(2048).optional(),
  })
  .catchall(z.string().max(2048));

/** One cookie's value from the Cookie header. */
function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function stateCookie(value: string, maxAge: number, secure: boolean): string {
  return `${STATE_COOKIE}=${encodeURIComponent(value)}; Path=/auth/oidc; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

function oidcFailure(err: OidcError): AppError {
  return err.code === 'OIDC_PROVIDER_UNAVAILABLE'
    ? errors.unavailable(err.code, 'The OpenID Provider cannot be reached; try again shortly', 5)
    : new AppError(401, err.code, err.message);
}

/**
 * OIDC login: authorization code with PKCE, state and nonce. The login route keeps nonce and PKCE
 * verifier server-side (keyed by the state's hash, used once) and binds the state to the browser with
 * an HttpOnly cookie, so a callback replayed in another browser is refused.
 */
export const oidcRoutes: FastifyPluginAsyncZod<OidcRoutesOptions> = async (app, opts) => {
  const { auth, repo, clock, settings, client } = opts;
  const secureCookie = settings?.redirectUri.startsWith('https:') ?? true;
  const loginLimit = loginRateLimit(opts.loginRatePerMinute);

  function providerOf(name: string): { settings: OidcSettings; client: OidcClient } {
    if (!settings || !client || name !== settings.name) {
      throw new AppError(404, 'OIDC_PROVIDER_NOT_FOUND', `No OpenID Provider named '${name}' is configured`);
    }
    return { settings, client };
  }

  async function run<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw err instanceof OidcError ? oidcFailure(err) : err;
    }
  }

  app.get(
    '/auth/oidc/:provider/login',
    {
      config: { access: PUBLIC, ...loginLimit },
      schema: {
        summary: 'Start an OIDC login',
        description:
          'Redirects (302) to the OpenID Provider with a fresh state, nonce and PKCE challenge; the answer body carries the same URL for API clients. The state is also set in an HttpOnly cookie that the callback checks.',
        tags: ['auth'],
        params: ProviderParamsSchema,
        response: { 302: z.object({ authorization_url: z.string() }), ...errorResponses(404, 429, 503) },
      },
    },
    async (request, reply) => {
      const p = providerOf(request.params.provider);
      const start = await run(() => p.client.beginLogin());
      await repo.putOidcState(
        {
          stateHash: hashSecret(start.state),
          provider: p.settings.name,
          nonce: start.nonce,
          codeVerifier: start.codeVerifier,
          expiresAt: new Date(clock.now() + LOGIN_TTL_S * 1000).toISOString(),
        },
        new Date(clock.now()).toISOString(),
      );
      reply.header('set-cookie', stateCookie(start.state, LOGIN_TTL_S, secureCookie));
      reply.header('location', start.authorizationUrl);
      reply.header('cache-control', 'no-store');
      return reply.status(302).send({ authorization_url: start.authorizationUrl });
    },
  );

  app.get(
    '/auth/oidc/:provider/callback',
    {
      config: { access: PUBLIC, ...loginLimit },
      schema: {
        summary: 'Finish an OIDC login',
        description:
          'The provider redirects here. Checks state (against the cookie and the stored login), exchanges the code with the PKCE verifier, validates the ID token and its nonce, maps the claims to a role, creates or links the local user, and answers a session like POST /auth/login. Roles that require MFA need an ID token whose `amr` shows MFA.',
        tags: ['auth'],
        params: ProviderParamsSchema,
        querystring: CallbackQuerySchema,
        response: { 200: SessionGrantSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const p = providerOf(request.params.provider);
      const state = request.query.state ?? '';
      const cookie = cookieValue(request, STATE_COOKIE) ?? '';
      reply.header('set-cookie', stateCookie('', 0, secureCookie));
      reply.header('cache-control', 'no-store');
      if (state === '' || !secretsEqual(state, cookie)) {
        throw new AppError(401, 'OIDC_STATE_MISMATCH', 'The login state does not match this browser; start the login again');
      }
      const stored = await repo.takeOidcState(hashSecret(state), new Date(clock.now()).toISOString());
      if (!stored || stored.provider !== p.settings.name) {
        throw new AppError(401, 'OIDC_STATE_MISMATCH', 'The login state is unknown, used or expired; start the login again');
      }
      const identity = await run(() =>
        p.client.completeLogin(new URL(request.url, p.settings.redirectUri), {
          state,
          nonce: stored.nonce,
          codeVerifier: stored.codeVerifier,
        }),
      );
      const role = mapOidcRole(identity.claims, p.settings);
      if (role === undefined) {
        throw new AppError(403, 'OIDC_NO_ROLE', 'The provider’s claims map to no Lexecon role; ask an admin for access');
      }
      const amr = Array.isArray(identity.claims.amr) ? identity.claims.amr : [];
      if (opts.mfaRequiredRoles.includes(role) && !amr.some((m) => typeof m === 'string' && MFA_AMR.has(m))) {
        throw new AppError(
          403,
          'MFA_REQUIRED_AT_PROVIDER',
          `Role '${role}' requires MFA: sign in at the provider with a second factor (its ID token shows none in amr)`,
        );
      }
      return toGrantDto(await auth.loginWithOidc(p.settings.name, identity, role));
    },
  );
};
