import type { Clock } from '../../platform/clock.js';
import { errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { globProblem } from '../../platform/glob.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { ApiKeyCache } from './api-key-cache.js';
import { sendKeyRevokedNotice } from './api-key-notices.js';
import type { ApiKeyRecord, AuthRepo } from './auth.repo.js';
import type { Actor } from './auth.service.js';
import { API_KEY_PREFIX, hashSecret, newBearerSecret } from './credentials.js';
import { ledgerTx, Unchanged } from './ledgered-write.js';

export interface ApiKeysDeps {
  repo: AuthRepo;
  events: EventSink;
  clock: Clock;
  ids: IdFactory;
  /** This process's cache of live keys: a revocation evicts from it once committed. */
  cache: ApiKeyCache;
}

/** Agent API keys: created bound to an actor pattern (the secret shown once, stored hashed), listed, revoked. */
export class ApiKeys {
  private readonly repo: AuthRepo;
  private readonly events: EventSink;
  private readonly clock: Clock;
  private readonly ids: IdFactory;
  private readonly cache: ApiKeyCache;

  constructor(deps: ApiKeysDeps) {
    this.repo = deps.repo;
    this.events = deps.events;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.cache = deps.cache;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Create an agent API key bound to an actor pattern; the secret is returned once and stored hashed. */
  async createApiKey(input: { name: string; actorPattern: string }, by: Actor): Promise<{ key: ApiKeyRecord; secret: string }> {
    const problem = globProblem(input.actorPattern);
    if (problem) {
      throw errors.validation('Invalid body', [{ in: 'body', field: 'actor_pattern', message: problem, code: 'glob' }]);
    }
    const secret = newBearerSecret(API_KEY_PREFIX);
    const key: ApiKeyRecord = {
      keyId: this.ids.next('key'),
      name: input.name,
      actorPattern: input.actorPattern,
      role: 'agent',
      keyHash: hashSecret(secret),
      keyPrefix: secret.slice(0, 12),
      createdBy: by,
      createdAt: this.now(),
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    await this.events.append(
      'auth_api_key_created',
      { key_id: key.keyId, name: key.name, actor_pattern: key.actorPattern, role: key.role, by },
      { withEntries: (_entries, tx) => this.repo.insertApiKey(ledgerTx(tx), key) },
    );
    return { key, secret };
  }

  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]> {
    return this.repo.listApiKeys(afterId, limit);
  }

  /**
   * Revoke a key: it fails from the next request on in this process (evicted from the key cache once
   * the revocation committed), and on other replicas once the notice sent with the revocation arrives
   * (at COMMIT), at most the key cache's TTL later. Revoking a revoked key changes nothing.
   */
  async revokeApiKey(keyId: string, by: Actor): Promise<ApiKeyRecord> {
    const key = await this.repo.apiKeyById(keyId);
    if (!key) throw errors.notFound('API key', keyId);
    const at = this.now();
    try {
      await this.events.append(
        'auth_api_key_revoked',
        { key_id: keyId, name: key.name, actor_pattern: key.actorPattern, by },
        {
          withEntries: async (_entries, tx) => {
            if (!(await this.repo.revokeApiKey(ledgerTx(tx), keyId, at, by))) throw new Unchanged();
            await sendKeyRevokedNotice(ledgerTx(tx), keyId);
          },
        },
      );
    } catch (err) {
      if (!(err instanceof Unchanged)) throw err;
    } finally {
      // After the commit (or a failure: evicting is always safe); reads in flight do not re-fill it.
      this.cache.evictKey(keyId);
    }
    return (await this.repo.apiKeyById(keyId))!;
  }
}
