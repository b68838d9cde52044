/** A source of wall-clock time, injected wherever time matters (tokens, SLAs, TOTP, retention, the ledger). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and deterministic tooling. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: string | number = '2026-11-25T10:00:00.000Z') {
    this.ms = typeof start === 'number' ? start : Date.parse(start);
    if (!Number.isFinite(this.ms)) throw new TypeError(`invalid start time: ${String(start)}`);
  }

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(at: string | number): void {
    this.ms = typeof at === 'number' ? at : Date.parse(at);
  }
}

/** RFC 3339 UTC with milliseconds and `Z`, the one timestamp format on the wire and in hashes (DESIGN §2). */
export function isoTimestamp(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
