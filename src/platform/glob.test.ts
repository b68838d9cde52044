import { describe, expect, it } from 'vitest';
import { globProblem, globToRegExp, matchesGlob } from './glob.js';

describe('matchesGlob', () => {
  it.each([
    ['agent:sales-*', 'agent:sales-bot', true],
    ['agent:sales-*', 'agent:sales-', true],
    ['agent:sales-*', 'agent:support-bot', false],
    ['agent:sales-*', 'xagent:sales-bot', false],
    ['*', 'anything at all', true],
    ['*', '', true],
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
  ])('%j against %j → %s', (pattern, value, expected) => {
    expect(matchesGlob(pattern, value)).toBe(expected);
    expect(globToRegExp(pattern).test(value)).toBe(expected);
  });

  it('is not a substring match', () => {
    expect(matchesGlob('bot', 'agent:bot')).toBe(false);
  });
});

describe('globProblem', () => {
  it('accepts ordinary patterns and rejects empty, long and control-character ones', () => {
    expect(globProblem('agent:*')).toBeUndefined();
    expect(globProblem('')).toMatch(/empty/);
    expect(globProblem('a'.repeat(256))).toMatch(/255/);
    expect(globProblem('a\u0000b')).toMatch(/control/);
  });
});
