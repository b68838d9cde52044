import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/errors.js';
import { idPattern } from '../../platform/ids.js';
import { roles } from '../auth/auth.guard.js';
import { HUMAN_ROLES, STOP_ROLES } from '../auth/roles.js';
import { MAX_TOKEN_LENGTH, TokenClaimsSchema } from './token.js';
import type { TokenService } from './tokens.service.js';

export interface TokenRoutesOptions {
  tokens: TokenService;
}

export const VERIFY_REASONS = [
  'ok',
  'malformed',
  'unknown_kid',
  'bad_signature',
  'unknown_token',
  'revoked',
  'revoked_by_stop',
  'not_yet_valid',
  'expired',
  'action_mismatch',
  'tool_mismatch',
] as const;

const VerifyBodySchema = z
  .strictObject({
    token: z.string().min(1).max(MAX_TOKEN_LENGTH),
    action: z.string().min(1).max(512).optional().describe('when given, the token must be for exactly this action'),
    tool: z.string().min(1).max(255).optional().describe('when given, the token must be for exactly this tool'),
  })
  .meta({ id: 'TokenVerifyRequest' });

const VerifyResponseSchema = z
  .object({
    valid: z.boolean(),
    reason: z.enum(VERIFY_REASONS),
    claims: TokenClaimsSchema.nullable().describe('present once the signature checked out'),
  })
  .meta({ id: 'TokenVerifyResult' });

const RevokeBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(1024).optional() }).meta({ id: 'TokenRevokeRequest' });

const RevocationSchema = z
  .object({ jti: z.string(), decision_id: z.string(), revoked_at: z.string(), revoked_by: z.string(), reason: z.string().nullable() })
  .meta({ id: 'TokenRevocation' });

export const tokenRoutes: FastifyPluginAsyncZod<TokenRoutesOptions> = async (app, { tokens }) => {
  app.post(
    '/decide/verify',
    {
      config: { access: roles('agent', ...HUMAN_ROLES) },
      schema: {
        summary: 'Verify a capability token',
        description:
          'Checks the format, the key id (active or retired keys), the Ed25519 signature, that this server issued it and has not revoked it, the validity window, and, when given, that `action` and `tool` match the token. Always 200 with `valid` and the first failing `reason`. An API key may verify only tokens for actors its pattern allows.',
        tags: ['tokens'],
        body: VerifyBodySchema,
        response: { 200: VerifyResponseSchema, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
    },
    async (request) => {
      const b = request.body;
      return tokens.verify(b.token, { action: b.action, tool: b.tool }, request.principal!);
    },
  );

  app.post(
    '/api/governance/tokens/:jti/revoke',
    {
      // A lesser stop: the roles that may stop (DESIGN §7), no wider.
      config: { access: roles(...STOP_ROLES) },
      schema: {
        summary: 'Revoke a capability token',
        description:
          'Revokes the token for good (ledgered `token_revoked`): `POST /decide/verify` answers `revoked` from then on. 201 when revoked now; 200 with the first revocation when it already was.',
        tags: ['tokens'],
        params: z.object({ jti: z.string().regex(idPattern('tok'), 'must be a token id (tok_…)') }),
        body: RevokeBodySchema.optional(),
        response: { 201: RevocationSchema, 200: RevocationSchema, ...errorResponses(400, 401, 403, 404, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const r = await tokens.revoke(request.params.jti, request.body?.reason ?? null, request.principal!);
      return reply.status(r.created ? 201 : 200).send({
        jti: r.jti,
        decision_id: r.decisionId,
        revoked_at: r.revokedAt,
        revoked_by: r.revokedBy,
        reason: r.reason,
      });
    },
  );
};
