import { describe, expect, it } from 'vitest';
import type { DbPort, Queryable } from '../../platform/db/port.js';
import { PolicyRepo, type PolicyVersionRecord } from './policy.repo.js';

/** A transaction handle that answers the active row and counts the statements it runs. */
function fakeTx(active: { hash: string | null }) {
  const statements: string[] = [];
  const tx = {
    dialect: 'sqlite',
    one: async (sql: string) => {
      statements.push(sql);
      return sql.includes('FROM active_policy') && active.hash !== null ? { version_hash: active.hash } : undefined;
    },
    run: async (sql: string) => {
      statements.push(sql);
      if (sql.includes('INTO active_policy')) active.hash = 'b'.repeat(64);
      return { changes: 1 };
    },
  } as unknown as Queryable;
  return { tx, statements };
}

const VERSION: PolicyVersionRecord = {
  versionHash: 'b'.repeat(64),
  versionId: 'pol_1',
  policyId: 'p',
  name: 'p',
  version: null,
  mode: 'strict',
  document: '{}',
  termsCount: 0,
  relationsCount: 0,
  warnings: [],
  loadedBy: 'usr_1',
  loadedAt: '2026-11-25T10:00:00.000Z',
};

describe('PolicyRepo.activeHash: the active version read through a ledger transaction', () => {
  it('is read once per transaction, however many decisions of the batch ask', async () => {
    const repo = new PolicyRepo({} as DbPort);
    const state = { hash: 'a'.repeat(64) };
    const first = fakeTx(state);
    for (let i = 0; i < 50; i++) expect(await repo.activeHash(first.tx)).toBe('a'.repeat(64));
    expect(first.statements).toHaveLength(1);
    // Another transaction (the next batch) reads again.
    const second = fakeTx(state);
    expect(await repo.activeHash(second.tx)).toBe('a'.repeat(64));
    expect(second.statements).toHaveLength(1);
  });

  it('an activation written by this process makes the memo stale (the next read sees it)', async () => {
    const repo = new PolicyRepo({} as DbPort);
    const state = { hash: null as string | null };
    const { tx, statements } = fakeTx(state);
    expect(await repo.activeHash(tx)).toBeNull();
    await repo.storeAndActivate(tx, VERSION, VERSION.loadedAt, 'usr_1');
    const before = statements.length;
    expect(await repo.activeHash(tx)).toBe('b'.repeat(64));
    expect(statements.length).toBe(before + 1);
    expect(await repo.activeHash(tx)).toBe('b'.repeat(64));
    expect(statements.length).toBe(before + 1);
  });
});
