import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ed25519KeyId,
  formatVerifierKey,
  MAX_NOTE_SIGNATURES,
  noteSigner,
  noteVerifier,
  NoteError,
  openNote,
  parseVerifierKey,
  signNote,
  type NoteVerifier,
} from './note.js';

const v = JSON.parse(readFileSync(new URL('../../../test/vectors/transparency/signed-notes.json', import.meta.url), 'utf8')) as {
  goNote: {
    peterVerifierKey: string;
    peterSignerKey: string;
    enochVerifierKey: string;
    text: string;
    peterSignatureLine: string;
    enochSignatureLine: string;
    signedByPeter: string;
    badVerifierKeys: string[];
  };
  c2sp: { verifierKey: string; note: string };
  sumGolangOrg: { verifierKey: string; signedTrees: string[] };
};

/** The Ed25519 private key of a Go `PRIVATE+KEY+<name>+<hex8>+base64(0x01 || seed)` signer key. */
function privateKeyFromGoSignerKey(skey: string): KeyObject {
  const material = skey.split('+').slice(4).join('+');
  const bytes = Buffer.from(material, 'base64');
  expect(bytes[0]).toBe(1);
  const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, bytes.subarray(1)]), format: 'der', type: 'pkcs8' });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof NoteError ? err.code : `other: ${String(err)}`;
  }
}

const peter = parseVerifierKey(v.goNote.peterVerifierKey);
const enoch = parseVerifierKey(v.goNote.enochVerifierKey);
const text = v.goNote.text;
const peterSig = v.goNote.peterSignatureLine;
const enochSig = v.goNote.enochSignatureLine;

describe('signed notes: published vectors', () => {
  it('parses the published verifier keys (also one whose base64 contains "+") and recomputes their key IDs', () => {
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyId).toBe(0xc74f20a3);
    expect(enoch.keyId).toBe(0xaf0cfe78);
    const sumdb = parseVerifierKey(v.sumGolangOrg.verifierKey);
    expect(sumdb.keyId).toBe(0x033de0ae);
    expect(formatVerifierKey(sumdb.name, sumdb.publicKey)).toBe(v.sumGolangOrg.verifierKey);
    expect(formatVerifierKey('PeterNeumann', peter.publicKey)).toBe(v.goNote.peterVerifierKey);
    expect(ed25519KeyId('example.com/foo', parseVerifierKey(v.c2sp.verifierKey).publicKey)).toBe(0x530d903a);
  });

  it('signs exactly as Go’s golang.org/x/mod/sumdb/note does (Ed25519 is deterministic)', () => {
    const signer = noteSigner('PeterNeumann', privateKeyFromGoSignerKey(v.goNote.peterSignerKey));
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(signNote(text, [signer])).toBe(v.goNote.signedByPeter);
    // An existing signature of the same key is replaced, one of another key kept.
    const enochLine = { name: 'EnochRoot', keyId: 0xaf0cfe78, base64: enochSig.trim().split(' ')[2]! };
    const peterLine = { name: 'PeterNeumann', keyId: 0xc74f20a3, base64: 'x08go/ZJ' };
    expect(signNote(text, [signer], [enochLine, peterLine])).toBe(`${text}\n${enochSig}${peterSig}`);
  });

  it('verifies the C2SP example and real sum.golang.org signed tree heads', () => {
    const foo = parseVerifierKey(v.c2sp.verifierKey);
    expect(openNote(v.c2sp.note, [foo]).text).toBe('This is an example message.\n');
    const sumdb = parseVerifierKey(v.sumGolangOrg.verifierKey);
    for (const note of v.sumGolangOrg.signedTrees) {
      const opened = openNote(note, [sumdb]);
      expect(opened.text.startsWith('go.sum database tree\n')).toBe(true);
      expect(opened.signatures.map((s) => s.name)).toEqual(['sum.golang.org']);
      // One byte of the text changed: the known key's signature fails, the whole note is refused.
      expect(codeOf(() => openNote(note.replace('tree\n', 'tree\n1'), [sumdb]))).toBe('invalid_signature');
    }
  });

  it('opens as Go’s tests expect: known keys verified, unknown ignored, none known refused', () => {
    const both = `${text}\n${peterSig}${enochSig}`;
    const one = openNote(both, [peter]);
    expect(one.text).toBe(text);
    expect(one.signatures.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(one.unverified.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(openNote(both, [peter, enoch]).signatures.map((s) => s.keyId)).toEqual([0xc74f20a3, 0xaf0cfe78]);
    expect(codeOf(() => openNote(both, []))).toBe('unverified');
    expect(codeOf(() => openNote(`${text}\n${enochSig}`, [enoch, peter, enoch]))).toBe('bad_key');
    expect(codeOf(() => openNote(`${text}\n${peterSig}`, [enoch, peter, enoch]))).toBeUndefined();
    expect(codeOf(() => openNote(`${text}\n${peterSig.repeat(MAX_NOTE_SIGNATURES + 1)}`, [peter]))).toBe('malformed');
    const broken = `${text}\n${peterSig.slice(0, 60)}ABCD${peterSig.slice(60)}`;
    expect(codeOf(() => openNote(broken, [peter]))).toBe('invalid_signature');
    // Repeated identical lines count once; an unknown key's broken signature is ignored.
    const repeated = `${text}\n${peterSig}${peterSig}${enochSig}${enochSig}${enochSig.slice(0, 60)}ABCD${enochSig.slice(60)}`;
    const opened = openNote(repeated, [peter]);
    expect(opened.signatures).toHaveLength(1);
    expect(opened.unverified).toHaveLength(2);
    // The same name with another key ID, or another name with the same ID: unknown, ignored.
    const renamed = peterSig.replace('PeterNeumann', 'CarmenSandiego');
    expect(codeOf(() => openNote(`${text}\n${renamed}`, [peter]))).toBe('unverified');
    const otherId = peterSig.replace('x08g', 'xxxx');
    expect(codeOf(() => openNote(`${text}\n${otherId}`, [peter]))).toBe('unverified');
  });

  it('refuses malformed notes (Go’s list and the spec’s rules)', () => {
    const bad: (string | Buffer)[] = [
      text,
      `${text}\n`,
      `${text}\n${peterSig.slice(0, -1)}`,
      `\x01${text}\n${peterSig}`,
      Buffer.concat([Buffer.from([0xff]), Buffer.from(`${text}\n${peterSig}`)]),
      `${text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${text}\n${peterSig}Unexpected line.\n`,
      `${text}\n${peterSig.replace('— ', '- ')}`,
      `${text}\n${peterSig.replace('PeterNeumann', 'Peter+Neumann')}`,
      `${text}\n${peterSig.replace('PeterNeumann', 'Peter\u00a0Neumann')}`,
      `${text}\n${peterSig.replace('PeterNeumann', '')}`,
      `${text}\n${peterSig.replace('AM=', 'AM')}`, // unpadded base64
      `${text}\n${peterSig.replace('AM=', 'AN=')}`, // non-canonical base64 (spare bits)
      `${text}\n— PeterNeumann x08g\n`, // fewer than 5 bytes
      `${text}\r\n${peterSig}`,
      `${text}\n${peterSig}${'x'.repeat(70_000)}\n`,
      `${text}\n${peterSig}\n`,
    ];
    for (const msg of bad) expect(codeOf(() => openNote(msg, [peter])), JSON.stringify(String(msg).slice(0, 80))).toBe('malformed');
  });

  it('refuses malformed verifier keys (every truncation and one-byte change of a valid one)', () => {
    const vkey = v.goNote.peterVerifierKey;
    for (let i = 0; i <= vkey.length; i++) {
      for (let j = i + 1; j <= vkey.length; j++) {
        if (i === 0 && j === vkey.length) continue;
        expect(codeOf(() => parseVerifierKey(vkey.slice(i, j))), vkey.slice(i, j)).toBe('bad_key');
      }
    }
    for (let i = 0; i < vkey.length; i++) {
      const changed = vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
      expect(codeOf(() => parseVerifierKey(changed)), changed).toBe('bad_key');
    }
    for (const k of v.goNote.badVerifierKeys) expect(codeOf(() => parseVerifierKey(k))).toBe('bad_key');
    expect(codeOf(() => parseVerifierKey(vkey.replace('c74f20a3', 'C74F20A3')))).toBe('bad_key');
  });
});

describe('signed notes: our own keys', () => {
  it('signs with several keys, verifies with each, and refuses an unsupported or unsafe signing request', () => {
    const a = generateKeyPairSync('ed25519');
    const b = generateKeyPairSync('ed25519');
    const sa = noteSigner('lexecon.example/log', a.privateKey);
    const sb = noteSigner('witness.example/w1', b.privateKey);
    const note = signNote('lexecon.example/log\n7\nAAAA\n', [sa, sb]);
    const va: NoteVerifier = noteVerifier('lexecon.example/log', a.publicKey);
    const vb = parseVerifierKey(formatVerifierKey('witness.example/w1', b.publicKey));
    expect(openNote(note, [va]).unverified.map((s) => s.name)).toEqual(['witness.example/w1']);
    expect(openNote(note, [va, vb]).signatures).toHaveLength(2);
    expect(codeOf(() => signNote('no final newline', [sa]))).toBe('malformed');
    expect(codeOf(() => signNote('tab\there\n', [sa]))).toBe('malformed');
    expect(codeOf(() => signNote('x\n', [sa, sa]))).toBe('bad_key');
    expect(codeOf(() => noteSigner('two words', a.privateKey))).toBe('bad_key');
    expect(codeOf(() => noteSigner('ok', a.publicKey))).toBe('bad_key');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(codeOf(() => noteVerifier('ok', rsa.publicKey))).toBe('bad_key');
  });

  it('a note that ends with blank lines in its text splits at the last blank line', () => {
    const a = generateKeyPairSync('ed25519');
    const s = noteSigner('k', a.privateKey);
    const note = signNote('line\n\n', [s]);
    expect(openNote(note, [noteVerifier('k', a.publicKey)]).text).toBe('line\n\n');
  });
});
