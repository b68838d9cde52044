import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import {
  allowedResolutions,
  chainLevel,
  fieldsAgentMayNotChoose,
  ownCaseRole,
  DEFAULT_ESCALATION_CHAIN,
  isOverdue,
  mayHandle,
  nextChainRole,
  parseEscalationChain,
  parseSlaHours,
  priorityForRisk,
  SLA_HOURS,
  slaDeadline,
} from './escalation.model.js';

const OPENED = Date.parse('2026-11-25T10:00:00.000Z');

describe('SLA arithmetic', () => {
  it('critical 2 h, high 8 h, medium 24 h, low 72 h by default', () => {
    expect(slaDeadline('critical', OPENED)).toBe('2026-11-25T12:00:00.000Z');
    expect(slaDeadline('high', OPENED)).toBe('2026-11-25T18:00:00.000Z');
    expect(slaDeadline('medium', OPENED)).toBe('2026-11-26T10:00:00.000Z');
    expect(slaDeadline('low', OPENED)).toBe('2026-11-28T10:00:00.000Z');
  });

  it('follows configured hours, fractions included, to the millisecond', () => {
    const hours = { ...SLA_HOURS, critical: 0.5, low: 1 / 3 };
    expect(slaDeadline('critical', OPENED, hours)).toBe('2026-11-25T10:30:00.000Z');
    expect(slaDeadline('low', OPENED, hours)).toBe('2026-11-25T10:20:00.000Z');
    expect(slaDeadline('critical', OPENED + 123, hours)).toBe('2026-11-25T10:30:00.123Z');
  });

  it('the priority of a decision escalation is its risk level', () => {
    for (const level of ['critical', 'high', 'medium', 'low'] as const) expect(priorityForRisk(level)).toBe(level);
  });

  it('an open case is overdue strictly after its deadline; a resolved one never', () => {
    const c = { status: 'pending' as const, slaDeadline: '2026-11-25T12:00:00.000Z' };
    expect(isOverdue(c, '2026-11-25T12:00:00.000Z')).toBe(false);
    expect(isOverdue(c, '2026-11-25T12:00:00.001Z')).toBe(true);
    expect(isOverdue({ ...c, status: 'acknowledged' }, '2026-11-25T12:00:00.001Z')).toBe(true);
    expect(isOverdue({ ...c, status: 'resolved' }, '2027-01-01T00:00:00.000Z')).toBe(false);
  });
});

describe('parseSlaHours (LEXECON_ESCALATION_SLA_HOURS)', () => {
  it('reads every priority, and keeps the default of those not named', () => {
    expect(parseSlaHours('critical=2,high=8,medium=24,low=72')).toEqual({ hours: SLA_HOURS, problems: [] });
    expect(parseSlaHours(' critical = 1 , low=0.25 ')).toEqual({
      hours: { critical: 1, high: 8, medium: 24, low: 0.25 },
      problems: [],
    });
    expect(parseSlaHours('')).toEqual({ hours: SLA_HOURS, problems: [] });
  });

  it('lists every problem: unknown priority, duplicate, missing, zero, negative, too large or malformed hours', () => {
    const { problems } = parseSlaHours('urgent=1,high=8,high=9,medium,low=0,critical=-1');
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/urgent=1.*critical, high, medium, low/);
    expect(problems[1]).toMatch(/'high' is given more than once/);
    expect(problems[2]).toMatch(/'medium': hours must be/);
    expect(problems[3]).toMatch(/'low=0'/);
    expect(problems[4]).toMatch(/'critical=-1'/);
    expect(parseSlaHours('low=8761').problems).toHaveLength(1);
    expect(parseSlaHours('low=1e3').problems).toHaveLength(1);
    expect(parseSlaHours('low=8760').problems).toEqual([]);
  });
});

describe('parseEscalationChain (LEXECON_ESCALATION_CHAIN)', () => {
  it('reads resolver roles in order', () => {
    expect(parseEscalationChain('approver,executive,admin')).toEqual({ chain: DEFAULT_ESCALATION_CHAIN, problems: [] });
    expect(parseEscalationChain(' executive , admin ')).toEqual({ chain: ['executive', 'admin'], problems: [] });
  });

  it('refuses roles that may not resolve escalations, duplicates and an empty chain', () => {
    expect(parseEscalationChain('approver,auditor').problems).toEqual([expect.stringMatching(/'auditor' is not a role/)]);
    expect(parseEscalationChain('admin,admin').problems).toEqual([expect.stringMatching(/'admin' is given more than once/)]);
    expect(parseEscalationChain(',').problems).toEqual(['name at least one role']);
  });
});

describe('the chain and who may handle a case', () => {
  const chain = DEFAULT_ESCALATION_CHAIN;
  const roles: Record<string, string> = { usr_a: 'approver', usr_e: 'executive', usr_x: 'auditor' };
  const roleOf = (id: string) => roles[id];

  it("a case's level is the highest chain index among its roles and its users' roles", () => {
    expect(chainLevel(['approver'], roleOf, chain)).toBe(0);
    expect(chainLevel(['usr_a'], roleOf, chain)).toBe(0);
    expect(chainLevel(['usr_a', 'executive'], roleOf, chain)).toBe(1);
    expect(chainLevel(['usr_e', 'approver'], roleOf, chain)).toBe(1);
    expect(chainLevel(['admin'], roleOf, chain)).toBe(2);
    expect(chainLevel(['usr_x', 'usr_gone'], roleOf, chain)).toBe(-1);
    expect(chainLevel(['approver'], roleOf, ['executive', 'admin'])).toBe(-1);
  });

  it('moves up one level at a time and stops at the top', () => {
    expect(nextChainRole(-1, chain)).toBe('approver');
    expect(nextChainRole(0, chain)).toBe('executive');
    expect(nextChainRole(1, chain)).toBe('admin');
    expect(nextChainRole(2, chain)).toBeNull();
  });

  it('executives and admins handle every case; others only when listed or holding a listed role', () => {
    expect(mayHandle({ userId: 'usr_e', role: 'executive' }, ['approver'])).toBe(true);
    expect(mayHandle({ userId: 'usr_z', role: 'admin' }, ['usr_a'])).toBe(true);
    expect(mayHandle({ userId: 'usr_a', role: 'approver' }, ['approver'])).toBe(true);
    expect(mayHandle({ userId: 'usr_a', role: 'approver' }, ['usr_a'])).toBe(true);
    expect(mayHandle({ userId: 'usr_b', role: 'approver' }, ['usr_a'])).toBe(false);
    expect(mayHandle({ userId: 'usr_b', role: 'approver' }, ['executive'])).toBe(false);
    expect(mayHandle({ userId: 'usr_x', role: 'auditor' }, ['usr_x'])).toBe(true);
  });
});

describe('loadConfig: escalation settings', () => {
  it('defaults: the DESIGN SLAs, approver → executive → admin, a sweep every 30 s', () => {
    expect(loadConfig({}).escalation).toEqual({ slaHours: SLA_HOURS, chain: DEFAULT_ESCALATION_CHAIN, checkIntervalS: 30 });
  });

  it('reads the three variables, 0 turning the timer off', () => {
    const c = loadConfig({
      LEXECON_ESCALATION_SLA_HOURS: 'critical=1',
      LEXECON_ESCALATION_CHAIN: 'approver,admin',
      LEXECON_SLA_CHECK_INTERVAL_S: '0',
    });
    expect(c.escalation).toEqual({ slaHours: { ...SLA_HOURS, critical: 1 }, chain: ['approver', 'admin'], checkIntervalS: 0 });
  });

  it('lists every invalid escalation setting at once', () => {
    let err: unknown;
    try {
      loadConfig({ LEXECON_ESCALATION_SLA_HOURS: 'critical=0', LEXECON_ESCALATION_CHAIN: 'operator' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^LEXECON_ESCALATION_SLA_HOURS: 'critical=0'/),
      expect.stringMatching(/^LEXECON_ESCALATION_CHAIN: 'operator'/),
    ]);
    expect(() => loadConfig({ LEXECON_SLA_CHECK_INTERVAL_S: '-1' })).toThrow(ConfigError);
  });
});

describe('who may end a case, and how', () => {
  it('the opener and the assigner never resolve their case; system is nobody', () => {
    expect(ownCaseRole({ openedBy: 'usr_a', assignedBy: 'usr_a' }, 'usr_a')).toBe('opened');
    expect(ownCaseRole({ openedBy: 'usr_a', assignedBy: 'usr_b' }, 'usr_b')).toBe('assigned');
    expect(ownCaseRole({ openedBy: 'system', assignedBy: 'system' }, 'usr_a')).toBeNull();
    expect(ownCaseRole({ openedBy: 'key_x', assignedBy: 'usr_b' }, 'usr_c')).toBeNull();
  });

  it('a denied decision may only be denied, deferred or escalated further; others may end any way', () => {
    expect(allowedResolutions('denied')).toEqual(['denied', 'deferred', 'escalated_further']);
    for (const outcome of ['approved', 'escalated', 'conditional'] as const) {
      expect(allowedResolutions(outcome)).toEqual(['approved', 'denied', 'deferred', 'escalated_further']);
    }
  });

  it('an agent chooses neither reviewers, priority nor a trigger other than manual', () => {
    expect(fieldsAgentMayNotChoose({ trigger: 'manual' })).toEqual([]);
    expect(fieldsAgentMayNotChoose({ trigger: 'manual', escalatedTo: ['approver'] })).toEqual(['escalated_to']);
    expect(fieldsAgentMayNotChoose({ trigger: 'risk_threshold', priority: 'low' })).toEqual(['priority', 'trigger']);
  });
});
