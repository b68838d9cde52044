import { describe, expect, it } from 'vitest';
import { argon2Hasher } from './password.js';
import { passwordProblems } from './password-rule.js';

describe('passwordProblems', () => {
  it('accepts a long uncommon password', () => {
    expect(passwordProblems('violet-harbour-42-trombone', 'alice')).toEqual([]);
  });

  it.each([
    ['short', 'Sh0rt!pass', /at least 12/],
    ['common', 'password1234', /commonly used/],
    ['common, case-insensitively', 'QWERTY123456', /commonly used/],
    ['common with a suffix', 'sunshine!!!!2024', /commonly used/],
    ['the username', 'alice.wonderland', /username/],
    ['the username in other case', 'xx-ALICE.WONDERLAND-xx', /username/],
    ['too long', 'x'.repeat(257), /at most 256/],
  ])('refuses %s', (_label, password, problem) => {
    expect(passwordProblems(password, 'alice.wonderland')).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('counts code points, not UTF-16 units', () => {
    expect(passwordProblems('🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒', 'bob')).toContain('must be at least 12 characters');
    expect(passwordProblems('🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔑', 'bob')).toEqual([]);
  });

  it('lists every problem at once', () => {
    expect(passwordProblems('zq7x', 'zq7x')).toEqual(['must be at least 12 characters', 'must not contain the username']);
  });
});

describe('argon2Hasher', () => {
  const fast = argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

  it('hashes with argon2id, salted, and verifies', async () => {
    const a = await fast.hash('violet-harbour-42');
    const b = await fast.hash('violet-harbour-42');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(a).not.toBe(b);
    expect(await fast.verify(a, 'violet-harbour-42')).toBe(true);
    expect(await fast.verify(a, 'violet-harbour-43')).toBe(false);
  });

  it('answers false for a malformed hash and asks to rehash other parameters', async () => {
    expect(await fast.verify('not-a-hash', 'x')).toBe(false);
    const weak = await fast.hash('violet-harbour-42');
    expect(argon2Hasher().needsRehash(weak)).toBe(true);
    expect(fast.needsRehash(weak)).toBe(false);
  });
});
