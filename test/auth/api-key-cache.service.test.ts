/**
 * The API key cache behind AuthService.authenticate (issue 16): a read of a key in flight while the key
 * is revoked is used for that request only, never kept; unknown keys are never cached, so a caller trying
 * random secrets adds nothing to memory.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyCache } from '../../src/modules/auth/api-key-cache.js';
import { AuthRepo, type ApiKeyRecord } from '../../src/modules/auth/auth.repo.js';
import { AuthService } from '../../src/modules/auth/auth.service.js';
import { API_KEY_PREFIX, newBearerSecret } from '../../src/modules/auth/credentials.js';
import { SecretBox } from '../../src/platform/crypto/secret-box.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { buildTestApp, FAST_HASHER, type TestApp } from '../helpers/build-test-app.js';

/** A repository whose key reads, once armed, wait until the test releases them. */
class GatedRepo extends AuthRepo {
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;
  override async apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = await super.apiKeyByHash(keyHash);
    if (this.gate) {
      this.entered?.();
      await this.gate;
    }
    return row;
  }
}

let t: TestApp;
beforeEach(async () => {
  t = await buildTestApp();
});
afterEach(() => t.app.close());

function service(repo: AuthRepo, cache: ApiKeyCache): AuthService {
  return new AuthService({
    repo,
    events: t.services.ledger,
    clock: t.clock,
    ids: createIdFactory(t.clock),
    hasher: FAST_HASHER,
    secrets: SecretBox.fromKey(randomBytes(32)),
    apiKeyCache: cache,
    settings: { session: { idleS: 1800, ttlS: 43_200 }, login: { maxFailures: 5, lockoutS: 900 }, mfaRequiredRoles: [], totpIssuer: 'Lexecon' },
  });
}

it('a key read before its revocation committed answers that request, and is not cached after it', async () => {
  const repo = new GatedRepo(t.services.port);
  const cache = new ApiKeyCache({ ttlMs: 60_000 });
  const auth = service(repo, cache);
  const { key, secret } = await auth.createApiKey({ name: 'racer', actorPattern: '*' }, 'system');

  let release!: () => void;
  repo.gate = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (repo.entered = r));
  const inFlight = auth.authenticate(secret);
  await entered; // the live row has been read; the request waits before it fills the cache
  await auth.revokeApiKey(key.keyId, 'system');
  repo.gate = undefined;
  release();
  expect(await inFlight).toMatchObject({ kind: 'agent', keyId: key.keyId });
  expect(cache.size).toBe(0);
  expect(await auth.authenticate(secret)).toBeUndefined();
});

it('unknown and revoked keys are never cached; live ones are, once', async () => {
  const cache = new ApiKeyCache({ ttlMs: 60_000 });
  const auth = service(new AuthRepo(t.services.port), cache);
  for (let i = 0; i < 50; i++) expect(await auth.authenticate(newBearerSecret(API_KEY_PREFIX))).toBeUndefined();
  expect(cache.size).toBe(0);
  const live = await auth.createApiKey({ name: 'live', actorPattern: '*' }, 'system');
  const revoked = await auth.createApiKey({ name: 'revoked', actorPattern: '*' }, 'system');
  await auth.revokeApiKey(revoked.key.keyId, 'system');
  expect(await auth.authenticate(revoked.secret)).toBeUndefined();
  expect(cache.size).toBe(0);
  for (let i = 0; i < 3; i++) expect(await auth.authenticate(live.secret)).toMatchObject({ kind: 'agent', keyId: live.key.keyId });
  expect(cache.size).toBe(1);
});
