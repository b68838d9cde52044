import { z } from 'zod';
import type { ConsistencyProof, InclusionProof } from './transparency.service.js';

const size = z.coerce.number().int().max(Number.MAX_SAFE_INTEGER);
const base64Hash = z.string().describe('base64 of a 32-byte SHA-256 hash');

export const InclusionQuerySchema = z.object({
  seq: size.min(0).describe('the entry (its seq is its leaf index)'),
  tree_size: size.min(1).optional().describe('the tree the entry is proven in; default: the integrated tree (at most the ledger size; larger is a 400 naming it)'),
});

export const ConsistencyQuerySchema = z.object({
  from: size.min(1).describe('the older tree size'),
  to: size.min(1).optional().describe('the newer tree size; default: the integrated tree (at most the ledger size; larger is a 400 naming it)'),
});

export const InclusionProofSchema = z
  .object({
    seq: z.number().int(),
    leaf_index: z.number().int().describe('= seq'),
    tree_size: z.number().int(),
    leaf_hash: base64Hash.describe('SHA-256(0x00 || the 32 bytes of the entry_hash)'),
    root_hash: base64Hash.describe('the RFC 9162 tree head at tree_size'),
    hashes: z.array(base64Hash).describe("RFC 9162 §2.1.3 audit path, the leaf's sibling first"),
  })
  .meta({ id: 'InclusionProof' });

export const ConsistencyProofSchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    from_root: base64Hash,
    to_root: base64Hash,
    hashes: z.array(base64Hash).describe('RFC 9162 §2.1.4 consistency proof (empty when from = to)'),
  })
  .meta({ id: 'ConsistencyProof' });

const b64 = (h: Buffer): string => h.toString('base64');

export function toInclusionDto(p: InclusionProof): z.infer<typeof InclusionProofSchema> {
  return {
    seq: p.leafIndex,
    leaf_index: p.leafIndex,
    tree_size: p.treeSize,
    leaf_hash: b64(p.leafHash),
    root_hash: b64(p.rootHash),
    hashes: p.hashes.map(b64),
  };
}

export function toConsistencyDto(p: ConsistencyProof): z.infer<typeof ConsistencyProofSchema> {
  return { from: p.from, to: p.to, from_root: b64(p.fromRoot), to_root: b64(p.toRoot), hashes: p.hashes.map(b64) };
}
