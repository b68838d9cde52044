/**
 * Decision receipts (issue 19 §1), the pure core: the bundle's shape and its offline verification. No I/O.
 *
 * A receipt holds a decision's ledger entry (as `GET /ledger/entries/:id` serves it), the RFC 9162
 * inclusion proof of that entry's leaf in the tree of a signed checkpoint, the checkpoint (a C2SP
 * signed note) and the key that signed it. Verifying it needs nothing else:
 *
 * 1. the entry is the decision's (`event_type` `decision`, `data.decision_id` = the receipt's id);
 * 2. its `entry_hash` is the ledger's hash of its fields (`computeEntryHash`, the chain's own code)
 *    and its `entry_id` is the one of its seq;
 * 3. the checkpoint's note signature verifies under the trusted key (or, without one, the receipt's
 *    own key: integrity, not origin);
 * 4. the proof binds leaf `SHA-256(0x00 || entry_hash bytes)` at `leaf_index` = seq to the
 *    checkpoint's root at its tree size.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { computeEntryHash, entryIdForSeq } from '../ledger/ledger.chain.js';
import { LedgerEntrySchema, type LedgerEntryDto } from '../ledger/ledger.schemas.js';
import { CheckpointError, openCheckpoint } from './checkpoint.js';
import { HASH_BYTES, leafHash, verifyInclusion } from './merkle.js';
import { decodeBase64Strict, formatVerifierKey, NoteError, noteVerifier, parseNote, type NoteVerifier } from './note.js';

export const RECEIPT_FORMAT = 'lexecon-receipt/v1';

export const ReceiptKeySchema = z.object({
  kid: z.string(),
  alg: z.literal('Ed25519'),
  public_key_pem: z.string().max(4096),
});

export const ReceiptSchema = z
  .object({
    format: z.literal(RECEIPT_FORMAT),
    decision_id: z.string().min(1).max(128),
    entry: LedgerEntrySchema,
    leaf_index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    tree_size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    inclusion_proof: z.array(z.string().max(64)).max(64).describe('the audit path, base64 SHA-256 hashes, the leaf\'s sibling first'),
    checkpoint: z.string().max(64 * 1024).describe('the C2SP signed note of the checkpoint whose tree includes the entry'),
    public_key: ReceiptKeySchema.describe('the Ed25519 key that signed the checkpoint'),
    verifier_key: z.string().max(1024).describe('the C2SP verifier key of that key under the log origin'),
  })
  .meta({ id: 'DecisionReceipt' });
export type ReceiptDto = z.infer<typeof ReceiptSchema>;

export type ReceiptFailureCode =
  | 'decision_mismatch'
  | 'entry_hash_mismatch'
  | 'checkpoint_signature'
  | 'checkpoint_malformed'
  | 'tree_size_mismatch'
  | 'proof_invalid'
  | 'key_mismatch';

export interface ReceiptReport {
  valid: boolean;
  decision_id: string;
  seq: number;
  tree_size: number;
  origin: string | null;
  /** `trusted`: a key given by the verifier signed the checkpoint; `receipt`: the receipt's own key. */
  key_source: 'trusted' | 'receipt';
  failure?: { code: ReceiptFailureCode; reason: string };
}

/** Thrown for input that is no receipt at all (exit 2), as opposed to a receipt that fails (exit 1). */
export class ReceiptFormatError extends Error {
  override readonly name = 'ReceiptFormatError';
}

/** Parses receipt JSON text strictly by its schema. */
export function parseReceipt(text: string): ReceiptDto {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ReceiptFormatError(`not JSON: ${(err as Error).message}`);
  }
  const got = ReceiptSchema.safeParse(doc);
  if (!got.success) {
    const first = got.error.issues[0]!;
    throw new ReceiptFormatError(`not a ${RECEIPT_FORMAT} receipt: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return got.data;
}

/** The entry hash the ledger would compute for this entry (its data re-canonicalized, JCS). */
export function recomputeEntryHash(entry: LedgerEntryDto): string {
  return computeEntryHash({
    entryId: entry.entry_id,
    eventType: entry.event_type,
    timestamp: entry.timestamp,
    dataJson: canonicalize(entry.data),
    previousHash: entry.previous_hash,
  });
}

function decodeProof(hashes: readonly string[]): Buffer[] | undefined {
  const out: Buffer[] = [];
  for (const h of hashes) {
    const b = decodeBase64Strict(h);
    if (b === undefined || b.length !== HASH_BYTES) return undefined;
    out.push(b);
  }
  return out;
}

function receiptKey(r: ReceiptDto): KeyObject {
  try {
    const key = createPublicKey(r.public_key.public_key_pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return key;
  } catch (err) {
    throw new ReceiptFormatError(`public_key.public_key_pem: ${(err as Error).message}`);
  }
}

type Failure = { code: ReceiptFailureCode; reason: string; origin: string | null };

/** The receipt's checkpoint opened with the trusted keys (or its own key): its origin, size and root, or why not. */
function openSigned(r: ReceiptDto, trustedKeys: readonly KeyObject[] | undefined): { origin: string; size: number; root: Buffer } | Failure {
  let origin: string;
  try {
    origin = parseNote(r.checkpoint).text.split('\n', 1)[0]!;
  } catch (err) {
    return { code: 'checkpoint_malformed', reason: `the checkpoint is not a signed note: ${(err as Error).message}`, origin: null };
  }
  const fail = (code: ReceiptFailureCode, reason: string): Failure => ({ code, reason, origin });
  let verifiers: NoteVerifier[];
  try {
    if (trustedKeys === undefined) {
      const own = receiptKey(r);
      if (formatVerifierKey(origin, own) !== r.verifier_key) {
        return fail('key_mismatch', `verifier_key is not the C2SP verifier key of public_key ${r.public_key.kid} under the origin ${origin}`);
      }
      verifiers = [noteVerifier(origin, own)];
    } else {
      verifiers = trustedKeys.filter((k) => k.asymmetricKeyType === 'ed25519').map((k) => noteVerifier(origin, k));
    }
  } catch (err) {
    if (err instanceof ReceiptFormatError) throw err;
    return fail('checkpoint_malformed', `the checkpoint's origin is no key name: ${(err as Error).message}`);
  }
  try {
    const { checkpoint } = openCheckpoint(r.checkpoint, origin, verifiers);
    return { origin, size: checkpoint.size, root: checkpoint.rootHash };
  } catch (err) {
    if (err instanceof NoteError && (err.code === 'unverified' || err.code === 'invalid_signature')) {
      const by = trustedKeys === undefined ? `the receipt's key ${r.public_key.kid}` : 'a trusted key';
      return fail('checkpoint_signature', `the checkpoint is not signed by ${by}: ${err.message}`);
    }
    if (err instanceof NoteError || err instanceof CheckpointError) return fail('checkpoint_malformed', `the checkpoint does not parse: ${err.message}`);
    throw err;
  }
}

/**
 * Verifies a receipt offline. `trustedKeys`: the keys the verifier trusts (non-Ed25519 ones are
 * ignored); without them the receipt's own `public_key` is used (and must match its `verifier_key`).
 * Throws {@link ReceiptFormatError} for unusable input; every other problem is a failed report.
 */
export function verifyReceipt(r: ReceiptDto, trustedKeys?: readonly KeyObject[]): ReceiptReport {
  const report: ReceiptReport = {
    valid: false,
    decision_id: r.decision_id,
    seq: r.entry.seq,
    tree_size: r.tree_size,
    origin: null,
    key_source: trustedKeys === undefined ? 'receipt' : 'trusted',
  };
  const fail = (code: ReceiptFailureCode, reason: string): ReceiptReport => ({ ...report, failure: { code, reason } });

  // 1. The entry is this decision's.
  if (r.entry.event_type !== 'decision') return fail('decision_mismatch', `the entry is a ${r.entry.event_type} event, not a decision`);
  if (r.entry.data.decision_id !== r.decision_id) {
    return fail('decision_mismatch', `the entry records decision ${String(r.entry.data.decision_id)}, not ${r.decision_id}`);
  }
  // 2. The entry's hash is its content's, and its id and leaf index are its seq's.
  if (r.entry.entry_id !== entryIdForSeq(r.entry.seq)) return fail('entry_hash_mismatch', `entry_id ${r.entry.entry_id} is not the id of seq ${r.entry.seq}`);
  let recomputed: string;
  try {
    recomputed = recomputeEntryHash(r.entry);
  } catch (err) {
    return fail('entry_hash_mismatch', `the entry's data has no canonical JSON form (${(err as Error).message}): it is not an entry the ledger wrote`);
  }
  if (recomputed !== r.entry.entry_hash) {
    return fail('entry_hash_mismatch', `the entry's fields hash to ${recomputed}, not to its entry_hash ${r.entry.entry_hash}: the entry was altered`);
  }
  if (r.leaf_index !== r.entry.seq) return fail('proof_invalid', `leaf_index ${r.leaf_index} is not the entry's seq ${r.entry.seq}`);

  // 3. The checkpoint's signature.
  const signed = openSigned(r, trustedKeys);
  if ('code' in signed) return { ...report, origin: signed.origin, failure: { code: signed.code, reason: signed.reason } };
  const { origin, size, root } = signed;
  report.origin = origin;
  if (size !== r.tree_size) return fail('tree_size_mismatch', `the checkpoint's tree size is ${size}, the receipt's ${r.tree_size}`);

  // 4. The inclusion proof against the signed root.
  const proof = decodeProof(r.inclusion_proof);
  if (proof === undefined) throw new ReceiptFormatError('inclusion_proof: every hash is the base64 of 32 bytes');
  const leaf = leafHash(Buffer.from(r.entry.entry_hash, 'hex'));
  if (!/^[0-9a-f]{64}$/.test(r.entry.entry_hash) || !verifyInclusion(r.leaf_index, size, leaf, proof, root)) {
    return fail('proof_invalid', `the inclusion proof of seq ${r.leaf_index} does not lead to the checkpoint's root at tree size ${size}`);
  }
  return { ...report, valid: true };
}
