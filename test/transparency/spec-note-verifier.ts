/**
 * A second, independent C2SP signed-note verifier, written from the specification text
 * (https://c2sp.org/signed-note) without reading or importing `src/modules/transparency/note.ts`: it works
 * on bytes, not strings, and parses in its own way. The interoperability tests check that what the server
 * signs verifies here, so a shared misreading of the spec is less likely to go unnoticed.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';

export interface SpecKey {
  name: string;
  id: Buffer; // 4 bytes
  publicKey: Buffer; // 32 bytes
}

export type SpecResult = { ok: true; text: Buffer; verifiedBy: string[] } | { ok: false; reason: string };

const EM_DASH_SPACE = Buffer.from([0xe2, 0x80, 0x94, 0x20]);
const NL = 0x0a;

/** `<name>+<hex8>+base64(0x01 || key)`: the name ends at the first '+', the hex takes the next 8. */
export function specParseVerifierKey(vkey: string): SpecKey {
  const firstPlus = vkey.indexOf('+');
  const name = vkey.slice(0, firstPlus);
  if (firstPlus <= 0 || vkey[firstPlus + 9] !== '+') throw new Error('vkey layout');
  const idHex = vkey.slice(firstPlus + 1, firstPlus + 9);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error('vkey id');
  const material = Buffer.from(vkey.slice(firstPlus + 10), 'base64');
  if (material.length !== 33 || material[0] !== 0x01) throw new Error('vkey material');
  const publicKey = material.subarray(1);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, 0x01]), publicKey])).digest().subarray(0, 4);
  if (id.toString('hex') !== idHex) throw new Error('vkey id mismatch');
  return { name, id: Buffer.from(id), publicKey: Buffer.from(publicKey) };
}

function nameIsValid(name: Buffer): boolean {
  if (name.length === 0) return false;
  const s = name.toString('utf8');
  // "MUST NOT contain any Unicode spaces or plus characters"
  return !/[\s\u0085+]/u.test(s) && !/\p{White_Space}/u.test(s);
}

/** Verifies a signed note's bytes against trusted keys, following the spec's MUSTs step by step. */
export function specVerifyNote(note: Buffer, keys: SpecKey[]): SpecResult {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(note);
  } catch {
    return { ok: false, reason: 'not UTF-8' };
  }
  for (const byte of note) if (byte < 0x20 && byte !== NL) return { ok: false, reason: 'control character' };
  // "the text is separated from the signatures by the last empty line in the note"
  const blank = note.lastIndexOf(Buffer.from([NL, NL]));
  if (blank < 0) return { ok: false, reason: 'no blank line' };
  const text = note.subarray(0, blank + 1);
  const sigBlock = note.subarray(blank + 2);
  if (sigBlock.length === 0 || sigBlock[sigBlock.length - 1] !== NL) return { ok: false, reason: 'signature block' };
  const verifiedBy: string[] = [];
  let start = 0;
  while (start < sigBlock.length) {
    const end = sigBlock.indexOf(NL, start);
    const line = sigBlock.subarray(start, end);
    start = end + 1;
    if (!line.subarray(0, 4).equals(EM_DASH_SPACE)) return { ok: false, reason: 'signature line prefix' };
    const rest = line.subarray(4);
    const space = rest.indexOf(0x20);
    if (space < 0) return { ok: false, reason: 'signature line form' };
    const name = rest.subarray(0, space);
    if (!nameIsValid(name)) return { ok: false, reason: 'key name' };
    const b64 = rest.subarray(space + 1).toString('latin1');
    const sig = Buffer.from(b64, 'base64');
    if (sig.toString('base64') !== b64 || sig.length < 5) return { ok: false, reason: 'signature encoding' };
    const known = keys.find((k) => k.name === name.toString('utf8') && k.id.equals(sig.subarray(0, 4)));
    if (known === undefined) continue; // "Verifiers MUST ignore signatures from unknown keys"
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: known.publicKey.toString('base64url') }, format: 'jwk' });
    // "If the key name and ID match a known key, verifiers MUST verify the signature."
    if (sig.length !== 68 || !verify(null, text, key, sig.subarray(4))) return { ok: false, reason: `bad signature from ${known.name}` };
    verifiedBy.push(known.name);
  }
  // "If no signature from a known key verifies successfully, clients MUST reject the note."
  if (verifiedBy.length === 0) return { ok: false, reason: 'no known signature' };
  return { ok: true, text: Buffer.from(text), verifiedBy };
}

/** The checkpoint body's three mandatory lines, read independently of checkpoint.ts. */
export function specReadCheckpoint(text: Buffer): { origin: string; size: bigint; root: Buffer } {
  const lines = text.toString('utf8').split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint lines');
  const [origin, size, root] = lines as [string, string, string];
  if (origin === '' || !/^(0|[1-9]\d*)$/.test(size)) throw new Error('checkpoint header');
  const rootBytes = Buffer.from(root, 'base64');
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root) throw new Error('checkpoint root');
  return { origin, size: BigInt(size), root: rootBytes };
}
