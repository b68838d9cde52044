import { describe, expect, it } from 'vitest';
import { formatSeconds, niceMax, scaleBars, ticks } from './chart.js';

describe('niceMax', () => {
  it('rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceMax(7)).toBe(10);
    expect(niceMax(10)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(21)).toBe(25);
    expect(niceMax(26)).toBe(50);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(0.2)).toBe(0.2);
    expect(niceMax(3600)).toBe(5000);
  });
  it('gives 1 when there is nothing to show', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(-4)).toBe(1);
    expect(niceMax(Number.NaN)).toBe(1);
  });
});

describe('scaleBars', () => {
  it('scales against the nice maximum of the values', () => {
    const { max, bars } = scaleBars(
      [
        { label: 'a', value: 12 },
        { label: 'b', value: 3 },
      ],
      200,
    );
    expect(max).toBe(20);
    expect(bars.map((b) => b.length)).toEqual([120, 30]);
  });
  it('uses a fixed maximum for rates, clamps above it, and gives null and zero no bar', () => {
    const { max, bars } = scaleBars(
      [
        { label: 'half', value: 0.5 },
        { label: 'none', value: null },
        { label: 'zero', value: 0 },
        { label: 'over', value: 1.5 },
      ],
      300,
      1,
    );
    expect(max).toBe(1);
    expect(bars.map((b) => b.length)).toEqual([150, 0, 0, 300]);
    expect(bars[1]!.value).toBeNull();
  });
  it('draws nothing for an empty list', () => {
    expect(scaleBars([], 100)).toEqual({ max: 1, bars: [] });
  });
});

describe('ticks', () => {
  it('splits 0..max evenly', () => {
    expect(ticks(1)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(ticks(50, 5)).toEqual([0, 10, 20, 30, 40, 50]);
  });
});

describe('formatSeconds', () => {
  it('keeps sub-second and fractional times readable (axis ticks of fast reviews)', () => {
    expect(formatSeconds(0.021)).toBe('21 ms');
    expect(formatSeconds(0.25)).toBe('250 ms');
    expect(formatSeconds(2.54)).toBe('2.5 s');
    expect(formatSeconds(249)).toBe('4 min 09 s');
    expect(formatSeconds(null)).toBe('—');
  });
});
