/**
 * Periods typed in `<input type="datetime-local">` (the viewer's local time, minutes) to and from the
 * RFC 3339 instants the API takes.
 */

const two = (n: number) => String(n).padStart(2, '0');

/** A `datetime-local` value (local time, minute precision) for an instant. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The UTC instant of a `datetime-local` value read in the viewer's zone; null when it is not one. */
export function fromLocalInput(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The default export period: the last `days` days up to the next whole minute (so "now" is inside). */
export function defaultPeriod(now: number, days = 30): { from: string; to: string } {
  const to = Math.ceil((now + 1) / 60_000) * 60_000;
  return { from: toLocalInput(to - days * 86_400_000), to: toLocalInput(to) };
}

/** A period's problem as the form says it, or null: both set, to after from, at most 366 days (the API's rule). */
export function periodProblem(from: string | null, to: string | null): string | null {
  if (from === null) return 'Enter the start of the period.';
  if (to === null) return 'Enter the end of the period.';
  const span = Date.parse(to) - Date.parse(from);
  if (span <= 0) return 'The end must be after the start.';
  if (span > 366 * 86_400_000) return 'A period is at most 366 days.';
  return null;
}
