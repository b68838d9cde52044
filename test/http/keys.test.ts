import { createHash, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildTestApp, tempDir } from '../helpers/build-test-app.js';

type Key = { kid: string; alg: string; public_key_pem: string; status: string };

describe('GET /api/governance/keys', () => {
  it('publishes the active Ed25519 and RSA keys anonymously, with kid = SHA-256(SPKI DER)[0..16]', async () => {
    const t = await buildTestApp();
    try {
      const res = await t.app.inject({ method: 'GET', url: '/api/governance/keys' });
      expect(res.statusCode).toBe(200);
      const keys = res.json().keys as Key[];
      expect(keys.map((k) => [k.alg, k.status]).sort()).toEqual([
        ['Ed25519', 'active'],
        ['RSA-PSS-SHA256', 'active'],
      ]);
      for (const k of keys) {
        const der = createPublicKey(k.public_key_pem).export({ type: 'spki', format: 'der' });
        expect(k.kid).toBe(createHash('sha256').update(der).digest('hex').slice(0, 16));
        expect(k.public_key_pem).not.toContain('PRIVATE');
      }
    } finally {
      await t.app.close();
    }
  });

  it('creates the keys once: a restart loads the same ones, and system_startup names them', async () => {
    const dataDir = tempDir();
    const first = await buildTestApp({ env: { LEXECON_DATA_DIR: dataDir } });
    const kids = ((await first.app.inject({ method: 'GET', url: '/api/governance/keys' })).json().keys as Key[]).map((k) => k.kid);
    const startup1 = JSON.parse((await first.services.ledger.listEntries({ eventType: 'system_startup', limit: 1 }))[0]!.dataJson);
    await first.app.close();
    expect(startup1.keys_created.sort()).toEqual([...kids].sort());
    expect(startup1.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([...kids].sort());

    const second = await buildTestApp({ env: { LEXECON_DATA_DIR: dataDir } });
    try {
      const again = ((await second.app.inject({ method: 'GET', url: '/api/governance/keys' })).json().keys as Key[]).map((k) => k.kid);
      expect(again.sort()).toEqual([...kids].sort());
      const startup2 = JSON.parse((await second.services.ledger.listEntries({ eventType: 'system_startup', limit: 1 }))[0]!.dataJson);
      expect(startup2.keys_created).toEqual([]);
    } finally {
      await second.app.close();
    }
  });
});
