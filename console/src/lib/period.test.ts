import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultPeriod, fromLocalInput, periodProblem, toLocalInput } from './period.js';

describe('export periods', () => {
  // The viewer's zone: Node reads TZ again when it is set.
  beforeEach(() => {
    vi.stubEnv('TZ', 'Europe/Berlin');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads a datetime-local value in the viewer zone and writes it back', () => {
    expect(fromLocalInput('2026-11-25T11:42')).toBe('2026-11-25T10:42:00.000Z');
    expect(toLocalInput(Date.parse('2026-11-25T10:42:00.000Z'))).toBe('2026-11-25T11:42');
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('yesterday')).toBeNull();
  });

  it('defaults to the last 30 days up to the next whole minute', () => {
    const p = defaultPeriod(Date.parse('2026-11-25T10:42:30.000Z'));
    expect(p).toEqual({ from: '2026-10-26T11:43', to: '2026-11-25T11:43' });
  });

  it('checks the period as the API does', () => {
    expect(periodProblem(null, '2026-01-01T00:00:00.000Z')).toMatch(/start/);
    expect(periodProblem('2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z')).toMatch(/after/);
    expect(periodProblem('2025-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z')).toMatch(/366/);
    expect(periodProblem('2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')).toBeNull();
  });
});
