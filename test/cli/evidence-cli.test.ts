import { constants, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEvidenceBag, type BagSigner } from '../../src/modules/evidence/bagit.js';
import { packBag } from '../../src/modules/evidence/evidence.tar.js';
import { genesisEntry, nextEntry, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { computeKid } from '../../src/platform/crypto/keys.js';
import { tempDir } from '../helpers/build-test-app.js';
import { lexecon } from '../helpers/cli.js';

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;

describe('lexecon verify-export on a large package', () => {
  it('shows progress on stderr every 10,000 entries and verifies the whole segment', async () => {
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const signers: BagSigner[] = [
      { kid: computeKid(ed.publicKey), alg: 'Ed25519', publicKeyPem: pem(ed.publicKey), sign: (d) => cryptoSign(null, d, ed.privateKey) },
      {
        kid: computeKid(rsa.publicKey),
        alg: 'RSA-PSS-SHA256',
        publicKeyPem: pem(rsa.publicKey),
        sign: (d) => cryptoSign('sha256', d, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }),
      },
    ];
    const entries: StoredEntry[] = [genesisEntry('2026-01-01T00:00:00.000Z')];
    for (let i = 1; i <= 25_000; i++) entries.push(nextEntry(entries[i - 1]!, 'decision', `{"n":${i}}`, '2026-01-01T00:00:01.000Z'));
    const last = { seq: 25_000, entry_hash: entries[25_000]!.entryHash };
    const bag = buildEvidenceBag(
      {
        exportId: 'evd_01KAAAAAAAAAAAAAAAAAAAAAAA',
        createdAt: '2026-01-02T00:00:00.000Z',
        generatedBy: { id: 'cli', role: null },
        softwareVersion: '0.1.0',
        period: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' },
        include: ['ledger'],
        request: {},
        ledger: { entries, head: { head_before: { seq: null, entry_hash: '0'.repeat(64) }, head_after: last, live_head: last, first_seq: 0, last_seq: 25_000 } },
        records: {},
        publicKeys: [],
      },
      signers,
    );
    const file = path.join(tempDir(), 'big.tar');
    fs.writeFileSync(file, await packBag(bag.files, 'evd_01KAAAAAAAAAAAAAAAAAAAAAAA', new Date('2026-01-02T00:00:00.000Z')));
    const keyFile = path.join(path.dirname(file), 'ed25519.pem');
    fs.writeFileSync(keyFile, pem(ed.publicKey));

    const run = lexecon(['verify-export', file, '--public-key', keyFile]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toContain('verifying ledger segment: 10,000/25,001 entries');
    expect(run.stderr).toContain('verifying ledger segment: 20,000/25,001 entries');
    expect(run.stderr).toContain('verifying ledger segment: 25,001/25,001 entries');
    expect(run.stdout).toContain('ledger segment: 25001 entries, seq 0–25000, hash chain intact');
    expect(run.stdout).toContain('signature Ed25519');
    expect(run.stdout).toMatch(/valid, trusted key/);

    const quiet = lexecon(['verify-export', file, '--no-progress']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');

    const wrongKey = path.join(path.dirname(file), 'other.pem');
    fs.writeFileSync(wrongKey, pem(generateKeyPairSync('ed25519').publicKey));
    const untrusted = lexecon(['verify-export', file, '--public-key', wrongKey, '--no-progress']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/^INVALID: signature\/keys\.json: no signature is by a trusted key/);

    const badKey = lexecon(['verify-export', file, '--public-key', file]);
    expect(badKey.code).toBe(2);
  });
});
