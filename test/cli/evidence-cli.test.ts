import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lexecon } from '../helpers/cli.js';
import { pem, testPackage } from '../helpers/evidence.js';

describe('lexecon verify-export on a large package', () => {
  it('shows progress on stderr every 10,000 entries and verifies the whole segment', async () => {
    const { tar: file, edPem: keyFile } = await testPackage(25_000, 1024);

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
