import { listenerFor, type ListenerHandle, type ListenerLogger, type PgListener } from '../../platform/db/pg-listener.js';
import type { ApiKeyNoticeSink } from './api-key-cache.js';
import { API_KEY_NOTICES_CHANNEL, NOTICE_KEY_ID, type ApiKeyNotices } from './api-key-notices.js';

export interface PgApiKeyNoticesOptions {
  /** The database every replica uses (the LISTEN connection is opened on it, outside the pool). */
  url: string;
  logger: ListenerLogger;
  channel?: string;
  /** Reconnect backoff of the LISTEN connection (defaults 100 ms doubling to 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** The replica's shared LISTEN connection (subscribed to; its owner starts and closes it); none: one of its own. */
  listener?: PgListener;
}

/**
 * Revoked API keys across replicas on one PostgreSQL database: each replica holds one dedicated
 * connection LISTENing on `lexecon_api_key_revoked`, where a revocation's transaction sends the key id
 * (see sendKeyRevokedNotice; delivered at its COMMIT to every listening session, this replica's
 * included). The attached cache evicts the key on every notice.
 *
 * A notice can be missed only while the LISTEN connection is down: the cache is emptied and bypassed
 * from the moment the loss is seen until the LISTEN is back (emptied again then). Between the loss and
 * its detection, the cache's TTL is the bound.
 */
export class PgApiKeyNotices implements ApiKeyNotices {
  private readonly listening: ListenerHandle;
  private sink: ApiKeyNoticeSink | undefined;

  constructor(opts: PgApiKeyNoticesOptions) {
    this.listening = listenerFor(
      {
        channel: opts.channel ?? API_KEY_NOTICES_CHANNEL,
        onNotification: (payload) => {
          if (NOTICE_KEY_ID.test(payload)) this.sink?.evictKey(payload);
        },
        onListeningChange: (listening) => this.sink?.setHearing(listening),
      },
      {
        url: opts.url,
        logger: opts.logger,
        applicationName: 'lexecon-api-key-notices',
        ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
        ...(opts.maxBackoffMs !== undefined && { maxBackoffMs: opts.maxBackoffMs }),
      },
      opts.listener,
    );
  }

  /**
   * Start listening and wait until the LISTEN is in place (a replica starts only once it can hear); on a
   * shared listener, its owner does that.
   */
  static async open(opts: PgApiKeyNoticesOptions, readyTimeoutMs = 10_000): Promise<PgApiKeyNotices> {
    const notices = new PgApiKeyNotices(opts);
    await notices.listening.start(readyTimeoutMs);
    return notices;
  }

  /** The LISTEN connection (its state and backend pid): for tests. */
  get listenConnection(): Pick<PgListener, 'listening' | 'backendPid' | 'connects' | 'ready'> {
    return this.listening.listener;
  }

  attach(sink: ApiKeyNoticeSink): void {
    this.sink = sink;
    sink.setHearing(this.listening.listener.listening);
  }

  async close(): Promise<void> {
    await this.listening.close();
  }
}
