import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Access } from '../../platform/access.js';
import { AppError, errorResponses, errors } from '../../platform/errors.js';
import type { HumanRole, Role } from './roles.js';

/** A signed-in human. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  username: string;
  role: HumanRole;
  sessionId: string;
  mfaEnabled: boolean;
  /** The user's role requires MFA and they have not enrolled: they may only enrol. */
  mfaEnrollmentRequired: boolean;
}

/** An agent calling with an API key, bound to the actors its pattern allows. */
export interface AgentPrincipal {
  kind: 'agent';
  keyId: string;
  name: string;
  role: 'agent';
  actorPattern: string;
}

export type Principal = UserPrincipal | AgentPrincipal;

/** Who a principal is, as records and ledger entries name it: the user id or the API key id. */
export function principalId(p: Principal): string {
  return p.kind === 'user' ? p.userId : p.keyId;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `null` on public routes. */
    principal: Principal | null;
    /**
     * Authenticate and authorize the request again, exactly as the guard did before the handler ran
     * (credential still valid: API key not revoked, read from the database, not the key cache; session
     * live, user not disabled; MFA state; role still
     * admitted), and refresh `principal`. A handler that waited (a long-poll) calls it after every wait,
     * before it answers: 401/403 when the caller lost its access meanwhile.
     */
    reauthorize(): Promise<void>;
  }
}

export interface GuardOptions {
  /**
   * The principal a bearer credential stands for, or `undefined` when it is unknown, expired or revoked.
   * `fresh`: read from the database, not from the API key cache (after a wait: see `reauthorize`).
   */
  authenticate(credential: string, opts?: { fresh?: boolean }): Promise<Principal | undefined>;
}

/** One route and what it allows, as registered. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access | undefined;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The bearer credential of a request, or `undefined` when it carries none. */
export function bearerCredential(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}


/**
 * The one authorization guard. Records every route's access declaration (refusing to start when one
 * is missing), documents it in the route's OpenAPI entry, and checks each request before its body is
 * read: 401 without valid credentials, 403 `MFA_ENROLLMENT_REQUIRED` for a session that must enrol
 * first, 403 `FORBIDDEN` for a role the route does not admit. Install it before any route.
 */
export function installAuthGuard(app: FastifyInstance, opts: GuardOptions): { routes(): RouteAccess[] } {
  const routes: RouteOptions[] = [];
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    routes.push(route);
    // Documented now, before Fastify compiles the route's response schemas.
    documentAccess(route);
  });

  // Checked once every plugin has registered its routes (a scoped hook may declare access after this
  // one ran, as the Swagger UI scope does).
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => r.config?.access === undefined).map((r) => `${String(r.method)} ${r.url}`);
    if (missing.length > 0) {
      throw new Error(`routes without an access declaration (config.access): ${missing.join(', ')}`);
    }
  });

  const authorize = async (request: FastifyRequest, fresh = false): Promise<void> => {
    const access = request.routeOptions.config?.access;
    if (access === undefined || 'public' in access) return;
    const credential = bearerCredential(request);
    if (credential === undefined) throw errors.unauthorized('Authentication required: send Authorization: Bearer <token>');
    const principal = credential === '' ? undefined : await opts.authenticate(credential, fresh ? { fresh } : undefined);
    if (!principal) throw errors.unauthorized('Invalid, expired or revoked credentials');
    request.principal = principal;
    if (principal.kind === 'user' && principal.mfaEnrollmentRequired && !access.mfaEnrollment) {
      throw new AppError(
        403,
        'MFA_ENROLLMENT_REQUIRED',
        `Role '${principal.role}' requires MFA: enrol with POST /auth/mfa/enroll and POST /auth/mfa/confirm first`,
      );
    }
    if (!access.roles.includes(principal.role)) {
      throw errors.forbidden(`Role '${principal.role}' may not call ${request.method} ${request.routeOptions.url}`);
    }
  };
  app.addHook('onRequest', async (request) => authorize(request));
  // After a wait the key is read again, not taken from the cache: a key revoked on another replica
  // while the caller waited is refused even if that replica's notice has not arrived yet.
  app.decorateRequest('reauthorize', function (this: FastifyRequest) {
    this.principal = null;
    return authorize(this, true);
  });

  return {
    routes: () =>
      routes.map((r) => ({
        method: Array.isArray(r.method) ? r.method.join(',') : String(r.method),
        url: r.url,
        access: r.config?.access,
      })),
  };
}

/** Add the route's access rule to its OpenAPI entry: security requirement, roles, 401/403 answers. */
function documentAccess(route: RouteOptions): void {
  const access = route.config?.access;
  const schema = route.schema as Record<string, unknown> | undefined;
  if (!access || !schema || schema.hide === true || schema['x-access'] !== undefined) return;
  if ('public' in access) {
    schema.security = [];
    schema['x-access'] = 'public';
    return;
  }
  schema.security = [{ bearerAuth: [] }];
  schema['x-access'] = { roles: [...access.roles] };
  schema.response = { ...errorResponses(401, 403), ...(schema.response as object | undefined) };
  const note = `Roles: ${access.roles.join(', ')}.`;
  schema.description = typeof schema.description === 'string' ? `${schema.description}\n\n${note}` : note;
}

/** Access for the given roles (typed, so that a misspelt role does not compile). */
export function roles(...allowed: Role[]): Access {
  return { roles: allowed };
}

/** The signed-in human behind a request on a route that admits only human roles. */
export function userPrincipal(request: FastifyRequest): UserPrincipal {
  const p = request.principal;
  if (p?.kind !== 'user') throw errors.forbidden('Only a signed-in user may call this route');
  return p;
}
