/** A value as the store held it after the ledger entry `seq` (every entry up to it applied). */
export interface OrderedValue<T> {
  value: T;
  seq: number;
}

export interface LedgerOrderedStateOptions<T> {
  /** Read the value from the store with the ledger position it is as of (one statement: one snapshot). */
  read: () => Promise<OrderedValue<T>>;
  /** Re-read in the background once the value is older than this (ms); Infinity: never. */
  ttlMs: number;
  now?: () => number;
}

/**
 * This process's memory of a small piece of shared state (the halt state, the active policy version),
 * ordered by the ledger: a value known as of a later entry replaces one known as of an earlier entry,
 * never the reverse, whatever order the news arrives in (this process's own commits, a change notice
 * from another replica, the state read inside a ledger batch, a re-read after the TTL).
 *
 * It is a hint for work done before a transaction, never the authority: whoever acts on the value
 * re-reads the state inside the ledger transaction that acts and starts again when it differs. The TTL
 * only bounds how long a missed notice keeps the hint stale (a clock used as a timer, never for order).
 */
export class LedgerOrderedState<T> {
  private latest: OrderedValue<T> | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: LedgerOrderedStateOptions<T>) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The value as of the latest entry known here (read from the store when nothing is known yet). */
  async get(): Promise<T> {
    const known = this.latest;
    if (known === undefined) {
      await this.refresh();
      return this.latest!.value;
    }
    if (this.now() - this.readAt > this.opts.ttlMs) void this.refresh().catch(() => undefined);
    return known.value;
  }

  /**
   * The value as of the latest entry known here, without a read or a promise (undefined: nothing known
   * yet, use {@link get}); past the TTL it answers still and re-reads in the background.
   */
  known(): T | undefined {
    const known = this.latest;
    if (known === undefined) return undefined;
    if (this.now() - this.readAt > this.opts.ttlMs) void this.refresh().catch(() => undefined);
    return known.value;
  }

  /** What is known now, without reading: undefined before the first read or offer. */
  peek(): OrderedValue<T> | undefined {
    return this.latest;
  }

  /** News of the value as of entry `seq`: kept unless something as of a later entry is known already. */
  offer(value: T, seq: number): void {
    if (this.latest === undefined || seq >= this.latest.seq) this.latest = { value, seq };
  }

  /**
   * Read the store now. One read at a time: a call while a read is in flight waits for one that starts
   * after it (the one in flight may have taken its snapshot before what prompted the call).
   */
  refresh(): Promise<void> {
    if (this.reading !== undefined) {
      this.next ??= this.reading.catch(() => undefined).then(() => {
        this.next = undefined;
        return this.refresh();
      });
      return this.next;
    }
    this.readAt = this.now();
    this.reading = this.opts
      .read()
      .then((r) => this.offer(r.value, r.seq))
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
