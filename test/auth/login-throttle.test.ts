import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { LoginThrottleRepo, type AttemptLimits } from '../../src/modules/auth/login-throttle.repo.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
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

const open: DbPort[] = [];
afterEach(async () => {
  for (const port of open.splice(0)) await port.close();
});

/** A throttle repository on its own connection (its port), with `finish` in a transaction of it. */
function throttleOn(port: DbPort) {
  const repo = new LoginThrottleRepo(port);
  return Object.assign(repo, {
    finish: (key: string, now: string) => port.transaction((tx) => repo.finishAttempt(tx, key, now)),
  });
}

/** Two connections to one database file, as two server processes sharing it would have. */
function twoProcesses() {
  const file = path.join(tempDir(), 'lexecon.db');
  const a = openDatabase(file);
  migrate(a, allMigrations);
  const ports = [createSqlitePort(a), createSqlitePort(openDatabase(file))] as const;
  open.push(...ports);
  return [throttleOn(ports[0]), throttleOn(ports[1])] as const;
}

describe('login attempts are counted in the database before verification (issue 14 B4)', () => {
  it('counts attempts from two connections as one: the limit holds across processes sharing the database', async () => {
    const [a, b] = twoProcesses();
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await (i % 2 === 0 ? a : b).reserveAttempt('dana', limits()));
    expect(answers.filter((r) => r.state === 'counted')).toHaveLength(5);
    expect(answers.slice(5).every((r) => r.state === 'locked')).toBe(true);
    // The attempt over the limit locks the name (once); later ones see the lock.
    expect(answers.filter((r) => r.state === 'locked' && r.newlyLocked)).toHaveLength(1);
  });

  it('a success clears the count unless a lock was set meanwhile; a lock ends after the lockout', async () => {
    const [a, b] = twoProcesses();
    for (let i = 0; i < 4; i++) await a.reserveAttempt('erin', limits());
    expect(await b.finish('erin', limits().now)).toBeUndefined();
    expect(await a.reserveAttempt('erin', limits())).toEqual({ state: 'counted', attempts: 1 });

    for (let i = 0; i < 4; i++) await a.reserveAttempt('erin', limits());
    expect(await b.lockIfExhausted('erin', limits())).toBe(true);
    expect(await a.lockIfExhausted('erin', limits())).toBe(false);
    expect(await b.finish('erin', limits().now)).toBe(limits().lockUntil);
    expect(await a.reserveAttempt('erin', limits(NOW + 899_000))).toMatchObject({ state: 'locked', newlyLocked: false });
    expect(await a.reserveAttempt('erin', limits(NOW + 900_000))).toEqual({ state: 'counted', attempts: 1 });
  });

  it('gives back an attempt that proved nothing wrong, never below zero and never while locked', async () => {
    const [a] = twoProcesses();
    await a.reserveAttempt('finn', limits());
    await a.releaseAttempt('finn');
    await a.releaseAttempt('finn');
    for (let i = 0; i < 5; i++) expect((await a.reserveAttempt('finn', limits())).state).toBe('counted');
    expect(await a.reserveAttempt('finn', limits())).toMatchObject({ state: 'locked', newlyLocked: true });
    await a.releaseAttempt('finn');
    expect(await a.reserveAttempt('finn', limits())).toMatchObject({ state: 'locked', newlyLocked: false });
  });
});
