/**
 * The hash chain, pure: no I/O, no clock. DESIGN §3 fixes every byte of it.
 *
 * entry_hash = lowercase hex SHA-256 of the UTF-8 bytes of
 * JCS({entry_id, event_type, data, timestamp, previous_hash}).
 */
import { hash } from 'node:crypto';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import {
  canonicalStringEnd,
  canonicalValueEnd,
  isCanonicalJson,
  isPlainFrom,
  plainStringEnd,
  plainValueEnd,
} from '../../platform/crypto/canonical-json-check.js';

/** Lowercase hex SHA-256 of a string's UTF-8 bytes, one shot (no Hash object: 2.5× faster for entries). */
const sha256Hex = (text: string): string => hash('sha256', text, 'hex');

export const GENESIS_PREVIOUS_HASH = '0'.repeat(64);
export const GENESIS_ENTRY_ID = 'genesis';
export const GENESIS_EVENT_TYPE = 'genesis';
export const GENESIS_DATA = Object.freeze({ message: 'Lexecon ledger initialized' });
const GENESIS_DATA_JSON = canonicalize(GENESIS_DATA);

/** Event types are lowercase snake_case words (`decision`, `user_created`, `auth_login_failed`). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** One ledger entry as stored: `dataJson` is the canonical (JCS) JSON of `data`, exactly as hashed. */
export interface StoredEntry {
  seq: number;
  entryId: string;
  eventType: string;
  timestamp: string;
  dataJson: string;
  previousHash: string;
  entryHash: string;
}

/** Where the chain ends: the next entry links to `entryHash` and takes `seq + 1`. */
export interface ChainHead {
  seq: number;
  entryHash: string;
}

/** `"genesis"` for seq 0, `"entry_" + seq` after it. */
export function entryIdForSeq(seq: number): string {
  return seq === 0 ? GENESIS_ENTRY_ID : `entry_${seq}`;
}

/**
 * The canonical preimage of an entry, built from the stored canonical data without re-canonicalizing.
 * Keys in JCS order: data, entry_id, event_type, previous_hash, timestamp. Equal to
 * `canonicalize({entry_id, event_type, data, timestamp, previous_hash})` whenever `dataJson` is
 * canonical and the strings are well-formed (the writer guarantees both; a tampered row that breaks
 * them yields a different hash, which is what verification reports).
 */
export function entryPreimage(e: Omit<StoredEntry, 'seq' | 'entryHash'>): string {
  return (
    `{"data":${e.dataJson},"entry_id":${JSON.stringify(e.entryId)},"event_type":${JSON.stringify(e.eventType)}` +
    `,"previous_hash":${JSON.stringify(e.previousHash)},"timestamp":${JSON.stringify(e.timestamp)}}`
  );
}

/** SHA-256 hex of the entry's preimage. */
export function computeEntryHash(e: Omit<StoredEntry, 'seq' | 'entryHash'>): string {
  return sha256Hex(entryPreimage(e));
}

/** The first entry of every ledger. */
export function genesisEntry(timestamp: string): StoredEntry {
  const fields = {
    entryId: GENESIS_ENTRY_ID,
    eventType: GENESIS_EVENT_TYPE,
    timestamp,
    dataJson: GENESIS_DATA_JSON,
    previousHash: GENESIS_PREVIOUS_HASH,
  };
  return { seq: 0, ...fields, entryHash: computeEntryHash(fields) };
}

/** The entry that follows `head`, with its data already in canonical JSON. */
export function nextEntry(head: ChainHead, eventType: string, dataJson: string, timestamp: string): StoredEntry {
  const seq = head.seq + 1;
  const fields = { entryId: entryIdForSeq(seq), eventType, timestamp, dataJson, previousHash: head.entryHash };
  return { seq, ...fields, entryHash: computeEntryHash(fields) };
}

export type FindingCode =
  | 'missing_genesis'
  | 'invalid_genesis'
  | 'seq_gap'
  | 'entry_id_mismatch'
  | 'broken_link'
  | 'hash_mismatch';

/** The first thing found wrong with a chain. */
export interface Finding {
  seq: number;
  entryId: string;
  code: FindingCode;
  reason: string;
}

/**
 * Check one entry in isolation against what the chain expects at its place: its seq, the hash it must
 * link to, and (for seq 0) the fixed genesis content. Returns the first problem, or `undefined`.
 */
export function checkEntry(entry: StoredEntry, expectedSeq: number, expectedPreviousHash: string): Finding | undefined {
  const at = (code: FindingCode, reason: string, seq = entry.seq, entryId = entry.entryId): Finding => ({
    seq,
    entryId,
    code,
    reason,
  });
  if (entry.seq !== expectedSeq) {
    return at(
      expectedSeq === 0 ? 'missing_genesis' : 'seq_gap',
      `entry with seq ${expectedSeq} is missing (next stored entry has seq ${entry.seq})`,
      expectedSeq,
      entryIdForSeq(expectedSeq),
    );
  }
  if (entry.seq === 0) {
    if (
      entry.entryId !== GENESIS_ENTRY_ID ||
      entry.eventType !== GENESIS_EVENT_TYPE ||
      entry.dataJson !== GENESIS_DATA_JSON ||
      entry.previousHash !== GENESIS_PREVIOUS_HASH
    ) {
      return at('invalid_genesis', 'genesis entry does not have the fixed genesis id, type, data and previous hash');
    }
  } else if (entry.entryId !== entryIdForSeq(entry.seq)) {
    return at('entry_id_mismatch', `entry_id '${entry.entryId}' does not belong at seq ${entry.seq}`);
  }
  if (entry.previousHash !== expectedPreviousHash) {
    return at('broken_link', `previous_hash does not equal the entry_hash of seq ${entry.seq - 1}`);
  }
  // DESIGN §3 hashes JCS of the data VALUE: a stored text in any other form, hashed as it stands, is not
  // the entry an independent verifier recomputes.
  if (!isCanonicalJson(entry.dataJson) || computeEntryHash(entry) !== entry.entryHash) {
    return at('hash_mismatch', 'entry_hash does not match the entry content (altered entry or hash)');
  }
  return undefined;
}

/**
 * Streaming verifier: feed entries in seq order, constant memory. Stops judging at the first finding.
 */
export class ChainVerifier {
  private finding: Finding | undefined;

  /**
   * From genesis by default; or from `expectedSeq`, the entry before it having the stored entry_hash
   * `previousHash` (a segment of a parallel verification: only sound if that entry is checked too).
   */
  constructor(
    private expectedSeq = 0,
    private previousHash = GENESIS_PREVIOUS_HASH,
  ) {}

  /** The entry_hash the next entry must link to (of the last entry found valid). */
  get lastHash(): string {
    return this.previousHash;
  }

  /** Number of entries found valid so far. */
  get entriesChecked(): number {
    return this.expectedSeq;
  }

  get firstInvalid(): Finding | undefined {
    return this.finding;
  }

  /** Check the next entry; returns false once the chain is known to be invalid. */
  push(entry: StoredEntry): boolean {
    if (this.finding) return false;
    this.finding = checkEntry(entry, this.expectedSeq, this.previousHash);
    if (this.finding) return false;
    this.expectedSeq++;
    this.previousHash = entry.entryHash;
    return true;
  }

  /**
   * Fast path for verification: accept the next entry given `entry_hash + preimage` as the store built
   * it from its columns (`verificationRow`; exactly 64 characters of stored entry_hash, else null),
   * when it is plainly valid: a non-genesis entry whose preimage is, as a whole, the canonical envelope
   * `{"data":D,"entry_id":"entry_<seq>","event_type":E,"previous_hash":"<the expected link>",
   * "timestamp":T}` with D canonical JSON and E, T canonical strings (checked in one pass, without
   * parsing), and whose SHA-256 is the stored entry_hash. The caller vouches that the row is the one at
   * `expectedSeq`. Returns false otherwise, without judging: the caller then passes the whole entry to
   * `push`, which finds the exact problem, if any.
   *
   * Why the envelope check is enough: the store appended the fixed key texts and quoted strings after
   * the stored data text; a data text that is not exactly one value either leaves text before
   * `,"entry_id":` or swallows part of it, and both break the fixed shape (a JSON string literal ends at
   * its first unescaped quote, and the keys that follow are fixed). So an accepted row proves that the
   * stored data is canonical, the other columns are those the shape shows, and the hash covers
   * `JCS({entry_id, event_type, data, timestamp, previous_hash})`, as `checkEntry` requires.
   */
  tryPushRow(row: string | null): boolean {
    const seq = this.expectedSeq;
    if (this.finding !== undefined || seq === 0 || typeof row !== 'string' || !row.startsWith('{"data":', 64)) return false;
    // Most rows are plain after the hash (no escape, no lone surrogate, no control character: three
    // native scans): then every string literal in them runs to its next quote and is canonical as is.
    const plain = isPlainFrom(row, 72);
    let at = plain ? plainValueEnd(row, 72) : canonicalValueEnd(row, 72);
    if (at < 0 || !row.startsWith(',"entry_id":"entry_', at)) return false;
    // "entry_<seq>": the digits of seq, read as a number (no string built per entry), no leading zero.
    at += 19;
    const digitsStart = at;
    let n = 0;
    for (let c = row.charCodeAt(at); c >= 0x30 && c <= 0x39 && at - digitsStart < 16; c = row.charCodeAt(++at)) n = n * 10 + c - 0x30;
    if (n !== seq || row.charCodeAt(digitsStart) === 0x30 || !row.startsWith('","event_type":', at)) return false;
    at = plain ? plainStringEnd(row, at + 15) : canonicalStringEnd(row, at + 15);
    // The 64-character hashes are compared as (sliced) strings: `===` is native, startsWith of a
    // non-constant string costs 4× more.
    if (at < 0 || !row.startsWith(',"previous_hash":"', at) || row.substring(at + 18, at + 82) !== this.previousHash) return false;
    at += 18 + 64;
    if (!row.startsWith('","timestamp":', at)) return false;
    at = plain ? plainStringEnd(row, at + 14) : canonicalStringEnd(row, at + 14);
    if (at !== row.length - 1 || row.charCodeAt(at) !== 0x7d /* } */) return false;
    const digest = sha256Hex(row.slice(64));
    if (row.substring(0, 64) !== digest) return false;
    this.expectedSeq = seq + 1;
    this.previousHash = digest;
    return true;
  }

  /** Close the stream: an empty chain lacks its genesis. */
  finish(): Finding | undefined {
    if (!this.finding && this.expectedSeq === 0) {
      this.finding = {
        seq: 0,
        entryId: GENESIS_ENTRY_ID,
        code: 'missing_genesis',
        reason: 'the ledger has no genesis entry',
      };
    }
    return this.finding;
  }
}
