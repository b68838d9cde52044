import type { Transaction } from '../../platform/db/port.js';
import type { ApiKeyNoticeSink } from './api-key-cache.js';

/** The PostgreSQL channel of revoked API keys; the payload is one key id and nothing else. */
export const API_KEY_NOTICES_CHANNEL = 'lexecon_api_key_revoked';

/** Key ids are short identifiers (`key_…`); anything else is never sent and ignored when received. */
export const NOTICE_KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Tell every replica's key cache that `keyId` is revoked, in the revoking transaction: on PostgreSQL a
 * `pg_notify`, which is delivered to every listening session at COMMIT and never on rollback (whoever
 * revokes, server or tool, sends it); on SQLite nothing (one process, whose cache the revocation evicts).
 */
export async function sendKeyRevokedNotice(tx: Transaction, keyId: string): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  if (!NOTICE_KEY_ID.test(keyId)) throw new TypeError('an API key notice carries a key id only');
  await tx.one('SELECT pg_notify(?, ?)', [API_KEY_NOTICES_CHANNEL, keyId]);
}

/**
 * Where this process hears of revocations made by other processes on the database: nothing to hear on
 * SQLite ({@link NoApiKeyNotices}); LISTEN on PostgreSQL (`PgApiKeyNotices`, api-key-notices.pg.ts).
 */
export interface ApiKeyNotices {
  /** The cache the notices go to (one per process). */
  attach(sink: ApiKeyNoticeSink): void;
  close(): Promise<void>;
}

/** One process on the database (SQLite): every revocation is made here and evicts directly. */
export class NoApiKeyNotices implements ApiKeyNotices {
  attach(): void {}
  async close(): Promise<void> {}
}
