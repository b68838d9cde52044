import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveRef, shorten } from '../../bench/decide-against.js';
import { BenchError } from '../../bench/decide-options.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('decide bench --against: the ref', () => {
  it('resolves a ref to its commit', () => {
    expect(resolveRef(ROOT, 'HEAD')).toMatch(/^[0-9a-f]{40}$/);
    expect(resolveRef(ROOT, resolveRef(ROOT, 'HEAD'))).toBe(resolveRef(ROOT, 'HEAD'));
  });

  it('fails with a clear message for a ref that names no commit, or an option given as a ref', () => {
    expect(() => resolveRef(ROOT, 'no-such-branch-for-the-bench')).toThrow(BenchError);
    expect(() => resolveRef(ROOT, 'no-such-branch-for-the-bench')).toThrow(/'no-such-branch-for-the-bench' does not name a commit/);
    expect(() => resolveRef(ROOT, '--quick')).toThrow(/--against needs a git ref/);
    expect(() => resolveRef(ROOT, '')).toThrow(/--against needs a git ref/);
  });

  it('cuts a long commit title', () => {
    expect(shorten('abc1234 short')).toBe('abc1234 short');
    const long = shorten(`abc1234 ${'x'.repeat(100)}`);
    expect(long).toHaveLength(72);
    expect(long.endsWith('…')).toBe(true);
  });
});
