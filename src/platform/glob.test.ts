import { describe, expect, it } from 'vitest';
import { Gen } from '../../test/helpers/prng.js';
import { compileGlob, globProblem, matchesCompiledGlob, matchesGlob } from './glob.js';

/**
 * The reference semantics, as the matcher used to be written: `*` → `.*` in an anchored RegExp (dotAll).
 * Only ever run here, on short inputs, as the oracle of the property test.
 */
function referenceRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

describe('matchesGlob', () => {
  it.each([
    ['agent:sales-*', 'agent:sales-bot', true],
    ['agent:sales-*', 'agent:sales-', true],
    ['agent:sales-*', 'agent:support-bot', false],
    ['agent:sales-*', 'xagent:sales-bot', false],
    ['*', 'anything at all', true],
    ['*', '', true],
    ['**', '', true],
    ['agent:*:prod', 'agent:billing:prod', true],
    ['agent:*:prod', 'agent:billing:prod2', false],
    ['agent:bot', 'agent:bot', true],
    ['agent:bot', 'agent:bot2', false],
    ['agent:bot', 'AGENT:BOT', false],
    ['a.b', 'axb', false],
    ['a+b(c)', 'a+b(c)', true],
    ['a?b', 'axb', false],
    ['[ab]', 'a', false],
    ['*\n*', 'x\ny', true],
    ['ab*ba', 'aba', false], // prefix and suffix must not overlap
    ['ab*ba', 'abba', true],
    ['a*b*c', 'abbc', true],
    ['a*bc*c', 'abcbc', true],
    ['a*bc*c', 'abc', false], // the middle piece may not reach into the suffix
    ['a*bc*c', 'abcxc', true],
    ['*a*a*', 'aa', true],
    ['*a*a*', 'a', false],
  ])('%j against %j → %s', (pattern, value, expected) => {
    expect(matchesGlob(pattern, value)).toBe(expected);
    expect(referenceRegExp(pattern).test(value)).toBe(expected);
  });

  it('is not a substring match', () => {
    expect(matchesGlob('bot', 'agent:bot')).toBe(false);
  });

  it('agrees with the anchored RegExp on 20,000 random small patterns and values (seeded)', () => {
    const gen = new Gen(14_03);
    const alphabet = ['a', 'b', 'c', '*', ':', '.'];
    const word = (n: number, chars: readonly string[]) => Array.from({ length: gen.int(n + 1) }, () => gen.pick(chars)).join('');
    let matches = 0;
    for (let i = 0; i < 20_000; i++) {
      const pattern = word(7, alphabet);
      // Values are drawn from the same letters, often built from the pattern itself so that matches happen.
      const value = gen.chance(0.5)
        ? pattern.replace(/\*/g, () => word(3, ['a', 'b', 'c', '*']))
        : word(9, ['a', 'b', 'c', ':', '.', '*']);
      const expected = referenceRegExp(pattern).test(value);
      if (expected) matches++;
      expect(matchesGlob(pattern, value), `${JSON.stringify(pattern)} vs ${JSON.stringify(value)}`).toBe(expected);
      expect(matchesCompiledGlob(compileGlob(pattern), value)).toBe(expected);
    }
    expect(matches).toBeGreaterThan(2_000); // the cases exercise both answers
  });

  it("decides the issue's pathological pattern against a 240-character actor in milliseconds", () => {
    const pattern = 'ai_agent:support-*a*a*a*a*c*b';
    // Literal prefix and suffix match, there is no `c`: a backtracking RegExp tries every split.
    const actor = 'ai_agent:support-' + 'a'.repeat(222) + 'b';
    expect(actor).toHaveLength(240);
    const started = performance.now();
    expect(matchesGlob(pattern, actor)).toBe(false);
    expect(matchesGlob(pattern, actor.slice(0, -2) + 'cb')).toBe(true);
    // Worse still for a backtracking matcher: 255-character pattern of `*a`, long value without the end.
    const many = 'a' + '*a'.repeat(127);
    expect(matchesGlob(many, 'a'.repeat(100_000) + 'b')).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('compileGlob', () => {
  it('splits a pattern into prefix, non-empty middle pieces and suffix', () => {
    expect(compileGlob('agent:bot')).toEqual({ prefix: 'agent:bot', middle: [], suffix: '', wildcard: false });
    expect(compileGlob('a*b**c*d')).toEqual({ prefix: 'a', middle: ['b', 'c'], suffix: 'd', wildcard: true });
    expect(compileGlob('*')).toEqual({ prefix: '', middle: [], suffix: '', wildcard: true });
  });
});

describe('globProblem', () => {
  it('accepts ordinary patterns and rejects empty, long and control-character ones', () => {
    expect(globProblem('agent:*')).toBeUndefined();
    expect(globProblem('')).toMatch(/empty/);
    expect(globProblem('a'.repeat(256))).toMatch(/255/);
    expect(globProblem('a\u0000b')).toMatch(/control/);
    expect(globProblem('a\u007fb')).toMatch(/control/);
    expect(globProblem('a\u0080b')).toBeUndefined();
  });
});
