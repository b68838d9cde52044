import { z } from 'zod';
import type { StoredCheckpoint } from './checkpoints.repo.js';
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

export const CheckpointSchema = z
  .object({
    tree_size: z.number().int(),
    root_hash: base64Hash,
    origin: z.string(),
    kid: z.string().describe('the Ed25519 key (GET /api/governance/keys) that signed it'),
    verifier_key: z.string().describe('C2SP note verifier key: `<origin>+<key id hex>+<base64(0x01 || public key)>`'),
    note: z.string().describe('the C2SP signed note (tlog-checkpoint body, a blank line, the signature line)'),
    note_sha256: z.string(),
    trigger: z.enum(['timer', 'api']),
    created_at: z.string(),
    ledger_seq: z.number().int().describe('its `checkpoint_cut` ledger entry'),
  })
  .describe('A signed checkpoint of the Merkle tree over the ledger');

export const CheckpointListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
});

export const CheckpointListSchema = z.object({
  checkpoints: z.array(CheckpointSchema).describe('newest first'),
  next_cursor: z.string().nullable().describe('pass as cursor to read older checkpoints; null at the end'),
});

export const CutCheckpointSchema = z.object({
  created: z.boolean().describe('false: the latest checkpoint already covered the integrated tree'),
  checkpoint: CheckpointSchema,
});

export function toCheckpointDto(c: StoredCheckpoint, verifierKey: string): z.infer<typeof CheckpointSchema> {
  return {
    tree_size: c.treeSize,
    root_hash: c.rootHash.toString('base64'),
    origin: c.origin,
    kid: c.kid,
    verifier_key: verifierKey,
    note: c.note,
    note_sha256: c.noteSha256,
    trigger: c.trigger,
    created_at: c.createdAt,
    ledger_seq: c.ledgerSeq,
  };
}

/** Cursors are opaque: base64url of the last tree size returned. */
export function encodeCheckpointCursor(size: number): string {
  return Buffer.from(`c:${size}`).toString('base64url');
}

export function decodeCheckpointCursor(cursor: string): number | undefined {
  const m = /^c:(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}
