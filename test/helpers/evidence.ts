import { constants, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildEvidenceBag, type BagSigner } from '../../src/modules/evidence/bagit.js';
import { packBag } from '../../src/modules/evidence/evidence.tar.js';
import { genesisEntry, nextEntry, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { computeKid } from '../../src/platform/crypto/keys.js';
import { tempDir } from './build-test-app.js';

export const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }) as string;

/** A fresh Ed25519 + RSA-PSS-SHA256 signer pair, as the server's KeyManager signs packages. */
export function testSigners(rsaBits = 2048): { signers: BagSigner[]; publics: KeyObject[] } {
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: rsaBits });
  return {
    signers: [
      { kid: computeKid(ed.publicKey), alg: 'Ed25519', publicKeyPem: pem(ed.publicKey), sign: (d) => cryptoSign(null, d, ed.privateKey) },
      {
        kid: computeKid(rsa.publicKey),
        alg: 'RSA-PSS-SHA256',
        publicKeyPem: pem(rsa.publicKey),
        sign: (d) =>
          cryptoSign('sha256', d, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }),
      },
    ],
    publics: [ed.publicKey, rsa.publicKey],
  };
}

export const TEST_EXPORT_ID = 'evd_01KAAAAAAAAAAAAAAAAAAAAAAA';

export interface TestPackage {
  dir: string;
  /** The package file (`<export id>.tar`). */
  tar: string;
  kids: string[];
  verifyMd: string;
  /** The Ed25519 public key, as an operator publishes it, in a PEM file beside the package. */
  edPem: string;
}

/** A signed package of a ledger segment of `decisions` decision entries (seq 0–n), in a fresh directory. */
export async function testPackage(decisions: number, rsaBits = 2048): Promise<TestPackage> {
  const { signers, publics } = testSigners(rsaBits);
  const entries: StoredEntry[] = [genesisEntry('2026-01-01T00:00:00.000Z')];
  for (let i = 1; i <= decisions; i++) entries.push(nextEntry(entries[i - 1]!, 'decision', `{"n":${i}}`, '2026-01-01T00:00:01.000Z'));
  const last = { seq: decisions, entry_hash: entries[decisions]!.entryHash };
  const bag = buildEvidenceBag(
    {
      exportId: TEST_EXPORT_ID,
      createdAt: '2026-01-02T00:00:00.000Z',
      generatedBy: { id: 'cli', role: null },
      softwareVersion: '0.1.0',
      period: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
      include: ['ledger'],
      request: {},
      ledger: { entries, head: { head_before: { seq: null, entry_hash: '0'.repeat(64) }, head_after: last, live_head: last, first_seq: 0, last_seq: decisions } },
      records: {},
      publicKeys: [],
    },
    signers,
  );
  const dir = tempDir();
  const tar = path.join(dir, `${TEST_EXPORT_ID}.tar`);
  fs.writeFileSync(tar, await packBag(bag.files, TEST_EXPORT_ID, new Date('2026-01-02T00:00:00.000Z')));
  const edPem = path.join(dir, 'operator-ed25519.pem');
  fs.writeFileSync(edPem, pem(publics[0]!));
  return { dir, tar, kids: signers.map((s) => s.kid), verifyMd: bag.files.get('VERIFY.md')!.toString('utf8'), edPem };
}
