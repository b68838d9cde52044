import { describe, expect, it } from 'vitest';
import { ApiKeyCache, type CachedApiKey } from './api-key-cache.js';

const key = (keyId: string): CachedApiKey => ({ keyId, name: keyId, role: 'agent', actorPattern: 'ai_agent:*', lastUsedAtMs: null });

function cache(ttlMs: number, maxEntries?: number) {
  let t = 1_000;
  const c = new ApiKeyCache({ ttlMs, ...(maxEntries !== undefined && { maxEntries }), now: () => t });
  return { c, advance: (ms: number) => void (t += ms) };
}

describe('ApiKeyCache', () => {
  it('holds a key for the TTL, not a millisecond longer', () => {
    const { c, advance } = cache(2000);
    c.put('h1', key('key_1'), c.begin());
    expect(c.get('h1')?.keyId).toBe('key_1');
    advance(1999);
    expect(c.get('h1')?.keyId).toBe('key_1');
    advance(1);
    expect(c.get('h1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('TTL 0 keeps nothing', () => {
    const { c } = cache(0);
    expect(c.enabled).toBe(false);
    c.put('h1', key('key_1'), c.begin());
    expect(c.get('h1')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evictKey forgets the key by its id', () => {
    const { c } = cache(60_000);
    c.put('h1', key('key_1'), c.begin());
    c.put('h2', key('key_2'), c.begin());
    c.evictKey('key_1');
    expect(c.get('h1')).toBeUndefined();
    expect(c.get('h2')?.keyId).toBe('key_2');
    c.evictKey('key_unknown');
    expect(c.get('h2')?.keyId).toBe('key_2');
  });

  it('a read that started before an eviction does not fill the cache after it', () => {
    const { c } = cache(60_000);
    const epoch = c.begin();
    // The key is revoked (and evicted) while the read is in flight; the live row it read arrives after.
    c.evictKey('key_1');
    c.put('h1', key('key_1'), epoch);
    expect(c.get('h1')).toBeUndefined();
    // Any eviction counts, even of another key (the notice names the id, the read the hash).
    const epoch2 = c.begin();
    c.evictKey('key_other');
    c.put('h1', key('key_1'), epoch2);
    expect(c.get('h1')).toBeUndefined();
    // A read that started after it fills normally.
    c.put('h1', key('key_1'), c.begin());
    expect(c.get('h1')?.keyId).toBe('key_1');
  });

  it('while notices are not heard it is empty and bypassed; hearing again starts empty', () => {
    const { c } = cache(60_000);
    c.put('h1', key('key_1'), c.begin());
    const inFlight = c.begin();
    c.setHearing(false);
    expect(c.size).toBe(0);
    c.put('h1', key('key_1'), c.begin());
    expect(c.get('h1')).toBeUndefined();
    c.setHearing(true);
    c.put('h1', key('key_1'), inFlight);
    expect(c.get('h1')).toBeUndefined();
    c.put('h1', key('key_1'), c.begin());
    expect(c.get('h1')?.keyId).toBe('key_1');
  });

  it('is bounded: past maxEntries the oldest entry goes', () => {
    const { c } = cache(60_000, 3);
    for (let i = 1; i <= 5; i++) c.put(`h${i}`, key(`key_${i}`), c.begin());
    expect(c.size).toBe(3);
    expect(c.get('h1')).toBeUndefined();
    expect(c.get('h2')).toBeUndefined();
    expect(['h3', 'h4', 'h5'].map((h) => c.get(h)?.keyId)).toEqual(['key_3', 'key_4', 'key_5']);
    // Evicting key_3 by id still works after the others were dropped.
    c.evictKey('key_3');
    expect(c.size).toBe(2);
  });

  it('a re-put of the same hash replaces the entry and restarts its TTL', () => {
    const { c, advance } = cache(1000);
    c.put('h1', key('key_1'), c.begin());
    advance(900);
    c.put('h1', key('key_1'), c.begin());
    advance(900);
    expect(c.get('h1')?.keyId).toBe('key_1');
    expect(c.size).toBe(1);
  });
});
