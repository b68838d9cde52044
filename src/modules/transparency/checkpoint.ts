/**
 * C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint) and offline proofs
 * (https://c2sp.org/tlog-proof), the pure core (issue 19). No I/O.
 *
 * Checkpoint body (the text of a signed note, see `note.ts`):
 *
 * ```
 * <origin>
 * <tree size, decimal, no leading zeros>
 * <base64 root hash>
 * [<extension line>…]
 * ```
 *
 * tlog-proof (a checkpoint with the inclusion proof of one entry, verifiable offline):
 *
 * ```
 * c2sp.org/tlog-proof@v1
 * [extra <base64>]
 * index <leaf index, decimal>
 * <base64 hash>…           (the audit path, leaf's sibling first)
 *
 * <the signed checkpoint, verbatim>
 * ```
 *
 * Parsing is strict (canonical decimal and base64, 32-byte hashes, no empty lines where none belong);
 * sizes and indexes are safe integers.
 */
import { HASH_BYTES, verifyInclusion } from './merkle.js';
import {
  decodeBase64Strict,
  isValidKeyName,
  MAX_NOTE_BYTES,
  openNote,
  signNote,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
} from './note.js';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  /** Optional extension lines (opaque, non-empty; not recommended). */
  readonly extensions: readonly string[];
}

export type CheckpointErrorCode = 'malformed' | 'wrong_origin' | 'proof_invalid';

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly code: CheckpointErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Audit paths of safe-integer trees have at most 53 hashes; anything longer is refused unread. */
const MAX_PROOF_HASHES = 64;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A canonical decimal safe integer, or undefined. */
export function parseDecimal(s: string): number | undefined {
  if (s.length > 16 || !DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function decodeHash(s: string): Buffer | undefined {
  const bytes = decodeBase64Strict(s);
  return bytes !== undefined && bytes.length === HASH_BYTES ? bytes : undefined;
}

/** The checkpoint body (note text). Our own origins follow the recommended form (a valid key name). */
export function formatCheckpoint(cp: Checkpoint): string {
  if (!isValidKeyName(cp.origin)) throw new CheckpointError('malformed', 'the origin is a key name: no spaces, no "+"');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new CheckpointError('malformed', 'the tree size is a safe integer');
  if (cp.rootHash.length !== HASH_BYTES) throw new CheckpointError('malformed', 'the root hash is 32 bytes');
  for (const ext of cp.extensions) {
    if (ext.length === 0 || ext.includes('\n')) throw new CheckpointError('malformed', 'an extension line is one non-empty line');
  }
  return [cp.origin, String(cp.size), cp.rootHash.toString('base64'), ...cp.extensions].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint body strictly (origin: any non-empty line, as the spec tells clients). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointError('malformed', 'a checkpoint body ends in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointError('malformed', 'a checkpoint has an origin, a size and a root hash');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new CheckpointError('malformed', 'the origin is empty');
  const size = parseDecimal(sizeText);
  if (size === undefined) throw new CheckpointError('malformed', 'the tree size is a decimal without leading zeros');
  const rootHash = decodeHash(rootText);
  if (rootHash === undefined) throw new CheckpointError('malformed', 'the root hash is the base64 of 32 bytes');
  if (extensions.some((e) => e.length === 0)) throw new CheckpointError('malformed', 'an extension line is non-empty');
  return { origin, size, rootHash, extensions };
}

/** A signed checkpoint; the log's key name is its origin. */
export function signCheckpoint(cp: Checkpoint, signer: NoteSigner): string {
  if (signer.name !== cp.origin) throw new CheckpointError('malformed', 'the log signs under its origin');
  return signNote(formatCheckpoint(cp), [signer]);
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
}

/**
 * Verifies a signed checkpoint: a note signed by one of `verifiers` (see `openNote`), whose body parses
 * and names `origin`. Throws a `NoteError` (the signatures) or a {@link CheckpointError}.
 */
export function openCheckpoint(signed: string | Uint8Array, origin: string, verifiers: readonly NoteVerifier[]): OpenedCheckpoint {
  const note = openNote(signed, verifiers);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== origin) throw new CheckpointError('wrong_origin', `the checkpoint's origin is not ${origin}`);
  return { checkpoint, note };
}

export interface TlogProof {
  readonly index: number;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint, verbatim. */
  readonly checkpoint: string;
  readonly extra?: Buffer;
}

export function formatTlogProof(p: TlogProof): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw new CheckpointError('malformed', 'the index is a safe integer');
  if (p.proof.length > MAX_PROOF_HASHES || p.proof.some((h) => h.length !== HASH_BYTES)) {
    throw new CheckpointError('malformed', 'a proof is at most 64 hashes of 32 bytes');
  }
  if (p.extra !== undefined && p.extra.length === 0) throw new CheckpointError('malformed', 'extra data is non-empty');
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra !== undefined) lines.push(`extra ${p.extra.toString('base64')}`);
  lines.push(`index ${p.index}`, ...p.proof.map((h) => h.toString('base64')));
  return `${lines.join('\n')}\n\n${p.checkpoint}`;
}

/** Parses a tlog-proof strictly; the checkpoint is returned verbatim, not yet verified. */
export function parseTlogProof(text: string): TlogProof {
  if (text.length > MAX_NOTE_BYTES + 8 * 1024) throw new CheckpointError('malformed', 'proof too large');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new CheckpointError('malformed', 'a tlog-proof has a blank line before its checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (head[0] !== TLOG_PROOF_HEADER) throw new CheckpointError('malformed', `a tlog-proof starts with ${TLOG_PROOF_HEADER}`);
  let at = 1;
  let extra: Buffer | undefined;
  if (head[at]?.startsWith('extra ')) {
    extra = decodeBase64Strict(head[at]!.slice('extra '.length));
    if (extra === undefined || extra.length === 0) throw new CheckpointError('malformed', 'extra data is non-empty base64');
    at += 1;
  }
  const indexLine = head[at] ?? '';
  const index = indexLine.startsWith('index ') ? parseDecimal(indexLine.slice('index '.length)) : undefined;
  if (index === undefined) throw new CheckpointError('malformed', 'the index line is "index <decimal>"');
  const hashLines = head.slice(at + 1);
  if (hashLines.length > MAX_PROOF_HASHES) throw new CheckpointError('malformed', 'too many proof hashes');
  const proof = hashLines.map((line) => {
    const h = decodeHash(line);
    if (h === undefined) throw new CheckpointError('malformed', 'a proof line is the base64 of 32 bytes');
    return h;
  });
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}

/**
 * Verifies a tlog-proof offline: the checkpoint is signed by a known key for `origin`, and the proof
 * binds `leafHash` (computed by the caller from the entry) to its root at `index`.
 */
export function verifyTlogProof(
  text: string,
  origin: string,
  verifiers: readonly NoteVerifier[],
  leafHash: Uint8Array,
): VerifiedTlogProof {
  const parsed = parseTlogProof(text);
  const opened = openCheckpoint(parsed.checkpoint, origin, verifiers);
  const { size, rootHash } = opened.checkpoint;
  if (!verifyInclusion(parsed.index, size, leafHash, parsed.proof, rootHash)) {
    throw new CheckpointError('proof_invalid', `the inclusion proof of index ${parsed.index} does not match the checkpoint`);
  }
  return { index: parsed.index, proof: parsed.proof, extra: parsed.extra, signedCheckpoint: parsed.checkpoint, ...opened };
}

export interface VerifiedTlogProof extends OpenedCheckpoint {
  readonly index: number;
  readonly proof: readonly Buffer[];
  readonly extra: Buffer | undefined;
  readonly signedCheckpoint: string;
}
