import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { assertMayActFor, mayActFor } from './actor-binding.js';
import type { AgentPrincipal, UserPrincipal } from './auth.guard.js';

const agent = (actorPattern: string): AgentPrincipal => ({ kind: 'agent', keyId: 'key_1', name: 'sales', role: 'agent', actorPattern });
const admin: UserPrincipal = {
  kind: 'user',
  userId: 'usr_1',
  username: 'root',
  role: 'admin',
  sessionId: 'ses_1',
  mfaEnabled: true,
  mfaEnrollmentRequired: false,
};

describe('actor binding', () => {
  it.each([
    ['agent:sales-*', 'agent:sales-bot', true],
    ['agent:sales-*', 'agent:billing-bot', false],
    ['agent:sales-bot', 'agent:sales-bot', true],
    ['agent:sales-bot', 'agent:sales-bot-2', false],
    ['agent:sales-bot', 'agent:sales', false],
    ['*', 'anyone', true],
  ])('a key for %j may act for %j: %s', (pattern, actor, allowed) => {
    expect(mayActFor(agent(pattern), actor)).toBe(allowed);
  });

  it('does not bind humans', () => {
    expect(mayActFor(admin, 'agent:anything')).toBe(true);
    expect(() => assertMayActFor(admin, 'agent:anything')).not.toThrow();
  });

  it('refuses with 403 ACTOR_NOT_ALLOWED naming the actor and the pattern', () => {
    let err: unknown;
    try {
      assertMayActFor(agent('agent:sales-*'), 'agent:billing-bot');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      statusCode: 403,
      code: 'ACTOR_NOT_ALLOWED',
      details: { actor: 'agent:billing-bot', actor_pattern: 'agent:sales-*' },
    });
  });
});
