import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserPrincipal } from '../../src/modules/auth/auth.guard.js';
import { AuthRepo } from '../../src/modules/auth/auth.repo.js';
import { AuthService } from '../../src/modules/auth/auth.service.js';
import { totpCode } from '../../src/modules/auth/credentials.js';
import type { PasswordHasher } from '../../src/modules/auth/password.js';
import type { EventSink } from '../../src/modules/ledger/ledger.service.js';
import { SecretBox } from '../../src/platform/crypto/secret-box.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { buildTestApp, FAST_HASHER, GOOD_PASSWORD, type TestApp } from '../helpers/build-test-app.js';

/** A hasher whose verifications wait until the test opens the gate (argon2 is the wait an attacker races). */
function gatedHasher() {
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  let entered!: () => void;
  let verifying = new Promise<void>((resolve) => (entered = resolve));
  const hasher: PasswordHasher = {
    hash: (p) => FAST_HASHER.hash(p),
    verify: async (h, p) => {
      entered();
      await gate;
      return FAST_HASHER.verify(h, p);
    },
    needsRehash: (h) => FAST_HASHER.needsRehash(h),
  };
  return {
    hasher,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((resolve) => (open = resolve));
      verifying = new Promise<void>((resolve) => (entered = resolve));
    },
    /** Resolves once a verification has started (and waits at the gate). */
    verifying: () => verifying,
  };
}

let t: TestApp;
beforeEach(async () => {
  t = await buildTestApp();
});
afterEach(() => t.app.close());

async function setup(events: EventSink = t.services.ledger) {
  const gate = gatedHasher();
  gate.open();
  const repo = new AuthRepo(t.services.port);
  const auth = new AuthService({
    repo,
    events,
    clock: t.clock,
    ids: createIdFactory(t.clock),
    hasher: gate.hasher,
    secrets: SecretBox.fromKey(randomBytes(32)),
    settings: {
      session: { idleS: 1800, ttlS: 43_200 },
      login: { maxFailures: 5, lockoutS: 900 },
      mfaRequiredRoles: [],
      totpIssuer: 'Lexecon',
    },
  });
  const user = await auth.createUser({ username: 'wait-user', password: GOOD_PASSWORD, role: 'auditor' }, 'system', 'cli');
  const grant = await auth.login({ username: 'wait-user', password: GOOD_PASSWORD });
  const principal = (await auth.authenticate(grant.token)) as UserPrincipal;
  await t.services.ledger.drain();
  gate.close();
  return { auth, repo, user, principal, gate };
}

describe('authorization is checked again after the verification wait', () => {
  it('a password change whose session is revoked while the current password is verified is refused, nothing changed', async () => {
    const { auth, repo, user, principal, gate } = await setup();
    const hashBefore = (await repo.userById(user.userId))!.passwordHash;
    const change = auth.changePassword(principal, GOOD_PASSWORD, 'amber-falcon-93-quarry');
    await gate.verifying();
    await repo.revokeSession(t.services.port, principal.sessionId, new Date(t.clock.now()).toISOString(), 'revoked');
    gate.open();
    await expect(change).rejects.toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    expect((await repo.userById(user.userId))!.passwordHash).toBe(hashBefore);
    expect(await t.services.ledger.listEntries({ eventType: 'user_password_changed', limit: 10 })).toEqual([]);
  });

  it('a login of a user disabled while the password is verified opens no session', async () => {
    const { auth, repo, user, gate } = await setup();
    const sessions = () => t.db.prepare('SELECT count(*) FROM sessions WHERE user_id = ?').pluck().get(user.userId);
    const before = sessions();
    const login = auth.login({ username: 'wait-user', password: GOOD_PASSWORD });
    await gate.verifying();
    await repo.updateUser(t.services.port, user.userId, { disabled: true }, new Date(t.clock.now()).toISOString());
    gate.open();
    await expect(login).rejects.toMatchObject({ statusCode: 401, code: 'INVALID_CREDENTIALS' });
    expect(sessions()).toBe(before);
  });

  it('an MFA confirmation whose session is revoked while it waits for the database is refused, MFA stays off', async () => {
    // An event sink that lets the revocation in between the confirmation's checks and its transaction.
    let beforeAppend: (() => Promise<void>) | undefined;
    const ledger = t.services.ledger;
    const events: EventSink = {
      append: async (type, data, options) => {
        const run = beforeAppend;
        beforeAppend = undefined;
        await run?.();
        return ledger.append(type, data, options);
      },
      appendAll: (evs, options) => ledger.appendAll(evs, options),
    };
    const { auth, repo, user, principal } = await setup(events);
    const { secret } = await auth.enrollMfa(principal);
    beforeAppend = async () => {
      await repo.revokeSession(t.services.port, principal.sessionId, new Date(t.clock.now()).toISOString(), 'revoked');
    };
    await expect(auth.confirmMfa(principal, totpCode(secret, t.clock.now()))).rejects.toMatchObject({ statusCode: 401 });
    expect((await repo.userById(user.userId))!.mfaEnabled).toBe(false);
    expect(await ledger.listEntries({ eventType: 'auth_mfa_enrolled', limit: 10 })).toEqual([]);
  });
});
