/**
 * Driver-neutral database errors. Both drivers translate their own errors into these classes (the
 * original is the `cause`), so repositories and services test `instanceof UniqueViolation`, never a
 * SQLite result code or a PostgreSQL SQLSTATE. An error thrown by application code inside a
 * transaction is rethrown unchanged.
 */

export class DatabaseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/** A UNIQUE or PRIMARY KEY constraint refused the write. */
export class UniqueViolation extends DatabaseError {
  constructor(
    message: string,
    /** The constraint or index name when the driver tells it (PostgreSQL), else undefined. */
    readonly constraint: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UniqueViolation';
  }
}

/**
 * Whether `err` is a UniqueViolation of the unique index `index` on `table (columns…)`: PostgreSQL
 * names the index (`constraint`), SQLite names the columns in its message (`table.a, table.b`).
 */
export function isUniqueViolationOf(err: unknown, index: string, table: string, columns: readonly string[]): boolean {
  if (!(err instanceof UniqueViolation)) return false;
  if (err.constraint !== undefined) return err.constraint === index;
  return err.message.endsWith(columns.map((c) => `${table}.${c}`).join(', '));
}

/** Any other integrity constraint: NOT NULL, CHECK, FOREIGN KEY, or a trigger that refused the write. */
export class ConstraintViolation extends DatabaseError {
  constructor(
    message: string,
    readonly kind: 'not_null' | 'check' | 'foreign_key' | 'other',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ConstraintViolation';
  }
}

/**
 * Concurrent transactions conflicted (PostgreSQL serialization failure or deadlock; SQLite busy or
 * locked past its busy timeout). Nothing was written; the whole transaction may be retried.
 */
export class SerializationFailure extends DatabaseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SerializationFailure';
  }
}

/**
 * The database cannot be reached or refused service (connection refused, lost, timed out, server
 * shutting down, read-only standby; SQLite: cannot open, I/O error, disk full). The HTTP layer answers
 * 503. `commitOutcomeUnknown` is true when the connection was lost while COMMIT was in flight: the
 * transaction may or may not have committed, and only reading the database again can tell.
 */
export class DatabaseUnavailable extends DatabaseError {
  constructor(
    message: string,
    readonly commitOutcomeUnknown = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailable';
  }
}

/** A handle used after its transaction ended, or while a nested transaction holds it, or after close. */
export class HandleMisuse extends DatabaseError {
  constructor(message: string) {
    super(message);
    this.name = 'HandleMisuse';
  }
}
