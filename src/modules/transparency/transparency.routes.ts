import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/errors.js';
import { roles } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import {
  ConsistencyProofSchema,
  ConsistencyQuerySchema,
  InclusionProofSchema,
  InclusionQuerySchema,
  toConsistencyDto,
  toInclusionDto,
} from './transparency.schemas.js';
import type { TransparencyService } from './transparency.service.js';

export interface TransparencyRoutesOptions {
  transparency: TransparencyService;
}

/**
 * Who may read proofs: the ledger's readers (every human role), as for the entries themselves. Anonymous
 * reading, as a public log serves it, comes with signed checkpoints (a later slice of issue 19): a proof
 * is only worth something to an outsider against a checkpoint the log signed.
 */
const PROOF_READ = roles(...READ_ROLES);

export const transparencyRoutes: FastifyPluginAsyncZod<TransparencyRoutesOptions> = async (app, { transparency }) => {
  app.get(
    '/ledger/proof/inclusion',
    {
      config: { access: PROOF_READ },
      schema: {
        summary: 'Merkle inclusion proof of a ledger entry',
        description:
          'RFC 9162 §2.1.3 inclusion proof of entry `seq` (leaf = the 32 bytes of its entry_hash) in the Merkle tree over the ledger at `tree_size` (default: the integrated tree), read from the stored tree in O(log n). Entries join the tree within LEXECON_TREE_INTEGRATE_MS of their commit; a larger size is a 400 naming the integrated size.',
        tags: ['ledger'],
        querystring: InclusionQuerySchema,
        response: { 200: InclusionProofSchema, ...errorResponses(400, 401, 403, 429, 500) },
      },
    },
    async (request) => toInclusionDto(await transparency.inclusion(request.query.seq, request.query.tree_size)),
  );

  app.get(
    '/ledger/proof/consistency',
    {
      config: { access: PROOF_READ },
      schema: {
        summary: 'Merkle consistency proof between two tree sizes',
        description:
          'RFC 9162 §2.1.4 consistency proof that the Merkle tree over the first `from` entries is a prefix of the tree over the first `to` (default: the integrated tree): the ledger only grew between them.',
        tags: ['ledger'],
        querystring: ConsistencyQuerySchema,
        response: { 200: ConsistencyProofSchema, ...errorResponses(400, 401, 403, 429, 500) },
      },
    },
    async (request) => toConsistencyDto(await transparency.consistency(request.query.from, request.query.to)),
  );
};
