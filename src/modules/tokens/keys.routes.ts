import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PUBLIC } from '../../platform/access.js';
import type { KeyManager } from '../../platform/crypto/keys.js';
import { errorResponses } from '../../platform/errors.js';

export interface KeysRoutesOptions {
  keys: KeyManager;
}

const PublicKeysSchema = z
  .object({
    keys: z.array(
      z.object({
        kid: z.string().describe('first 16 hex characters of the SHA-256 of the SPKI DER'),
        alg: z.enum(['Ed25519', 'RSA-PSS-SHA256']),
        public_key_pem: z.string(),
        status: z.enum(['active', 'retired']),
        created_at: z.string(),
        retired_at: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'PublicKeys' });

/** The public keys, for anyone who verifies tokens, interventions or exports offline. */
export const keysRoutes: FastifyPluginAsyncZod<KeysRoutesOptions> = async (app, { keys }) => {
  app.get(
    '/api/governance/keys',
    {
      config: { access: PUBLIC },
      schema: {
        summary: 'Public keys (active and retired)',
        description:
          'Every signing key’s public half: the active Ed25519 key signs capability tokens; retired keys stay listed so that what they signed still verifies. Anonymous (DESIGN §7).',
        tags: ['keys'],
        response: { 200: PublicKeysSchema, ...errorResponses(429) },
      },
    },
    async () => ({ keys: keys.publicKeys() }),
  );
};
