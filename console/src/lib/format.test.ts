import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, humanize, showTime } from './format.js';

describe('showTime', () => {
  it('shows the instant in the given zone and in UTC', () => {
    expect(showTime('2026-11-25T10:42:05.123Z', 'Europe/Berlin')).toEqual({ local: '25 Nov 2026, 11:42:05', utc: '2026-11-25 10:42:05 UTC' });
    expect(showTime('2026-11-25T10:42:05.123Z', 'America/New_York')?.local).toBe('25 Nov 2026, 05:42:05');
    expect(showTime('2026-11-25T23:30:00Z', 'Asia/Tokyo')?.local).toBe('26 Nov 2026, 08:30:00');
  });
  it('refuses what is not a time', () => {
    expect(showTime('yesterday')).toBeUndefined();
    expect(showTime('')).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [12_400, '12 s'],
    [249_000, '4 min 09 s'],
    [3_900_000, '1 h 05 min'],
    [-249_000, '4 min 09 s'],
    [2 * 86_400_000 + 3 * 3_600_000, '2 d 3 h'],
    [86_400_000, '1 d'],
  ])('%i ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('formatRate and humanize', () => {
  it('formats rates as percentages, unknown as a dash', () => {
    expect(formatRate(0.3333)).toBe('33.3 %');
    expect(formatRate(1)).toBe('100 %');
    expect(formatRate(null)).toBe('—');
    expect(formatRate(Number.NaN)).toBe('—');
  });
  it('turns codes into words', () => {
    expect(humanize('policy_requires_approval')).toBe('Policy requires approval');
    expect(humanize('')).toBe('');
  });
});
