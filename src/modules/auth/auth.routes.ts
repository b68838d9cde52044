import type { FastifyContextConfig } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { PUBLIC, type Access } from '../../platform/access.js';
import { userPrincipal } from './auth.guard.js';
import {
  ChangePasswordBodySchema,
  LoginBodySchema,
  MeSchema,
  MfaConfirmBodySchema,
  MfaConfirmSchema,
  MfaDisableBodySchema,
  MfaEnrollSchema,
  SessionGrantSchema,
  SessionParamsSchema,
  SessionSchema,
  toSessionDto,
  toUserSummary,
} from './auth.schemas.js';
import type { AuthService, SessionGrant } from './auth.service.js';
import { HUMAN_ROLES } from './roles.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  /** Login attempts per minute per client IP (0: no limit of its own). */
  loginRatePerMinute: number;
}

/** Any signed-in human, including one who must still enrol in MFA. */
const ANY_SESSION: Access = { roles: HUMAN_ROLES, mfaEnrollment: true };
/** Any signed-in human who has done what MFA asks of them. */
const ANY_USER: Access = { roles: HUMAN_ROLES };

export function toGrantDto(grant: SessionGrant): z.infer<typeof SessionGrantSchema> {
  return { token: grant.token, expires_at: grant.expiresAt, user: toUserSummary(grant.user, grant.mfaEnrollmentRequired) };
}

/** Route config for the strict per-IP limit of the login routes (password and OIDC). */
export function loginRateLimit(perMinute: number): Partial<FastifyContextConfig> {
  return perMinute > 0
    ? { rateLimit: { max: perMinute, timeWindow: 60_000, keyGenerator: (req) => `login:${req.ip}` } }
    : {};
}

/** Login, logout, the caller's own account, sessions and MFA. */
export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, { auth, loginRatePerMinute }) => {
  app.post(
    '/auth/login',
    {
      config: {
        access: PUBLIC,
        ...loginRateLimit(loginRatePerMinute),
      },
      schema: {
        summary: 'Log in with username and password (and TOTP)',
        description:
          'Answers a bearer session token. Users with MFA must send `totp` (a TOTP code or a recovery code), else 401 `MFA_REQUIRED`. Unknown users and wrong passwords get the same 401 `INVALID_CREDENTIALS`; repeated failures lock the username (423 `ACCOUNT_LOCKED` with `Retry-After`).',
        tags: ['auth'],
        body: LoginBodySchema,
        response: { 200: SessionGrantSchema, ...errorResponses(400, 401, 423, 429) },
      },
    },
    async (request) => toGrantDto(await auth.login(request.body)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: ANY_SESSION },
      schema: {
        summary: 'End the current session',
        tags: ['auth'],
        response: { 204: z.null(), ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      await auth.logout(userPrincipal(request));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    {
      config: { access: ANY_SESSION },
      schema: {
        summary: 'The signed-in user and session',
        tags: ['auth'],
        response: { 200: MeSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const p = userPrincipal(request);
      const user = await auth.getUser(p.userId);
      const session = await auth.currentSession(p);
      return {
        user: { ...toUserSummary(user, p.mfaEnrollmentRequired), email: user.email },
        session: { session_id: session.sessionId, method: session.method, expires_at: session.expiresAt },
      };
    },
  );

  app.post(
    '/auth/password',
    {
      config: { access: ANY_USER },
      schema: {
        summary: 'Change your password',
        description: 'Needs the current password; the new one must pass the password rule. Your other sessions end.',
        tags: ['auth'],
        body: ChangePasswordBodySchema,
        response: { 204: z.null(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      await auth.changePassword(userPrincipal(request), request.body.current_password, request.body.new_password);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      config: { access: ANY_USER },
      schema: {
        summary: 'Your sessions, newest first (the latest 100)',
        tags: ['auth'],
        response: { 200: z.object({ items: z.array(SessionSchema) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const p = userPrincipal(request);
      return { items: (await auth.listSessions(p)).map((s) => toSessionDto(s, p.sessionId)) };
    },
  );

  app.delete(
    '/auth/sessions/:session_id',
    {
      config: { access: ANY_USER },
      schema: {
        summary: 'End one of your sessions (admins: anyone’s)',
        tags: ['auth'],
        params: SessionParamsSchema,
        response: { 204: z.null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await auth.revokeSession(userPrincipal(request), request.params.session_id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/mfa/enroll',
    {
      config: { access: ANY_SESSION },
      schema: {
        summary: 'Start TOTP enrollment',
        description: 'Answers a new secret and its otpauth URI; MFA is on only after POST /auth/mfa/confirm.',
        tags: ['auth'],
        response: { 200: MfaEnrollSchema, ...errorResponses(401, 409) },
      },
    },
    async (request) => {
      const { secret, otpauthUri } = await auth.enrollMfa(userPrincipal(request));
      return { secret, otpauth_uri: otpauthUri };
    },
  );

  app.post(
    '/auth/mfa/confirm',
    {
      config: { access: ANY_SESSION },
      schema: {
        summary: 'Confirm TOTP enrollment with a current code',
        description: 'Turns MFA on and answers ten one-time recovery codes, shown this once.',
        tags: ['auth'],
        body: MfaConfirmBodySchema,
        response: { 200: MfaConfirmSchema, ...errorResponses(400, 401, 409) },
      },
    },
    async (request) => ({
      mfa_enabled: true as const,
      recovery_codes: await auth.confirmMfa(userPrincipal(request), request.body.code),
    }),
  );

  app.post(
    '/auth/mfa/disable',
    {
      config: { access: ANY_USER },
      schema: {
        summary: 'Turn your MFA off',
        description: 'Needs your password and a current TOTP code or a recovery code.',
        tags: ['auth'],
        body: MfaDisableBodySchema,
        response: { 204: z.null(), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      await auth.disableMfa(userPrincipal(request), request.body);
      return reply.status(204).send(null);
    },
  );
};
