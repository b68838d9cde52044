import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError, errorResponses, errors } from '../../platform/errors.js';
import { roles, userPrincipal } from './auth.guard.js';
import {
  ApiKeyListSchema,
  ApiKeyParamsSchema,
  ApiKeySchema,
  CreateApiKeyBodySchema,
  CreatedApiKeySchema,
  CreateUserBodySchema,
  OidcLinkBodySchema,
  OidcLinkListSchema,
  OidcLinkSchema,
  decodeIdCursor,
  encodeIdCursor,
  PageQuerySchema,
  toApiKeyDto,
  toUserDto,
  UpdateUserBodySchema,
  UserListSchema,
  UserParamsSchema,
  UserSchema,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';

export interface UsersRoutesOptions {
  auth: AuthService;
  /** The configured OpenID Provider's name, when there is one (identities are linked for it only). */
  oidcProvider?: string | undefined;
}

const ADMIN = roles('admin');

function afterCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = decodeIdCursor(cursor);
  if (id === undefined) {
    throw errors.validation('Invalid querystring', [
      { in: 'querystring', field: 'cursor', message: 'is not a cursor returned by this endpoint', code: 'custom' },
    ]);
  }
  return id;
}

/** One page of an id-ordered list: read one extra row to know whether there is a next page. */
async function page<T>(
  read: (afterId: string | undefined, limit: number) => Promise<T[]>,
  idOf: (row: T) => string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ rows: T[]; next_cursor: string | null }> {
  const rows = await read(afterCursor(query.cursor), query.limit + 1);
  const shown = rows.slice(0, query.limit);
  return { rows: shown, next_cursor: rows.length > query.limit ? encodeIdCursor(idOf(shown[shown.length - 1]!)) : null };
}

/** User administration and agent API keys (admin only). */
export const usersRoutes: FastifyPluginAsyncZod<UsersRoutesOptions> = async (app, { auth, oidcProvider }) => {
  app.post(
    '/auth/users',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Create a user',
        description: 'The password must pass the password rule (≥ 12 characters, not common, not the username).',
        tags: ['users'],
        body: CreateUserBodySchema,
        response: { 201: UserSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await auth.createUser(request.body, userPrincipal(request).userId, 'api');
      return reply.status(201).send(toUserDto(user));
    },
  );

  app.get(
    '/auth/users',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'List users',
        tags: ['users'],
        querystring: PageQuerySchema,
        response: { 200: UserListSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { rows, next_cursor } = await page((a, l) => auth.listUsers(a, l), (u) => u.userId, request.query);
      return { items: rows.map(toUserDto), next_cursor };
    },
  );

  app.get(
    '/auth/users/:user_id',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'One user',
        tags: ['users'],
        params: UserParamsSchema,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toUserDto(await auth.getUser(request.params.user_id)),
  );

  app.patch(
    '/auth/users/:user_id',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Change a user: role, disabled, email, password reset, MFA reset',
        description:
          'A role change, a disable, a password reset or an MFA reset ends the user’s sessions. The last active admin cannot be demoted or disabled (409 `LAST_ADMIN`).',
        tags: ['users'],
        params: UserParamsSchema,
        body: UpdateUserBodySchema,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const b = request.body;
      const user = await auth.updateUser(
        request.params.user_id,
        { role: b.role, disabled: b.disabled, email: b.email, password: b.password, mfaReset: b.mfa_reset },
        userPrincipal(request).userId,
      );
      return toUserDto(user);
    },
  );

  app.post(
    '/auth/users/:user_id/oidc-links',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Link an OIDC identity to an existing user',
        description:
          'The only way an existing local account gets an OIDC login: an OIDC login whose verified email matches an account it is not linked to is refused (409 `OIDC_ACCOUNT_NOT_LINKED`), never linked by itself. Once linked, each login of that identity signs in as this user, with the role the provider’s claims map to (a change is ledgered and ends the user’s other sessions). Ledgered `auth_oidc_linked` (`created: false`, `by`). 404 `OIDC_PROVIDER_NOT_FOUND` when `provider` is not the configured provider; 409 `OIDC_IDENTITY_LINKED` when the identity is linked already.',
        tags: ['users'],
        params: UserParamsSchema,
        body: OidcLinkBodySchema,
        response: { 201: OidcLinkSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { provider, subject } = request.body;
      if (provider !== oidcProvider) {
        throw new AppError(404, 'OIDC_PROVIDER_NOT_FOUND', `No OpenID Provider named '${provider}' is configured`);
      }
      const link = await auth.linkOidcIdentity(request.params.user_id, { provider, subject }, userPrincipal(request).userId);
      return reply
        .status(201)
        .send({ user_id: request.params.user_id, provider: link.provider, subject: link.subject, linked_at: link.linkedAt });
    },
  );

  app.get(
    '/auth/users/:user_id/oidc-links',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'The OIDC identities linked to a user',
        tags: ['users'],
        params: UserParamsSchema,
        response: { 200: OidcLinkListSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const links = await auth.oidcLinks(request.params.user_id);
      return {
        items: links.map((l) => ({ user_id: request.params.user_id, provider: l.provider, subject: l.subject, linked_at: l.linkedAt })),
      };
    },
  );

  app.post(
    '/auth/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Create an agent API key',
        description:
          'The key may only decide for actors matching `actor_pattern`. The secret is in this answer only; it is stored as a hash.',
        tags: ['users'],
        body: CreateApiKeyBodySchema,
        response: { 201: CreatedApiKeySchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { key, secret } = await auth.createApiKey(
        { name: request.body.name, actorPattern: request.body.actor_pattern },
        userPrincipal(request).userId,
      );
      return reply.status(201).send({ ...toApiKeyDto(key), api_key: secret });
    },
  );

  app.get(
    '/auth/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'List agent API keys (never their secrets)',
        tags: ['users'],
        querystring: PageQuerySchema,
        response: { 200: ApiKeyListSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { rows, next_cursor } = await page((a, l) => auth.listApiKeys(a, l), (k) => k.keyId, request.query);
      return { items: rows.map(toApiKeyDto), next_cursor };
    },
  );

  app.delete(
    '/auth/api-keys/:key_id',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Revoke an agent API key',
        description: 'The key fails from the next request on. Revoking it again changes nothing.',
        tags: ['users'],
        params: ApiKeyParamsSchema,
        response: { 200: ApiKeySchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toApiKeyDto(await auth.revokeApiKey(request.params.key_id, userPrincipal(request).userId)),
  );
};
