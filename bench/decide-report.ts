/**
 * The pure parts of the `POST /decide` benchmark's report: the order of the servers in each round, the
 * percentiles, the ratios against the goals and the regression check of the current tree against
 * a baseline commit (`--against`). No I/O here (tested in test/bench/decide-report.test.ts).
 */

export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

/** The p-th percentile (nearest rank, lower) of ascending values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The order the servers are loaded in, round by round: ABBA generalised to any number of servers. Rounds
 * come in pairs, an order and its reverse, so that within every pair each server's mean position is the
 * same: a drift of the machine that is linear in time hits all of them alike. Pair p starts from the
 * given order rotated by p, so that over the pairs each server takes each position; in particular the
 * one server a pair loads twice in a row (last of its first round, first of its second: it alone was
 * warm when its stretch began) changes from pair to pair. With [base, bare, current] and 4 rounds:
 * base, bare, current | current, bare, base | bare, current, base | base, current, bare (current, then
 * base, loaded twice in a row); with 2 servers, ABBA BAAB.
 */
export function roundOrder<T>(servers: readonly T[], rounds: number): T[][] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`);
  const n = servers.length;
  return Array.from({ length: rounds }, (_, r) => {
    const p = Math.floor(r / 2) % Math.max(n, 1);
    const rotated = [...servers.slice(p), ...servers.slice(0, p)];
    return r % 2 === 0 ? rotated : rotated.reverse();
  });
}

/** What one server did in one phase, as the ratios need it. */
export interface ServerFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server process CPU over the measured windows ÷ responses in them. */
  cpuUsPerResponse: number;
}

/** The goals (issue 16), informational: exit code 0 whether or not they are met. */
export const GOALS = {
  /** current CPU per decision ÷ the baseline commit's. */
  cpuVsBase: 0.5,
  /** current req/s ÷ bare req/s at 32 connections. */
  rpsVsBare: 0.4,
  /** current p99 ÷ bare p99 at 32 connections. */
  p99VsBare: 2.5,
  /** p50 at 1 connection, ms (SQLite, synchronous=FULL). */
  floorP50Ms: 0.5,
} as const;

/** More than this worse than the baseline is a regression (10 %). */
export const REGRESSION_TOLERANCE = 0.1;

export interface Ratios {
  rps: number;
  p50: number;
  p99: number;
  cpuPerResponse: number;
}

/** a ÷ b for each figure. */
export function ratios(a: ServerFigures, b: ServerFigures): Ratios {
  return {
    rps: a.rps / b.rps,
    p50: a.p50Ms / b.p50Ms,
    p99: a.p99Ms / b.p99Ms,
    cpuPerResponse: a.cpuUsPerResponse / b.cpuUsPerResponse,
  };
}

export interface Regression {
  figure: 'req/s' | 'CPU µs per decision' | 'p99';
  ratio: number;
  /** The bound the ratio crossed. */
  limit: number;
}

/**
 * The regressions of current against the baseline (ratios current ÷ base at 32 connections): req/s
 * down by more than the tolerance (ratio < 0.9), CPU per decision or p99 up by more (ratio > 1.1). A
 * ratio that could not be measured (NaN) is not a regression.
 */
export function regressions(r: Ratios, tolerance = REGRESSION_TOLERANCE): Regression[] {
  const out: Regression[] = [];
  if (r.rps < 1 - tolerance) out.push({ figure: 'req/s', ratio: r.rps, limit: 1 - tolerance });
  if (r.cpuPerResponse > 1 + tolerance) out.push({ figure: 'CPU µs per decision', ratio: r.cpuPerResponse, limit: 1 + tolerance });
  if (r.p99 > 1 + tolerance) out.push({ figure: 'p99', ratio: r.p99, limit: 1 + tolerance });
  return out;
}

export const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** "0.873 (goal ≥ 0.4) PASS" (`unit` after the figure: "2.10× (goal ≤ 2.5×) PASS"), or "-" when the ratio is not a number. */
export function against(ratio: number, goal: { atLeast?: number; atMost?: number }, digits = 3, unit = ''): string {
  if (!Number.isFinite(ratio)) return '-';
  const text = `${ratio.toFixed(digits)}${unit}`;
  if (goal.atLeast !== undefined) return `${text} (goal ≥ ${goal.atLeast}${unit}) ${verdict(ratio >= goal.atLeast)}`;
  if (goal.atMost !== undefined) return `${text} (goal ≤ ${goal.atMost}${unit}) ${verdict(ratio <= goal.atMost)}`;
  return text;
}

/** The range of per-round ratios (current ÷ base, round by round): "0.92–1.08", how noisy the run was. */
export function spread(values: readonly number[], digits = 2): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '-';
  return `${Math.min(...finite).toFixed(digits)}–${Math.max(...finite).toFixed(digits)}`;
}

/** The per-round ratios of two servers' per-round figures (same rounds, same order). */
export function roundRatios(a: readonly ServerFigures[], b: readonly ServerFigures[]): Ratios[] {
  if (a.length !== b.length) throw new Error(`cannot pair ${a.length} rounds with ${b.length}`);
  return a.map((x, i) => ratios(x, b[i]!));
}
