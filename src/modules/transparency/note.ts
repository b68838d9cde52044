/**
 * C2SP signed notes (https://c2sp.org/signed-note), the pure core (issue 19): Ed25519 (signature type
 * 0x01) signing and strict verification with node:crypto. No I/O.
 *
 * ```
 * <text, ending in a newline>
 *
 * — <key name> base64(4-byte key ID || Ed25519 signature)
 * ```
 *
 * * Key ID = the first 4 bytes (big-endian uint32) of `SHA-256(name || 0x0A || 0x01 || public key)`;
 *   verifier key `<name>+<hex8 key ID>+base64(0x01 || 32-byte public key)`.
 * * Parsing is strict: valid UTF-8 without control characters other than the newline; the text is
 *   separated from the signatures by the LAST blank line; every line after it is a signature line
 *   (em dash U+2014, space, a key name that is non-empty without Unicode spaces or `+`, space, canonical
 *   base64 of at least 5 bytes) ending in a newline; at most {@link MAX_NOTE_SIGNATURES} signature
 *   lines and {@link MAX_NOTE_BYTES} bytes, both checked before any signature work.
 * * Signatures from unknown keys (name and key ID not both matching a known key) are ignored; a
 *   signature from a known key that fails to verify rejects the whole note; a note without at least one
 *   verified signature is rejected; a signature line repeated verbatim counts once, and a known key
 *   counts once (a second, different signature line from the same key rejects the note: one key, one
 *   signature).
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** Signature lines accepted in one note (the spec demands at least 16). */
export const MAX_NOTE_SIGNATURES = 100;
/** The largest note accepted, in bytes (checkpoints are a few hundred bytes). */
export const MAX_NOTE_BYTES = 64 * 1024;
export const ED25519_SIGNATURE_TYPE = 0x01;
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const EM_DASH_PREFIX = '\u2014 ';

export type NoteErrorCode = 'malformed' | 'invalid_signature' | 'unverified' | 'bad_key';

export class NoteError extends Error {
  override readonly name = 'NoteError';
  constructor(
    readonly code: NoteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key ID as an unsigned 32-bit integer. */
  readonly keyId: number;
  /** base64(key ID || signature), as on the signature line. */
  readonly base64: string;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Buffer;
}

export interface OpenedNote {
  readonly text: string;
  /** Verified signatures, in note order (one per key). */
  readonly signatures: NoteSignature[];
  /** Signatures from keys the caller does not know, in note order (ignored, kept for re-signing). */
  readonly unverified: NoteSignature[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const WHITE_SPACE = /\p{White_Space}/u;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX8 = /^[0-9a-f]{8}$/;

/** Strict standard base64 (RFC 4648 §4): padded, canonical (re-encodes to itself); undefined otherwise. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !BASE64.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}

/** A key name as the spec allows it: non-empty, no Unicode spaces, no `+`. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !name.includes('+') && !WHITE_SPACE.test(name) && isCleanText(name) && !name.includes('\n');
}

/** Well-formed UTF-16 (so valid UTF-8) without control characters other than the newline. */
function isCleanText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i += 1;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** Key ID of an Ed25519 key: `SHA-256(name || 0x0A || 0x01 || public key)[:4]` as a uint32. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519_SIGNATURE_TYPE]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

function rawEd25519PublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new NoteError('bad_key', 'not an Ed25519 key');
  const jwk = key.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x ?? '', 'base64url');
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) throw new NoteError('bad_key', 'not an Ed25519 public key');
  return raw;
}

/** The verifier key string `<name>+<hex8 key ID>+base64(0x01 || public key)`. */
export function formatVerifierKey(name: string, publicKey: KeyObject | Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('bad_key', 'invalid key name');
  const raw = publicKey instanceof Uint8Array ? Buffer.from(publicKey) : rawEd25519PublicKey(publicKey);
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) throw new NoteError('bad_key', 'an Ed25519 public key is 32 bytes');
  const material = Buffer.concat([Buffer.from([ED25519_SIGNATURE_TYPE]), raw]).toString('base64');
  return `${name}+${hex8(ed25519KeyId(name, raw))}+${material}`;
}

function ed25519Verifier(name: string, raw: Buffer): NoteVerifier {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return {
    name,
    keyId: ed25519KeyId(name, raw),
    verify: (text, signature) =>
      signature.length === ED25519_SIGNATURE_BYTES && cryptoVerify(null, text, key, signature),
  };
}

/** A verifier from a verifier key string; strict (name rules, lowercase hex, canonical base64, type, length, ID). */
export function parseVerifierKey(vkey: string): NoteVerifier & { readonly publicKey: Buffer } {
  if (vkey.length > 1024) throw new NoteError('bad_key', 'verifier key too long');
  // The base64 part may itself contain '+': split at the first two only.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('bad_key', 'a verifier key is <name>+<hex8>+<base64>');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const material = vkey.slice(second + 1);
  if (!isValidKeyName(name)) throw new NoteError('bad_key', 'invalid key name');
  if (!HEX8.test(idHex)) throw new NoteError('bad_key', 'the key ID is 8 lowercase hex digits');
  const bytes = decodeBase64Strict(material);
  if (bytes === undefined) throw new NoteError('bad_key', 'the key material is not canonical base64');
  if (bytes[0] !== ED25519_SIGNATURE_TYPE) throw new NoteError('bad_key', 'unsupported signature type');
  if (bytes.length !== 1 + ED25519_PUBLIC_KEY_BYTES) throw new NoteError('bad_key', 'an Ed25519 public key is 32 bytes');
  const raw = bytes.subarray(1);
  const verifier = ed25519Verifier(name, Buffer.from(raw));
  if (hex8(verifier.keyId) !== idHex) throw new NoteError('bad_key', 'the key ID does not match the key');
  return { ...verifier, publicKey: Buffer.from(raw) };
}

/** A verifier for an Ed25519 public key under `name`. */
export function noteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  if (!isValidKeyName(name)) throw new NoteError('bad_key', 'invalid key name');
  return ed25519Verifier(name, rawEd25519PublicKey(publicKey));
}

/** A signer for an Ed25519 private key under `name`. */
export function noteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError('bad_key', 'invalid key name');
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new NoteError('bad_key', 'not an Ed25519 private key');
  }
  const raw = rawEd25519PublicKey(createPublicKey(privateKey));
  return { name, keyId: ed25519KeyId(name, raw), sign: (text) => cryptoSign(null, text, privateKey) };
}

/** Checks a note text: non-empty, ending in a newline, clean UTF-8, within the size limit. */
function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new NoteError('malformed', 'a note text ends in a newline');
  if (!isCleanText(text)) throw new NoteError('malformed', 'a note text is UTF-8 without control characters');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw new NoteError('malformed', 'note too large');
}

function signatureLine(sig: NoteSignature): string {
  return `${EM_DASH_PREFIX}${sig.name} ${sig.base64}\n`;
}

/**
 * Signs `text` with every signer: the text, a blank line, then the signature lines (`keep` first, for
 * signatures of other keys such as cosignatures; a kept signature of one of `signers`' keys is replaced).
 */
export function signNote(text: string, signers: readonly NoteSigner[], keep: readonly NoteSignature[] = []): string {
  checkText(text);
  if (signers.length + keep.length === 0) throw new NoteError('malformed', 'a signed note has at least one signature');
  const body = Buffer.from(text, 'utf8');
  const signerKeys = new Set(signers.map((s) => `${s.name}+${s.keyId}`));
  if (signerKeys.size !== signers.length) throw new NoteError('bad_key', 'the same key signs once');
  const lines: string[] = [];
  for (const sig of keep) {
    if (!isValidKeyName(sig.name)) throw new NoteError('malformed', 'invalid key name');
    const bytes = decodeBase64Strict(sig.base64);
    if (bytes === undefined || bytes.length < 5 || bytes.readUInt32BE(0) !== sig.keyId) {
      throw new NoteError('malformed', 'a kept signature is base64(key ID || signature)');
    }
    if (!signerKeys.has(`${sig.name}+${sig.keyId}`)) lines.push(signatureLine(sig));
  }
  for (const signer of signers) {
    if (!isValidKeyName(signer.name)) throw new NoteError('bad_key', 'invalid key name');
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId >>> 0);
    const base64 = Buffer.concat([id, signer.sign(body)]).toString('base64');
    lines.push(signatureLine({ name: signer.name, keyId: signer.keyId, base64 }));
  }
  if (lines.length > MAX_NOTE_SIGNATURES) throw new NoteError('malformed', 'too many signatures');
  return `${text}\n${lines.join('')}`;
}

/** Splits a note into its text and parsed signature lines, strictly; no signature is checked. */
export function parseNote(message: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const size = typeof message === 'string' ? Buffer.byteLength(message, 'utf8') : message.length;
  if (size > MAX_NOTE_BYTES) throw new NoteError('malformed', 'note too large');
  let s: string;
  try {
    s = typeof message === 'string' ? message : UTF8.decode(message);
  } catch {
    throw new NoteError('malformed', 'a note is valid UTF-8');
  }
  if (!isCleanText(s)) throw new NoteError('malformed', 'a note has no control characters but the newline');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed', 'a note has a blank line before its signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('malformed', 'a signature line ends in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new NoteError('malformed', 'too many signatures');
  const signatures = lines.map((line) => parseSignatureLine(line));
  return { text, signatures };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(EM_DASH_PREFIX)) throw new NoteError('malformed', 'a signature line starts with an em dash');
  const rest = line.slice(EM_DASH_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw new NoteError('malformed', 'a signature line is "— <name> <signature>"');
  const name = rest.slice(0, space);
  const base64 = rest.slice(space + 1);
  if (!isValidKeyName(name)) throw new NoteError('malformed', 'invalid key name');
  const bytes = decodeBase64Strict(base64);
  if (bytes === undefined || bytes.length < 5) throw new NoteError('malformed', 'a signature is base64(key ID || signature)');
  return { name, keyId: bytes.readUInt32BE(0), base64 };
}

/**
 * Opens a signed note against known keys (see the module comment for the rules). Throws a
 * {@link NoteError}: `malformed`, `invalid_signature` (a known key's signature fails), `unverified` (no
 * known key signed), `bad_key` (two known verifiers share a name and key ID).
 */
export function openNote(message: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(message);
  const body = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenLines = new Set<string>();
  const verifiedKeys = new Set<string>();
  for (const sig of signatures) {
    const key = `${sig.name}+${sig.keyId}`;
    const line = `${key} ${sig.base64}`;
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId >>> 0 === sig.keyId);
    if (matches.length === 0) {
      unverified.push(sig);
      continue;
    }
    if (matches.length > 1) throw new NoteError('bad_key', `ambiguous key ${sig.name}+${hex8(sig.keyId)}`);
    if (verifiedKeys.has(key)) throw new NoteError('malformed', `two signatures from key ${sig.name}+${hex8(sig.keyId)}`);
    const bytes = Buffer.from(sig.base64, 'base64');
    if (!matches[0]!.verify(body, bytes.subarray(4))) {
      throw new NoteError('invalid_signature', `invalid signature for key ${sig.name}+${hex8(sig.keyId)}`);
    }
    verifiedKeys.add(key);
    verified.push(sig);
  }
  if (verified.length === 0) throw new NoteError('unverified', 'note has no verifiable signatures');
  return { text, signatures: verified, unverified };
}
