import { describe, expect, it } from 'vitest';
import { slaCountdown, slaLabel } from './sla.js';

const OPENED = '2026-11-25T10:00:00.000Z';
const DEADLINE = '2026-11-25T12:00:00.000Z'; // a 2-hour (critical) SLA
const at = (iso: string) => Date.parse(iso);

describe('slaCountdown', () => {
  it('counts down with a level from the share of the SLA left, and says so in words', () => {
    expect(slaCountdown(DEADLINE, OPENED, at('2026-11-25T10:30:00Z'))).toEqual({ level: 'ok', remainingMs: 90 * 60_000, text: '1 h 30 min left' });
    expect(slaCountdown(DEADLINE, OPENED, at('2026-11-25T11:00:00Z')).level).toBe('soon'); // exactly half left
    expect(slaCountdown(DEADLINE, OPENED, at('2026-11-25T11:40:00Z'))).toMatchObject({ level: 'urgent', text: '20 min 00 s left' });
  });
  it('is overdue at and after the deadline, counting up', () => {
    expect(slaCountdown(DEADLINE, OPENED, at(DEADLINE))).toMatchObject({ level: 'overdue', text: 'Overdue by 0 s' });
    expect(slaCountdown(DEADLINE, OPENED, at('2026-11-25T12:04:09Z'))).toMatchObject({ level: 'overdue', remainingMs: -249_000, text: 'Overdue by 4 min 09 s' });
  });
  it('fails closed on dates it cannot read', () => {
    expect(slaCountdown('soon', OPENED, at(OPENED))).toEqual({ level: 'overdue', remainingMs: 0, text: 'Deadline unknown' });
    // No usable opening time: no share to judge by, so the case counts as urgent while time is left.
    expect(slaCountdown(DEADLINE, 'never', at(OPENED)).level).toBe('urgent');
  });
  it('has a word for every level (colour is never the only signal)', () => {
    expect(['ok', 'soon', 'urgent', 'overdue'].map((l) => slaLabel(l as 'ok'))).toEqual(['On time', 'Due soon', 'Urgent', 'Overdue']);
  });
});
