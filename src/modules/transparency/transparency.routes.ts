import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, errors } from '../../platform/errors.js';
import { roles } from '../auth/auth.guard.js';
import { READ_ROLES } from '../auth/roles.js';
import {
  CheckpointListQuerySchema,
  CheckpointListSchema,
  CutCheckpointSchema,
  decodeCheckpointCursor,
  encodeCheckpointCursor,
  toCheckpointDto,
  ConsistencyProofSchema,
  ConsistencyQuerySchema,
  InclusionProofSchema,
  InclusionQuerySchema,
  toConsistencyDto,
  toInclusionDto,
} from './transparency.schemas.js';
import type { TransparencyService } from './transparency.service.js';
import type { CheckpointService } from './checkpoints.service.js';

export interface TransparencyRoutesOptions {
  transparency: TransparencyService;
  checkpoints: CheckpointService;
}

/**
 * Who may read proofs and checkpoints: the ledger's readers (every human role), as for the entries
 * themselves. DESIGN §7 keeps the anonymous list short; serving them anonymously, as a public log does,
 * is a change of that list (an outsider verifies a checkpoint offline with the anonymous public keys).
 */
const PROOF_READ = roles(...READ_ROLES);
/**
 * Checkpoints are read like proofs (DESIGN §7 keeps the anonymous list short; serving them anonymously,
 * as a public log would, is a decision for that list). Cutting one on demand: the operator who runs the
 * log, the admin, and the auditor who wants a fresh checkpoint to hold the log to (it only signs what
 * is already integrated and appends one `checkpoint_cut` entry; it cannot change anything else).
 */
const CHECKPOINT_CUT = roles('operator', 'admin', 'auditor');

/** The options of a Merkle proof route: read by PROOF_READ, its query and its proof (200) by their schemas. */
function proofRoute<Q extends z.ZodType, P extends z.ZodType>(summary: string, description: string, querystring: Q, proof: P) {
  return {
    config: { access: PROOF_READ },
    schema: { summary, description, tags: ['ledger'], querystring, response: { 200: proof, ...errorResponses(400, 401, 403, 429, 500) } },
  };
}

export const transparencyRoutes: FastifyPluginAsyncZod<TransparencyRoutesOptions> = async (app, { transparency, checkpoints }) => {
  app.get(
    '/ledger/proof/inclusion',
    proofRoute(
      'Merkle inclusion proof of a ledger entry',
      'RFC 9162 §2.1.3 inclusion proof of entry `seq` (leaf = the 32 bytes of its entry_hash) in the Merkle tree over the ledger at `tree_size` (default: the integrated tree), read from the stored tree in O(log n). Entries join the tree within LEXECON_TREE_INTEGRATE_MS of their commit; a larger size is a 400 naming the integrated size.',
      InclusionQuerySchema,
      InclusionProofSchema,
    ),
    async (request) => toInclusionDto(await transparency.inclusion(request.query.seq, request.query.tree_size)),
  );

  app.get(
    '/ledger/proof/consistency',
    proofRoute(
      'Merkle consistency proof between two tree sizes',
      'RFC 9162 §2.1.4 consistency proof that the Merkle tree over the first `from` entries is a prefix of the tree over the first `to` (default: the integrated tree): the ledger only grew between them.',
      ConsistencyQuerySchema,
      ConsistencyProofSchema,
    ),
    async (request) => toConsistencyDto(await transparency.consistency(request.query.from, request.query.to)),
  );

  app.get(
    '/ledger/checkpoint',
    {
      config: { access: PROOF_READ },
      schema: {
        summary: 'The latest signed checkpoint (text/plain)',
        description:
          'The latest C2SP tlog-checkpoint of the Merkle tree over the ledger, as a C2SP signed note (`text/plain; charset=utf-8`): origin line (`LEXECON_LOG_ORIGIN`), tree size, base64 root hash, a blank line, then the Ed25519 note signature line (`— <origin> <base64(4-byte key id || signature)>`). Verify with the verifier key of `GET /ledger/checkpoints` (or build it from the Ed25519 public key of `GET /api/governance/keys`). 404 before the first checkpoint.',
        tags: ['ledger'],
        response: { 200: z.string().describe('the signed note'), ...errorResponses(401, 403, 404, 429, 500) },
      },
    },
    async (_request, reply) => {
      const latest = await checkpoints.latest();
      if (!latest) throw errors.notFound('checkpoint');
      return reply.type('text/plain; charset=utf-8').send(latest.note);
    },
  );

  app.get(
    '/ledger/checkpoints',
    {
      config: { access: PROOF_READ },
      schema: {
        summary: 'Signed checkpoints, newest first',
        description:
          'Every stored checkpoint, newest first, with its signed note, the C2SP verifier key of the key that signed it and its `checkpoint_cut` ledger entry; cursor paging (`next_cursor`).',
        tags: ['ledger'],
        querystring: CheckpointListQuerySchema,
        response: { 200: CheckpointListSchema, ...errorResponses(400, 401, 403, 429, 500) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      let before: number | undefined;
      if (cursor !== undefined) {
        before = decodeCheckpointCursor(cursor);
        if (before === undefined) {
          throw errors.validation('Invalid querystring', [{ in: 'querystring', field: 'cursor', message: 'not a cursor of this list', code: 'custom' }]);
        }
      }
      const page = await checkpoints.list(limit + 1, before);
      const shown = page.slice(0, limit);
      return {
        checkpoints: shown.map((c) => toCheckpointDto(c, checkpoints.verifierKeyOf(c))),
        next_cursor: page.length > limit ? encodeCheckpointCursor(shown[shown.length - 1]!.treeSize) : null,
      };
    },
  );

  app.post(
    '/ledger/checkpoints',
    {
      config: { access: CHECKPOINT_CUT },
      schema: {
        summary: 'Cut a signed checkpoint now',
        description:
          'Signs a checkpoint of the integrated Merkle tree now (as the timer does every `LEXECON_CHECKPOINT_INTERVAL_S` when the tree grew), records it in the ledger (`checkpoint_cut`) and stores it. `created: false` (200) when the latest checkpoint already covers the integrated tree; 201 when a new one was cut. 409 while the tree has no integrated entry.',
        tags: ['ledger'],
        response: { 200: CutCheckpointSchema, 201: CutCheckpointSchema, ...errorResponses(401, 403, 409, 429, 500, 503) },
      },
    },
    async (_request, reply) => {
      const got = (await checkpoints.cut('api'))!;
      return reply.code(got.created ? 201 : 200).send({ created: got.created, checkpoint: toCheckpointDto(got.checkpoint, checkpoints.verifierKeyOf(got.checkpoint)) });
    },
  );
};
