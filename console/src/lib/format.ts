/**
 * Time and number formatting for the console. Times are shown in the viewer's time zone; the UTC
 * instant goes into the element's `title` (shown on hover) so nobody has to guess which zone is meant.
 */

export interface ShownTime {
  /** e.g. `25 Nov 2026, 11:42:05` in the viewer's zone (or the zone passed). */
  local: string;
  /** e.g. `2026-11-25 10:42:05 UTC`. */
  utc: string;
}

/** An ISO instant as the viewer's local time and as UTC; `undefined` for a value that is not a time. */
export function showTime(iso: string, timeZone?: string, locale = 'en-GB'): ShownTime | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  const local = new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    ...(timeZone ? { timeZone } : {}),
  }).format(d);
  return { local, utc: `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` };
}

/**
 * A duration as people say it: `1 h 05 min`, `4 min 09 s`, `12 s`, `2 d 3 h`. Negative durations are
 * formatted by their magnitude (the caller says "ago" / "overdue by").
 */
export function formatDuration(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return `${h} h ${two(m)} min`;
  if (m > 0) return `${m} min ${two(s)} s`;
  return `${s} s`;
}

/** A 0–1 rate as a percentage with at most one decimal: `0.3333` → `33.3 %`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${Math.round(rate * 1000) / 10} %`;
}

/** `policy_requires_approval` → `Policy requires approval`. */
export function humanize(code: string): string {
  const text = code.replace(/[_:]+/g, ' ').trim();
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}
