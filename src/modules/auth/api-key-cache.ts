import { performance } from 'node:perf_hooks';

/** What a request needs of a live API key (no secret, no hash). */
export interface CachedApiKey {
  keyId: string;
  name: string;
  role: 'agent';
  actorPattern: string;
  /** The key's last-used time as this process last wrote or read it (ms since the epoch), or null. */
  lastUsedAtMs: number | null;
}

/** What a notice channel tells the cache (see {@link ApiKeyNotices}). */
export interface ApiKeyNoticeSink {
  /** A key was revoked (by any replica): forget it. */
  evictKey(keyId: string): void;
  /** Whether notices from other replicas are heard now; the cache empties on every change and is bypassed while they are not. */
  setHearing(hearing: boolean): void;
}

export interface ApiKeyCacheOptions {
  /** How long an entry is used before the key is read again; 0 disables the cache. */
  ttlMs: number;
  /** At most this many entries: the oldest goes first (default 10,000). */
  maxEntries?: number;
  /** A monotonic time in ms (default performance.now: a wall-clock step never extends an entry's life). */
  now?: () => number;
}

interface Entry {
  key: CachedApiKey;
  expiresAt: number;
}

export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * Live API keys by the SHA-256 of their secret, for `ttlMs`, so that an agent's request does not read
 * its key from the database every time. Only keys found live are cached, never an unknown or revoked
 * one: a key created now works at once, and a caller trying random secrets adds nothing. At most
 * `maxEntries` (the oldest entry goes first).
 *
 * Invalidation: {@link evictKey} when a key is revoked (in this process after the revocation committed;
 * from other replicas through the notice channel), {@link clear} when notices may have been missed. A
 * read that started before an eviction never fills the cache after it (each fill carries the
 * {@link begin} epoch it started in: an eviction or clear moves the epoch, so a live row read just
 * before a revocation committed is used for that one request and not kept).
 */
export class ApiKeyCache implements ApiKeyNoticeSink {
  private readonly byHash = new Map<string, Entry>();
  private readonly hashById = new Map<string, string>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private epoch = 0;
  private hearing = true;

  constructor(opts: ApiKeyCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? API_KEY_CACHE_MAX_ENTRIES;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Whether entries are kept now (a TTL above 0, and notices from other replicas heard). */
  get enabled(): boolean {
    return this.ttlMs > 0 && this.hearing;
  }

  /** Entries held now (for tests and metrics). */
  get size(): number {
    return this.byHash.size;
  }

  /** The live key behind a secret's hash, when cached and not expired. */
  get(keyHash: string): CachedApiKey | undefined {
    if (!this.enabled) return undefined;
    const entry = this.byHash.get(keyHash);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.remove(keyHash, entry.key.keyId);
      return undefined;
    }
    return entry.key;
  }

  /** The epoch to hand to {@link put} for a read that starts now. */
  begin(): number {
    return this.epoch;
  }

  /** Keep a key found live by a read that started at `epoch` (ignored when anything was evicted since). */
  put(keyHash: string, key: CachedApiKey, epoch: number): void {
    if (!this.enabled || epoch !== this.epoch) return;
    const previous = this.byHash.get(keyHash);
    if (previous !== undefined) this.remove(keyHash, previous.key.keyId);
    while (this.byHash.size >= this.maxEntries) {
      const oldest = this.byHash.entries().next().value as [string, Entry];
      this.remove(oldest[0], oldest[1].key.keyId);
    }
    this.byHash.set(keyHash, { key, expiresAt: this.now() + this.ttlMs });
    this.hashById.set(key.keyId, keyHash);
  }

  evictKey(keyId: string): void {
    this.epoch++;
    const keyHash = this.hashById.get(keyId);
    if (keyHash !== undefined) this.remove(keyHash, keyId);
  }

  /** Forget everything (and every read in flight). */
  clear(): void {
    this.epoch++;
    this.byHash.clear();
    this.hashById.clear();
  }

  setHearing(hearing: boolean): void {
    this.clear();
    this.hearing = hearing;
  }

  private remove(keyHash: string, keyId: string): void {
    this.byHash.delete(keyHash);
    if (this.hashById.get(keyId) === keyHash) this.hashById.delete(keyId);
  }
}
