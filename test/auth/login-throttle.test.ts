import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { SqliteAuthRepo, type AttemptLimits } from '../../src/modules/auth/auth.repo.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { tempDir } from '../helpers/build-test-app.js';

const NOW = Date.parse('2026-11-25T10:00:00.000Z');

function limits(nowMs = NOW, maxFailures = 5, lockoutS = 900): AttemptLimits {
  return {
    now: new Date(nowMs).toISOString(),
    windowFloor: new Date(nowMs - lockoutS * 1000).toISOString(),
    maxFailures,
    lockUntil: new Date(nowMs + lockoutS * 1000).toISOString(),
  };
}

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

/** Two connections to one database file, as two server processes sharing it would have. */
function twoProcesses(): [SqliteAuthRepo, SqliteAuthRepo] {
  const file = path.join(tempDir(), 'lexecon.db');
  const a = openDatabase(file);
  migrate(a, allMigrations);
  const b = openDatabase(file);
  open.push(a, b);
  return [new SqliteAuthRepo(a), new SqliteAuthRepo(b)];
}

describe('login attempts are counted in the database before verification (issue 14 B4)', () => {
  it('counts attempts from two connections as one: the limit holds across processes sharing the database', () => {
    const [a, b] = twoProcesses();
    const answers = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).reserveAttempt('dana', limits()));
    expect(answers.filter((r) => r.state === 'counted')).toHaveLength(5);
    expect(answers.slice(5).every((r) => r.state === 'locked')).toBe(true);
    // The attempt over the limit locks the name (once); later ones see the lock.
    expect(answers.filter((r) => r.state === 'locked' && r.newlyLocked)).toHaveLength(1);
  });

  it('a success clears the count unless a lock was set meanwhile; a lock ends after the lockout', () => {
    const [a, b] = twoProcesses();
    for (let i = 0; i < 4; i++) a.reserveAttempt('erin', limits());
    expect(b.finishAttempt('erin', limits().now)).toBeUndefined();
    expect(a.reserveAttempt('erin', limits())).toEqual({ state: 'counted', attempts: 1 });

    for (let i = 0; i < 4; i++) a.reserveAttempt('erin', limits());
    expect(b.lockIfExhausted('erin', limits())).toBe(true);
    expect(a.lockIfExhausted('erin', limits())).toBe(false);
    expect(b.finishAttempt('erin', limits().now)).toBe(limits().lockUntil);
    expect(a.reserveAttempt('erin', limits(NOW + 899_000))).toMatchObject({ state: 'locked', newlyLocked: false });
    expect(a.reserveAttempt('erin', limits(NOW + 900_000))).toEqual({ state: 'counted', attempts: 1 });
  });

  it('gives back an attempt that proved nothing wrong, never below zero and never while locked', () => {
    const [a] = twoProcesses();
    a.reserveAttempt('finn', limits());
    a.releaseAttempt('finn');
    a.releaseAttempt('finn');
    for (let i = 0; i < 5; i++) expect(a.reserveAttempt('finn', limits()).state).toBe('counted');
    expect(a.reserveAttempt('finn', limits())).toMatchObject({ state: 'locked', newlyLocked: true });
    a.releaseAttempt('finn');
    expect(a.reserveAttempt('finn', limits())).toMatchObject({ state: 'locked', newlyLocked: false });
  });
});
