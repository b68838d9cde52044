import { describe, expect, it } from 'vitest';
import {
  GOALS,
  against,
  percentile,
  ratios,
  regressions,
  roundOrder,
  roundRatios,
  spread,
  type ServerFigures,
} from '../../bench/decide-report.js';

describe('decide bench: round order (ABBA generalised)', () => {
  it('alternates an order and its reverse, the order rotated from pair to pair', () => {
    expect(roundOrder(['base', 'bare', 'current'], 4)).toEqual([
      ['base', 'bare', 'current'],
      ['current', 'bare', 'base'],
      ['bare', 'current', 'base'],
      ['base', 'current', 'bare'],
    ]);
    // Two servers: ABBA BAAB.
    expect(roundOrder(['bare', 'current'], 4)).toEqual([['bare', 'current'], ['current', 'bare'], ['current', 'bare'], ['bare', 'current']]);
    expect(roundOrder(['a', 'b', 'c'], 7)[6]).toEqual(['a', 'b', 'c']); // the rotation wraps after n pairs
  });

  it('gives every server the same mean position within each pair of rounds (a linear drift hits all alike)', () => {
    for (const n of [2, 3, 4, 5]) {
      const servers = Array.from({ length: n }, (_, i) => i);
      const orders = roundOrder(servers, 2 * n);
      for (let pair = 0; pair < n; pair++) {
        const two = orders.slice(2 * pair, 2 * pair + 2);
        for (const s of servers) expect(two.reduce((sum, o) => sum + o.indexOf(s), 0) / 2).toBe((n - 1) / 2);
      }
      // Over n pairs every server takes every position equally often.
      for (const s of servers) {
        const positions = orders.map((o) => o.indexOf(s));
        for (let pos = 0; pos < n; pos++) expect(positions.filter((x) => x === pos)).toHaveLength(2);
      }
    }
  });

  it('loads a different server twice in a row (across a round boundary) in each pair', () => {
    const orders = roundOrder(['base', 'bare', 'current'], 6);
    const twice = orders.slice(1).flatMap((o, i) => (o[0] === orders[i]!.at(-1) ? [o[0]] : []));
    expect(twice).toEqual(['current', 'base', 'bare']);
    // With 4 rounds (the default) the two compared servers, base and current, get it once each.
    const four = roundOrder(['base', 'bare', 'current'], 4);
    expect(four.slice(1).flatMap((o, i) => (o[0] === four[i]!.at(-1) ? [o[0]] : []))).toEqual(['current', 'base']);
  });

  it('loads every server exactly once per round and does not alias the input', () => {
    const servers = ['a', 'b', 'c'];
    const orders = roundOrder(servers, 2);
    for (const o of orders) expect([...o].sort()).toEqual(servers);
    orders[0]!.pop();
    expect(servers).toEqual(['a', 'b', 'c']);
    expect(roundOrder(servers, 2)[1]).toEqual(['c', 'b', 'a']);
    expect(roundOrder([], 2)).toEqual([[], []]);
  });

  it('rejects a number of rounds that is not a positive integer', () => {
    expect(() => roundOrder(['a'], 0)).toThrow(/rounds must be a positive integer/);
    expect(() => roundOrder(['a'], 1.5)).toThrow(/rounds must be a positive integer/);
  });
});

describe('decide bench: percentile', () => {
  it('takes the nearest rank below of ascending values', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(sorted, 50)).toBe(51);
    expect(percentile(sorted, 99)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([0.2, 0.3, 5], 50)).toBe(0.3);
  });

  it('is NaN without values and the value itself for one', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('decide bench: ratios and regressions (current ÷ base at 32 connections)', () => {
  const base: ServerFigures = { rps: 2000, p50Ms: 15, p99Ms: 30, cpuUsPerResponse: 500 };
  const cur = (over: Partial<ServerFigures>): ServerFigures => ({ ...base, ...over });

  it('divides each figure of the first by the second', () => {
    expect(ratios(cur({ rps: 3000, p50Ms: 7.5, p99Ms: 15, cpuUsPerResponse: 250 }), base)).toEqual({
      rps: 1.5,
      p50: 0.5,
      p99: 0.5,
      cpuPerResponse: 0.5,
    });
  });

  it('finds no regression within 10 % either way, nor in an improvement', () => {
    expect(regressions(ratios(base, base))).toEqual([]);
    expect(regressions(ratios(cur({ rps: 1810, p99Ms: 32.9, cpuUsPerResponse: 549 }), base))).toEqual([]);
    expect(regressions(ratios(cur({ rps: 4000, p99Ms: 10, cpuUsPerResponse: 200 }), base))).toEqual([]);
  });

  it('flags req/s below 0.9, CPU per decision above 1.1 and p99 above 1.1, each with its bound', () => {
    expect(regressions(ratios(cur({ rps: 1700 }), base))).toEqual([{ figure: 'req/s', ratio: 0.85, limit: 0.9 }]);
    expect(regressions(ratios(cur({ cpuUsPerResponse: 600 }), base))).toEqual([{ figure: 'CPU µs per decision', ratio: 1.2, limit: 1.1 }]);
    expect(regressions(ratios(cur({ p99Ms: 36 }), base))).toEqual([{ figure: 'p99', ratio: 1.2, limit: 1.1 }]);
    expect(regressions(ratios(cur({ rps: 1000, p99Ms: 60, cpuUsPerResponse: 1000 }), base)).map((r) => r.figure)).toEqual([
      'req/s',
      'CPU µs per decision',
      'p99',
    ]);
  });

  it('does not count the p50 (no regression rule) nor an unmeasured figure (NaN)', () => {
    expect(regressions(ratios(cur({ p50Ms: 100 }), base))).toEqual([]);
    expect(regressions({ rps: NaN, p50: NaN, p99: NaN, cpuPerResponse: NaN })).toEqual([]);
  });

  it('takes another tolerance', () => {
    expect(regressions(ratios(cur({ rps: 1900 }), base), 0.02)).toEqual([{ figure: 'req/s', ratio: 0.95, limit: 0.98 }]);
  });

  it('states each ratio against its goal', () => {
    expect(against(0.45, { atLeast: GOALS.rpsVsBare })).toBe('0.450 (goal ≥ 0.4) PASS');
    expect(against(0.35, { atLeast: GOALS.rpsVsBare })).toBe('0.350 (goal ≥ 0.4) MISS');
    expect(against(2.5, { atMost: GOALS.p99VsBare }, 2, '×')).toBe('2.50× (goal ≤ 2.5×) PASS');
    expect(against(0.62, { atMost: GOALS.cpuVsBase })).toBe('0.620 (goal ≤ 0.5) MISS');
    expect(against(NaN, { atMost: 1 })).toBe('-');
  });
});

describe('decide bench: per-round ratios (the noise of a run)', () => {
  const f = (rps: number, cpu: number): ServerFigures => ({ rps, p50Ms: 1, p99Ms: 2, cpuUsPerResponse: cpu });

  it('pairs the rounds of two servers in order', () => {
    const r = roundRatios([f(100, 500), f(90, 600)], [f(100, 400), f(120, 600)]);
    expect(r.map((x) => x.rps)).toEqual([1, 0.75]);
    expect(r.map((x) => x.cpuPerResponse)).toEqual([1.25, 1]);
    expect(() => roundRatios([f(1, 1)], [])).toThrow(/cannot pair 1 rounds with 0/);
  });

  it('prints the range, ignoring what could not be measured', () => {
    expect(spread([1.08, 0.92, 1])).toBe('0.92–1.08');
    expect(spread([0.5, NaN, Infinity])).toBe('0.50–0.50');
    expect(spread([])).toBe('-');
  });
});
