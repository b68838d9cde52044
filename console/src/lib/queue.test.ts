import { describe, expect, it } from 'vitest';
import { assignedTo, orderQueue, type QueueCase } from './queue.js';
import { qrModules, qrPath } from './qr.js';
import { canResolve, navFor } from './roles.js';

const me = { userId: 'usr_ME', role: 'approver' };
const c = (id: string, over: Partial<QueueCase> = {}): QueueCase => ({
  escalation_id: id,
  status: 'pending',
  priority: 'medium',
  escalated_to: ['executive'],
  sla_deadline: '2026-11-25T12:00:00.000Z',
  ...over,
});

describe('the queue order', () => {
  it('puts my open cases first, nearest deadline first, closed cases last', () => {
    const cases = [
      c('esc_1', { sla_deadline: '2026-11-25T10:30:00.000Z' }),
      c('esc_2', { escalated_to: ['approver'], sla_deadline: '2026-11-26T00:00:00.000Z' }),
      c('esc_3', { escalated_to: ['usr_ME'], sla_deadline: '2026-11-25T11:00:00.000Z' }),
      c('esc_4', { status: 'resolved', escalated_to: ['approver'], sla_deadline: '2026-11-24T00:00:00.000Z' }),
      c('esc_5', { priority: 'critical' }),
      c('esc_6', { priority: 'low' }),
    ];
    expect(orderQueue(cases, me).map((x) => x.escalation_id)).toEqual(['esc_3', 'esc_2', 'esc_1', 'esc_5', 'esc_6', 'esc_4']);
  });
  it('knows assignment by user id and by role', () => {
    expect(assignedTo({ escalated_to: ['usr_ME'] }, me)).toBe(true);
    expect(assignedTo({ escalated_to: ['approver'] }, me)).toBe(true);
    expect(assignedTo({ escalated_to: ['executive', 'usr_OTHER'] }, me)).toBe(false);
  });
});

describe('roles', () => {
  it('shows the resolving controls only to approvers, executives and admins', () => {
    expect(['approver', 'executive', 'admin', 'auditor', 'operator', 'governance_lead'].map(canResolve)).toEqual([true, true, true, false, false, false]);
    expect(navFor('auditor')[0]?.label).toBe('Escalations (read only)');
    expect(navFor('approver')[0]?.label).toBe('Escalation queue');
  });
});

describe('the QR code', () => {
  it('encodes an otpauth URI into a square with finder patterns, drawn as one path', () => {
    const modules = qrModules('otpauth://totp/Lexecon:alice?secret=JBSWY3DPEHPK3PXP&issuer=Lexecon');
    const n = modules.length;
    expect(n).toBeGreaterThanOrEqual(21);
    expect((n - 17) % 4).toBe(0); // a QR version's size
    for (const row of modules) expect(row).toHaveLength(n);
    // The three finder patterns: a dark 7×7 ring at three corners.
    for (const [r, col] of [[0, 0], [0, n - 7], [n - 7, 0]] as const) {
      expect(modules[r]!.slice(col, col + 7).every(Boolean)).toBe(true);
      expect(modules[r + 1]![col + 1]).toBe(false);
    }
    const d = qrPath(modules);
    const dark = modules.flat().filter(Boolean).length;
    expect(d.match(/M/g)).toHaveLength(dark);
    expect(d.startsWith('M4 4h1v1h-1z')).toBe(true);
  });
});
