import { createPublicKey, type KeyObject } from 'node:crypto';
import { CliError } from './support.js';

/** One entry of a key list as `GET /api/governance/keys` publishes it. */
export interface KeyFileEntry {
  kid?: unknown;
  alg?: unknown;
  public_key_pem?: unknown;
}

/**
 * The contents of a `--public-key` file: a single PEM key, or the JSON of `GET /api/governance/keys`
 * (`{keys:[…]}` or the bare array) as its entries. CliError for JSON that does not parse or holds no list.
 */
export function parseKeyFile(text: string, file: string): { pem: string } | { entries: KeyFileEntry[] } {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return { pem: trimmed };
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new CliError(`${file} holds no "keys" list`);
  return { entries: list as KeyFileEntry[] };
}

/** A public key from PEM text; CliError naming `what` when it does not parse. */
export function publicKeyFromPem(pem: string, what: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new CliError(`${what} is not a PEM public key: ${(err as Error).message}`);
  }
}

/**
 * Trusted keys from a `--public-key` file: one PEM public key (Ed25519 or RSA), or the JSON of
 * `GET /api/governance/keys` (`{keys: [{public_key_pem, …}]}` or the bare array).
 */
export function loadTrustedKeys(text: string, file: string): KeyObject[] {
  const parsed = parseKeyFile(text, file);
  if ('pem' in parsed) return [publicKeyFromPem(parsed.pem, file)];
  if (parsed.entries.length === 0) throw new CliError(`${file} holds no "keys" list`);
  return parsed.entries.map((k, i) => {
    if (typeof k?.public_key_pem !== 'string') throw new CliError(`${file}: keys[${i}] has no public_key_pem`);
    return publicKeyFromPem(k.public_key_pem, `${file}: keys[${i}]`);
  });
}
