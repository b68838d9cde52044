import { describe, expect, it } from 'vitest';

import { mapOidcRole, parseOidcRoleMap, type OidcRoleRules } from './oidc.roles.js';

const rules = (overrides: Partial<OidcRoleRules> = {}): OidcRoleRules => ({
  roleClaim: 'groups',
  roleMap: [
    { value: 'lexecon-admins', role: 'admin' },
    { value: 'lexecon-auditors', role: 'auditor' },
  ],
  ...overrides,
});

describe('mapOidcRole', () => {
  it('maps a string claim', () => {
    expect(mapOidcRole({ groups: 'lexecon-auditors' }, rules())).toBe('auditor');
  });

  it('maps an array claim', () => {
    expect(mapOidcRole({ groups: ['staff', 'lexecon-auditors'] }, rules())).toBe('auditor');
  });

  it('follows a dotted path into nested objects', () => {
    const claims = { realm_access: { roles: ['offline_access', 'lexecon-admins'] } };
    expect(mapOidcRole(claims, rules({ roleClaim: 'realm_access.roles' }))).toBe('admin');
  });

  it('prefers an exact top-level claim name containing dots (namespaced claims)', () => {
    const claims = {
      'https://lexecon.example/roles': ['lexecon-admins'],
      https: { '//lexecon': { example: ['lexecon-auditors'] } },
    };
    expect(mapOidcRole(claims, rules({ roleClaim: 'https://lexecon.example/roles' }))).toBe('admin');
  });

  it('returns the default role when a path segment is missing or not an object', () => {
    const r = rules({ roleClaim: 'realm_access.roles', defaultRole: 'operator' });
    expect(mapOidcRole({}, r)).toBe('operator');
    expect(mapOidcRole({ realm_access: 'lexecon-admins' }, r)).toBe('operator');
    expect(mapOidcRole({ realm_access: null }, r)).toBe('operator');
    expect(mapOidcRole({ realm_access: [{ roles: ['lexecon-admins'] }] }, r)).toBe('operator');
  });

  it('does not read inherited properties along the path', () => {
    expect(mapOidcRole({}, rules({ roleClaim: 'constructor.name', roleMap: [{ value: 'Object', role: 'admin' }] }))).toBe(
      undefined,
    );
    expect(mapOidcRole({ groups: [] }, rules({ roleClaim: 'groups.length' }))).toBe(undefined);
  });

  it('returns undefined for a missing claim without a default role', () => {
    expect(mapOidcRole({ email: 'a@example.com' }, rules())).toBeUndefined();
  });

  it('returns the default role for a missing claim', () => {
    expect(mapOidcRole({}, rules({ defaultRole: 'operator' }))).toBe('operator');
  });

  it('returns the default role when no value matches', () => {
    expect(mapOidcRole({ groups: ['staff'] }, rules({ defaultRole: 'executive' }))).toBe('executive');
    expect(mapOidcRole({ groups: ['staff'] }, rules())).toBeUndefined();
  });

  it('ignores non-string array entries and non-string, non-array claims', () => {
    const claims = { groups: [42, null, { value: 'lexecon-admins' }, ['lexecon-admins'], true, 'lexecon-auditors'] };
    expect(mapOidcRole(claims, rules())).toBe('auditor');
    expect(mapOidcRole({ groups: 42 }, rules({ defaultRole: 'operator' }))).toBe('operator');
    expect(mapOidcRole({ groups: { 'lexecon-admins': true } }, rules())).toBeUndefined();
  });

  it('matches exactly (case-sensitive, no substring)', () => {
    expect(mapOidcRole({ groups: ['LEXECON-ADMINS', 'lexecon-admins-old', 'lexecon'] }, rules())).toBeUndefined();
  });

  it('lets the first roleMap entry win, in configuration order, regardless of claim order', () => {
    const claims = { groups: ['lexecon-auditors', 'lexecon-admins'] };
    expect(mapOidcRole(claims, rules())).toBe('admin');
    const reversed = rules({
      roleMap: [
        { value: 'lexecon-auditors', role: 'auditor' },
        { value: 'lexecon-admins', role: 'admin' },
      ],
    });
    expect(mapOidcRole(claims, reversed)).toBe('auditor');
  });

  it('returns the default role with an empty role map', () => {
    expect(mapOidcRole({ groups: ['lexecon-admins'] }, rules({ roleMap: [], defaultRole: 'approver' }))).toBe('approver');
  });
});

describe('parseOidcRoleMap', () => {
  it('parses entries in order, trimming values and roles, keeping inner spaces', () => {
    expect(parseOidcRoleMap('groupA=admin,group b=auditor')).toEqual({
      map: [
        { value: 'groupA', role: 'admin' },
        { value: 'group b', role: 'auditor' },
      ],
      problems: [],
    });
    expect(parseOidcRoleMap('  Lexecon Leads = governance_lead ,\tops=operator  ')).toEqual({
      map: [
        { value: 'Lexecon Leads', role: 'governance_lead' },
        { value: 'ops', role: 'operator' },
      ],
      problems: [],
    });
  });

  it('accepts every human role', () => {
    const { map, problems } = parseOidcRoleMap(
      'a=admin,b=governance_lead,c=approver,d=executive,e=operator,f=auditor',
    );
    expect(problems).toEqual([]);
    expect(map.map((rule) => rule.role)).toEqual([
      'admin',
      'governance_lead',
      'approver',
      'executive',
      'operator',
      'auditor',
    ]);
  });

  it('returns an empty map for an empty or blank string, and ignores blank entries', () => {
    expect(parseOidcRoleMap('')).toEqual({ map: [], problems: [] });
    expect(parseOidcRoleMap('   ')).toEqual({ map: [], problems: [] });
    expect(parseOidcRoleMap('a=admin,, ,')).toEqual({ map: [{ value: 'a', role: 'admin' }], problems: [] });
  });

  it('reports an unknown role (including agent, which is not a human role)', () => {
    const result = parseOidcRoleMap('a=admin,b=superuser,c=agent,d=Admin');
    expect(result.map).toEqual([{ value: 'a', role: 'admin' }]);
    expect(result.problems).toHaveLength(3);
    expect(result.problems[0]).toContain('"b=superuser"');
    expect(result.problems[0]).toContain('unknown role "superuser"');
    expect(result.problems[1]).toContain('unknown role "agent"');
    expect(result.problems[2]).toContain('unknown role "Admin"');
  });

  it('reports an empty value or an empty role', () => {
    const result = parseOidcRoleMap(' =admin,b=');
    expect(result.map).toEqual([]);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toContain('empty value');
    expect(result.problems[1]).toContain('unknown role ""');
  });

  it('reports an entry without "=" or with several "="', () => {
    const result = parseOidcRoleMap('admins,a=b=admin,c=auditor');
    expect(result.map).toEqual([{ value: 'c', role: 'auditor' }]);
    expect(result.problems).toEqual([
      'role map entry "admins" must have the form value=role',
      'role map entry "a=b=admin" must have the form value=role',
    ]);
  });

  it('reports a repeated value and keeps its first entry', () => {
    const result = parseOidcRoleMap('ops=operator,ops=admin');
    expect(result.map).toEqual([{ value: 'ops', role: 'operator' }]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toContain('repeats value "ops"');
  });

  it('produces rules that mapOidcRole applies in order', () => {
    const { map } = parseOidcRoleMap('staff=operator,lexecon admins=admin');
    expect(mapOidcRole({ groups: ['lexecon admins', 'staff'] }, { roleClaim: 'groups', roleMap: map })).toBe('operator');
  });
});
