import { EventEmitter } from 'node:events';
import pg from 'pg';

/** The part of a pino/Fastify logger the listener uses. */
export interface ListenerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** One channel a listener LISTENs on, and what to call on its notices and on the connection's changes. */
export interface ListenerSubscription {
  /** A plain lower-case identifier (it is written into LISTEN, not bound). */
  channel: string;
  /** Called with each notification's payload on the channel, from this or any other session. */
  onNotification: (payload: string) => void;
  /**
   * Called when the LISTEN is established (`true`, at the first connect and at every reconnect) and when
   * an established one is lost (`false`): a user that caches state the notices invalidate drops it then.
   */
  onListeningChange?: (listening: boolean) => void;
  /** Called each time the LISTEN is in place, with how many times it has been (1: the first connect). */
  onListening?: (connects: number) => void;
}

export interface PgListenerOptions extends Partial<ListenerSubscription> {
  /** postgres://… (the same database as the port). */
  url: string;
  logger: ListenerLogger;
  /** First reconnect delay (default 100 ms), doubled per failed attempt up to `maxBackoffMs` (default 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up one connection attempt after this long (default 5 s). */
  connectTimeoutMs?: number;
  applicationName?: string;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * One dedicated connection (not from the pool: a pooled connection is shared and LISTEN is session
 * state) LISTENing on one or more channels: the channel of its options, if any, and each one
 * {@link subscribe}d before it starts (a replica's users share one connection this way). When the connection drops (server restart, pg_terminate_backend,
 * network), the loss is logged and the listener reconnects with exponential backoff and jitter until
 * it is LISTENing again or closed. Notifications sent while it is not connected are not delivered to
 * it (PostgreSQL queues them only for sessions that are listening): its users must treat a notice as a
 * hint, never as the only carrier of a state change.
 */
export class PgListener {
  private readonly events = new EventEmitter();
  private readonly done = new WeakSet<pg.Client>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private readonly subscriptions: ListenerSubscription[] = [];
  private started = false;
  /** How many times a LISTEN has been established (1 after the first connect; +1 per reconnect). */
  connects = 0;

  constructor(private readonly opts: PgListenerOptions) {
    this.events.setMaxListeners(0);
    if (opts.channel !== undefined || opts.onNotification !== undefined) {
      this.subscribe({
        channel: opts.channel ?? '',
        onNotification: opts.onNotification ?? (() => undefined),
        ...(opts.onListeningChange && { onListeningChange: opts.onListeningChange }),
        ...(opts.onListening && { onListening: opts.onListening }),
      });
    }
  }

  /** Listen on one more channel too (before {@link start}: the LISTENs are sent when the connection opens). */
  subscribe(subscription: ListenerSubscription): void {
    if (!CHANNEL.test(subscription.channel)) throw new TypeError(`invalid channel name '${subscription.channel}'`);
    if (this.started) throw new Error('subscribe before the listener starts');
    if (this.subscriptions.some((s) => s.channel === subscription.channel)) {
      throw new Error(`channel '${subscription.channel}' is already listened to`);
    }
    this.subscriptions.push(subscription);
  }

  /** The channels listened to, in subscription order. */
  get channels(): string[] {
    return this.subscriptions.map((s) => s.channel);
  }

  /** Whether the LISTEN connection is up now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Start connecting (in the background; retries until it succeeds or `close`). */
  start(): void {
    if (this.subscriptions.length === 0) throw new Error('a listener needs a channel: subscribe first');
    this.started = true;
    if (this.closed || this.client !== undefined || this.timer !== undefined) return;
    void this.connect();
  }

  /**
   * Start, and resolve once the LISTEN is in place (a replica starts only once it can hear); after
   * `timeoutMs` the listener is closed and the error thrown.
   */
  async startAndWait(timeoutMs = 10_000): Promise<void> {
    this.start();
    try {
      await this.ready(timeoutMs);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Resolves once the LISTEN is in place (at once when it is); rejects after `timeoutMs`. */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onUp = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.events.off('listening', onUp);
        reject(new Error(`LISTEN ${this.channels.join(', ')} not established within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.once('listening', onUp);
    });
  }

  /** The backend pid of the LISTEN connection (undefined while disconnected): for operators and tests. */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      application_name: this.opts.applicationName ?? 'lexecon-listen',
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (msg) => {
      if (msg.payload === undefined) return;
      for (const s of this.subscriptions) if (s.channel === msg.channel) s.onNotification(msg.payload);
    });
    try {
      await client.connect();
      // Channel names are checked plain identifiers (CHANNEL): one simple query with every LISTEN.
      await client.query(this.subscriptions.map((s) => `LISTEN ${s.channel}`).join('; '));
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.closed || this.done.has(client)) {
      this.done.add(client);
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connects++;
    if (this.attempt > 0) this.opts.logger.info({ channels: this.channels, attempts: this.attempt }, 'LISTEN connection re-established');
    this.attempt = 0;
    for (const s of this.subscriptions) s.onListeningChange?.(true);
    this.events.emit('listening');
    for (const s of this.subscriptions) s.onListening?.(this.connects);
  }

  /** A connection failed or ended: forget it, log, and schedule a reconnect (once per connection). */
  private lost(client: pg.Client, err: Error): void {
    if (this.done.has(client)) return;
    this.done.add(client);
    const wasListening = this.client === client;
    if (wasListening) {
      this.client = undefined;
      for (const s of this.subscriptions) s.onListeningChange?.(false);
    }
    client.end().catch(() => undefined);
    if (this.closed) return;
    const base = this.opts.initialBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5_000;
    const delay = Math.round(Math.min(max, base * 2 ** Math.min(this.attempt, 20)) * (0.5 + Math.random() / 2));
    this.attempt++;
    this.opts.logger.warn(
      { channels: this.channels, err: err.message, wasListening, retryInMs: delay, attempt: this.attempt },
      wasListening
        ? 'LISTEN connection lost: notices from other replicas are missed until it is back (waiters time out meanwhile)'
        : 'LISTEN connection attempt failed',
    );
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /** Stop listening and release the connection; no reconnect after this. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      this.done.add(client);
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * The listener a notice user hears through: `shared` (a replica's one LISTEN connection, which its
 * owner starts and closes) subscribed to, or else a listener of its own on `own`, which the user starts
 * and closes (tests, a single user) through {@link ListenerHandle.start} and {@link ListenerHandle.close}.
 */
export function listenerFor(
  subscription: ListenerSubscription,
  own: Omit<PgListenerOptions, keyof ListenerSubscription>,
  shared: PgListener | undefined,
): ListenerHandle {
  if (shared !== undefined) {
    shared.subscribe(subscription);
    return new ListenerHandle(shared, false);
  }
  return new ListenerHandle(new PgListener({ ...own, ...subscription }), true);
}

/** A user's hold on its listener: start and close act only on a listener of its own, never on a shared one. */
export class ListenerHandle {
  constructor(
    readonly listener: PgListener,
    private readonly owned: boolean,
  ) {}

  /** Start listening and wait for the LISTEN (see {@link PgListener.startAndWait}); a shared one's owner does that. */
  async start(timeoutMs: number): Promise<void> {
    if (this.owned) await this.listener.startAndWait(timeoutMs);
  }

  /** Release the connection; a shared one's owner does that. */
  async close(): Promise<void> {
    if (this.owned) await this.listener.close();
  }
}
