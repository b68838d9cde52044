/**
 * Scaling for the console's small bar charts (inline SVG drawn by Preact: geometry in SVG attributes,
 * colours from classes in styles.css, never a style attribute, which the console's CSP refuses).
 */
import { formatDuration } from './format.js';

/** Seconds as people read them, sub-second included: `40 ms`, `2.5 s`, `4 min 09 s`; `—` for none. */
export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  return formatDuration(s * 1000);
}

/** The smallest "nice" number (1, 2, 2.5 or 5 × 10^k) at or above `max`; 1 for nothing to show. */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1;
  const exp = Math.floor(Math.log10(max));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) {
    const v = m * base;
    // Floating error: 0.1 * 3 ≠ 0.3; compare with a relative tolerance.
    if (v >= max * (1 - 1e-12)) return Number(v.toPrecision(12));
  }
  return 10 * base;
}

export interface Bar {
  label: string;
  value: number | null;
  /** Bar length in chart units, 0 for null or non-positive values. */
  length: number;
}

/**
 * Bars scaled into `width` units against `max` (default: the nice maximum of the values). Values above
 * `max` are clamped to the full width; a null value (no data) has no bar and is shown as "—".
 */
export function scaleBars(items: ReadonlyArray<{ label: string; value: number | null }>, width: number, max?: number): { max: number; bars: Bar[] } {
  let top = 0;
  for (const it of items) if (it.value !== null && Number.isFinite(it.value) && it.value > top) top = it.value;
  const m = max !== undefined && max > 0 ? max : niceMax(top);
  const bars = items.map((it) => {
    const v = it.value;
    const length = v === null || !Number.isFinite(v) || v <= 0 ? 0 : Math.min(width, (v / m) * width);
    return { label: it.label, value: v, length: Math.round(length * 10) / 10 };
  });
  return { max: m, bars };
}

/** Gridline values from 0 to `max` in `steps` equal parts. */
export function ticks(max: number, steps = 4): number[] {
  const out: number[] = [];
  for (let k = 0; k <= steps; k++) out.push(Number(((max * k) / steps).toPrecision(12)));
  return out;
}
