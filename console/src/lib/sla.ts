import { formatDuration } from './format.js';

/** How close a case is to its SLA deadline. Colour follows it, and the text always says it too. */
export type SlaLevel = 'ok' | 'soon' | 'urgent' | 'overdue';

export interface SlaCountdown {
  level: SlaLevel;
  /** Milliseconds left (negative once overdue). */
  remainingMs: number;
  /** e.g. `3 h 12 min left`, `Overdue by 4 min 09 s`. */
  text: string;
}

/** At or below this share of the SLA left, a case is `soon`; at or below URGENT_SHARE, `urgent`. */
export const SOON_SHARE = 0.5;
export const URGENT_SHARE = 0.2;

/**
 * The countdown of a case: from its opening (`createdAt`) to `deadline`, at `nowMs`. The level uses
 * the share of the SLA left, so a 2-hour critical case turns urgent at 24 minutes left and a 72-hour
 * low case at 14 h 24 min. A case without a usable window (bad dates) counts as overdue: fail closed.
 */
export function slaCountdown(deadline: string, createdAt: string, nowMs: number): SlaCountdown {
  const end = Date.parse(deadline);
  const start = Date.parse(createdAt);
  if (Number.isNaN(end)) return { level: 'overdue', remainingMs: 0, text: 'Deadline unknown' };
  const remainingMs = end - nowMs;
  if (remainingMs <= 0) return { level: 'overdue', remainingMs, text: `Overdue by ${formatDuration(remainingMs)}` };
  const window = Number.isNaN(start) ? 0 : end - start;
  const share = window > 0 ? remainingMs / window : 0;
  const level: SlaLevel = share <= URGENT_SHARE ? 'urgent' : share <= SOON_SHARE ? 'soon' : 'ok';
  return { level, remainingMs, text: `${formatDuration(remainingMs)} left` };
}

/** A short word for the level, shown next to the colour (colour is never the only signal). */
export function slaLabel(level: SlaLevel): string {
  return { ok: 'On time', soon: 'Due soon', urgent: 'Urgent', overdue: 'Overdue' }[level];
}
