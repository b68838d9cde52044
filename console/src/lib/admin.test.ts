import { describe, expect, it } from 'vitest';
import { passwordProblems } from '../../../src/modules/auth/password-rule.js';
import { matchesGlob } from '../../../src/platform/glob.js';
import {
  actorMatches,
  checkActorPattern,
  checkEmail,
  checkKeyName,
  checkNewUsername,
  fieldProblems,
  isUserId,
  parseDataClasses,
  passwordRuleProblems,
  policyProblems,
  readPolicyText,
  UserNames,
  userState,
} from './admin.js';
import { adminNav, canAdminister, canLoadPolicy, navFor } from './roles.js';

describe('the password rule in the browser', () => {
  it('says what the server says for length and the username (the common-password list stays on the server)', () => {
    for (const [pw, user] of [
      ['short', 'dana'],
      ['x'.repeat(257), 'dana'],
      ['my-name-is-dana-ok', 'dana'],
      ['quiet-lantern-88-orbit', 'dana'],
      ['ÄÖÜäöüßÄÖÜä', 'x'], // 11 code points
      ['🙂'.repeat(12), 'x'], // 12 code points, 24 UTF-16 units
    ] as const) {
      const server = passwordProblems(pw, user).filter((p) => p !== 'is a commonly used password');
      expect(passwordRuleProblems(pw, user), pw).toEqual(server);
    }
    expect(passwordRuleProblems('password1234', 'x')).toEqual([]); // the server refuses it as common
    expect(passwordProblems('password1234', 'x')).toContain('is a commonly used password');
  });
});

describe('create-user and key checks', () => {
  it('usernames follow POST /auth/users', () => {
    expect(checkNewUsername('dana').ok).toBe(true);
    expect(checkNewUsername('d.a_n@a-1').ok).toBe(true);
    expect(checkNewUsername('')).toEqual({ ok: false, message: 'Enter a username.' });
    expect(checkNewUsername('ab').ok).toBe(false);
    expect(checkNewUsername('_dana').ok).toBe(false);
    expect(checkNewUsername('da na').ok).toBe(false);
    expect(checkNewUsername('a'.repeat(65)).ok).toBe(false);
  });
  it('email is optional and roughly checked', () => {
    expect(checkEmail('').ok).toBe(true);
    expect(checkEmail('dana@example.com').ok).toBe(true);
    expect(checkEmail('dana').ok).toBe(false);
    expect(checkEmail('a@b@c.d').ok).toBe(false);
    expect(checkEmail('dana@localhost').ok).toBe(false);
  });
  it('key name and actor pattern', () => {
    expect(checkKeyName('  ').ok).toBe(false);
    expect(checkKeyName('sales-bot').ok).toBe(true);
    expect(checkKeyName('x'.repeat(101)).ok).toBe(false);
    expect(checkActorPattern('').ok).toBe(false);
    expect(checkActorPattern('ai_agent:*').ok).toBe(true);
    expect(checkActorPattern('a\tb').ok).toBe(false);
    expect(checkActorPattern('x'.repeat(256)).ok).toBe(false);
  });
  it('the actor preview matches exactly as the server does', () => {
    const cases: Array<[string, string]> = [
      ['ai_agent:*', 'ai_agent:sales'],
      ['ai_agent:*', 'ai_agent:'],
      ['ai_agent:*', 'human:bob'],
      ['agent', 'agent'],
      ['agent', 'agents'],
      ['*', ''],
      ['a*b*c', 'aXbYc'],
      ['a*b*c', 'acb'],
      ['a*a', 'a'],
      ['a**b', 'ab'],
      ['*sales*', 'ai_agent:sales-eu'],
      ['a-*a*a*a*a*c*b', `a-${'a'.repeat(300)}`],
    ];
    for (const [p, a] of cases) expect(actorMatches(p, a), `${p} ~ ${a}`).toBe(matchesGlob(p, a));
  });
});

describe('reading the API answers', () => {
  it('groups 400 details by field', () => {
    const m = fieldProblems([
      { in: 'body', field: 'password', message: 'must be at least 12 characters', code: 'password_rule' },
      { in: 'body', field: 'password', message: 'is a commonly used password', code: 'password_rule' },
      { in: 'body', message: 'no field' },
      null,
      { field: 'x' },
    ]);
    expect(m.get('password')).toEqual(['must be at least 12 characters', 'is a commonly used password']);
    expect(m.get('')).toEqual(['no field']);
    expect(m.has('x')).toBe(false);
    expect(fieldProblems(undefined).size).toBe(0);
  });
  it('lists a policy load’s problems by path', () => {
    expect(policyProblems([{ path: '$.mode', message: 'bad' }, { field: 'actor', message: 'Too small' }, 'junk'])).toEqual([
      { field: '$.mode', message: 'bad' },
      { field: 'actor', message: 'Too small' },
    ]);
    expect(policyProblems({})).toEqual([]);
  });
  it('reads a policy document: JSON object, within 10 MiB', () => {
    expect(readPolicyText(' ')).toMatchObject({ ok: false });
    expect(readPolicyText('{"terms":[')).toMatchObject({ ok: false, message: expect.stringContaining('not valid JSON') });
    expect(readPolicyText('[1]')).toMatchObject({ ok: false });
    expect(readPolicyText('null')).toMatchObject({ ok: false });
    expect(readPolicyText('{"policy_id":"p","terms":[],"relations":[]}')).toEqual({ ok: true, document: { policy_id: 'p', terms: [], relations: [] } });
    expect(readPolicyText(`{"x":"${'a'.repeat(10 * 1024 * 1024)}"}`)).toMatchObject({ ok: false, message: expect.stringContaining('10 MiB') });
  });
  it('data classes from a comma list', () => {
    expect(parseDataClasses(' pii, financial ,,pii\nhealth ')).toEqual(['pii', 'financial', 'health']);
    expect(parseDataClasses('  ')).toEqual([]);
  });
  it('a user state in words', () => {
    expect(userState({ disabled: false, mfa_enabled: true, password_login: true })).toBe('active, two-factor on');
    expect(userState({ disabled: true, mfa_enabled: false, password_login: false })).toBe('disabled, two-factor off, single sign-on only');
  });
});

describe('UserNames', () => {
  it('one request per id, failures remembered as unknown, bounded', async () => {
    const asked: string[] = [];
    const names = new UserNames(async (id) => {
      asked.push(id);
      if (id === 'usr_bad') throw new Error('404');
      return `name-of-${id}`;
    }, 3);
    const [a, b] = await Promise.all([names.lookup('usr_1'), names.lookup('usr_1')]);
    expect([a, b]).toEqual(['name-of-usr_1', 'name-of-usr_1']);
    expect(await names.lookup('usr_bad')).toBeNull();
    expect(await names.lookup('usr_bad')).toBeNull();
    expect(asked).toEqual(['usr_1', 'usr_bad']);
    names.remember('usr_2', 'dana');
    expect(await names.lookup('usr_2')).toBe('dana');
    names.remember('usr_3', 'eve');
    expect(names.size).toBe(3);
    expect(await names.lookup('usr_1')).toBe('name-of-usr_1'); // evicted (oldest), asked again
    expect(asked).toEqual(['usr_1', 'usr_bad', 'usr_1']);
  });
  it('only user ids are looked up', () => {
    expect(isUserId('usr_01M8AP7MZTW9WP45963TZ1WFVZ')).toBe(true);
    expect(isUserId('system')).toBe(false);
    expect(isUserId('key_01M8AP7PV7QSDVC1WNA5HQH1M4')).toBe(false);
  });
});

describe('roles', () => {
  it('Administration for admins only; policies listed for governance leads, admins and auditors; load for the first two', () => {
    const roles = ['admin', 'governance_lead', 'approver', 'executive', 'operator', 'auditor', 'agent'];
    expect(roles.filter(canAdminister)).toEqual(['admin']);
    expect(roles.filter(canLoadPolicy)).toEqual(['admin', 'governance_lead']);
    expect(roles.filter((r) => navFor(r).some((n) => n.path === '/admin'))).toEqual(['admin']);
    expect(roles.filter((r) => adminNav(r).some((n) => n.path === '/policies'))).toEqual(['admin', 'governance_lead', 'auditor']);
    expect(adminNav('auditor')).toEqual([{ path: '/policies', label: 'Policies (read only)' }]);
  });
});
