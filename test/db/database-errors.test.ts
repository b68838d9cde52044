/**
 * The storage port's neutral errors at the HTTP boundary: a database that cannot be reached, or a
 * transaction the database aborted under contention, is the database's state, not a server fault:
 * the single error handler answers 503 with a retry hint in the one envelope, never a 500.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ConstraintViolation, DatabaseUnavailable, SerializationFailure } from '../../src/platform/db/errors.js';
import { installErrorHandling } from '../../src/platform/errors.js';

async function answer(err: Error) {
  const app = Fastify({ logger: false });
  installErrorHandling(app, { bodyLimit: 1024 });
  app.get('/boom', async () => {
    throw err;
  });
  const res = await app.inject({ method: 'GET', url: '/boom' });
  await app.close();
  return res;
}

describe('database errors at the HTTP boundary', () => {
  it('DatabaseUnavailable (connection refused or lost, server shutting down, a standby) answers 503 DATABASE_UNAVAILABLE with retry-after', async () => {
    for (const err of [new DatabaseUnavailable('connect ECONNREFUSED'), new DatabaseUnavailable('Connection terminated', true)]) {
      const res = await answer(err);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ error: { code: 'DATABASE_UNAVAILABLE' }, request_id: expect.any(String) });
    }
  });

  it('SerializationFailure (deadlock, serialization failure) answers 503 DATABASE_BUSY', async () => {
    const res = await answer(new SerializationFailure('deadlock detected'));
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'DATABASE_BUSY' } });
  });

  it('an unexpected constraint failure stays a server fault (500), its message not shown', async () => {
    const res = await answer(new ConstraintViolation('secret detail', 'other'));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret detail');
  });
});
