import type { Clock } from '../../platform/clock.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { ApiKeyCache, CachedApiKey } from './api-key-cache.js';
import type { AgentPrincipal, Principal, UserPrincipal } from './auth.guard.js';
import type { AuthRepo, SessionRecord, UserRecord } from './auth.repo.js';
import type { AuthSettings, SessionGrant } from './auth.service.js';
import { API_KEY_PREFIX, hashSecret, isWellFormedSecret, newBearerSecret, SESSION_TOKEN_PREFIX } from './credentials.js';
import { ledgerTx, Unchanged } from './ledgered-write.js';
import type { LoginThrottle } from './login-throttle.js';
import { invalidMfaCode, type Mfa } from './mfa.js';
import type { PasswordHasher } from './password.js';
import { usernameKey } from './username.js';

/** How far a session's last-seen time may lag before a request writes it again. */
const TOUCH_INTERVAL_MS = 60_000;

const invalidCredentials = () => new AppError(401, 'INVALID_CREDENTIALS', 'Invalid username or password');

export interface AuthSessionsDeps {
  repo: AuthRepo;
  events: EventSink;
  clock: Clock;
  ids: IdFactory;
  hasher: PasswordHasher;
  settings: Pick<AuthSettings, 'session' | 'mfaRequiredRoles'>;
  throttle: LoginThrottle;
  mfa: Mfa;
  /** Live API keys by hash (see {@link ApiKeyCache}); revocations evict from it. */
  apiKeyCache: ApiKeyCache;
}

/**
 * Login and sessions: password login (with the second factor), opening a session, the principal behind
 * a bearer credential (a session token or an agent API key), logout, and listing and ending sessions.
 */
export class AuthSessions {
  private readonly repo: AuthRepo;
  private readonly events: EventSink;
  private readonly clock: Clock;
  private readonly ids: IdFactory;
  private readonly hasher: PasswordHasher;
  private readonly settings: Pick<AuthSettings, 'session' | 'mfaRequiredRoles'>;
  private readonly throttle: LoginThrottle;
  private readonly mfa: Mfa;
  private readonly keyCache: ApiKeyCache;
  /** Verified against when the user is unknown, so that both answers take the same time. */
  private readonly dummyHash: Promise<string>;

  constructor(deps: AuthSessionsDeps) {
    this.repo = deps.repo;
    this.events = deps.events;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.hasher = deps.hasher;
    this.settings = deps.settings;
    this.throttle = deps.throttle;
    this.mfa = deps.mfa;
    this.keyCache = deps.apiKeyCache;
    // Made at construction, so that even the first unknown-user login costs one verification, no more.
    this.dummyHash = this.hasher.hash('lexecon-timing-equalizer');
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private inSeconds(s: number): string {
    return new Date(this.clock.now() + s * 1000).toISOString();
  }

  /**
   * Whether a session may only enrol in MFA: the user's role requires MFA and they have not enrolled.
   * OIDC sessions never are: the callback admits such roles only when the provider asserted MFA.
   */
  sessionNeedsEnrollment(user: Pick<UserRecord, 'role' | 'mfaEnabled'>, method: SessionRecord['method']): boolean {
    return method === 'password' && this.settings.mfaRequiredRoles.includes(user.role) && !user.mfaEnabled;
  }

  /**
   * Password login (with `totp`, a TOTP code or a recovery code, for users with MFA). Unknown users
   * and wrong passwords get the same answer in the same time; attempts count per login name before
   * they are checked and lock it for `lockoutS` after `maxFailures` (see {@link LoginThrottle}).
   */
  async login(input: { username: string; password: string; totp?: string | undefined }): Promise<SessionGrant> {
    const key = usernameKey(input.username);
    await this.throttle.begin(key);
    const user = await this.repo.userByUsernameKey(key);
    const usable = user !== undefined && !user.disabled && user.passwordHash !== null;
    const passwordOk = usable
      ? await this.hasher.verify(user.passwordHash!, input.password)
      : await this.hasher.verify(await this.dummyHash, input.password).then(() => false);
    if (!passwordOk || !user) {
      await this.throttle.failed(key, user, 'invalid_credentials');
      throw invalidCredentials();
    }

    let mfaUsed: 'totp' | 'recovery_code' | null = null;
    if (user.mfaEnabled) {
      if (input.totp === undefined || input.totp.trim() === '') {
        // The password was right: this attempt proved nothing wrong, so it does not count.
        await this.throttle.release(key);
        throw new AppError(401, 'MFA_REQUIRED', 'This account uses MFA: send a TOTP code or a recovery code as `totp`');
      }
      mfaUsed = await this.mfa.checkSecondFactor(user, input.totp.trim());
      if (mfaUsed === null) {
        await this.throttle.failed(key, user, 'invalid_mfa_code');
        throw invalidMfaCode();
      }
    }

    if (this.hasher.needsRehash(user.passwordHash!)) {
      await this.repo.patchUser(user.userId, { passwordHash: await this.hasher.hash(input.password) }, this.now());
    }
    return this.openSession(user, 'password', { mfa: mfaUsed }, key);
  }

  /**
   * Open a session for a user who has just proven who they are. With `attemptKey` (a counted login
   * attempt), the lock is checked again and the count cleared in the transaction that inserts the
   * session: failures that locked the name while this attempt was being verified win.
   */
  async openSession(
    user: UserRecord,
    method: SessionRecord['method'],
    extra: Record<string, unknown> = {},
    attemptKey?: string,
  ): Promise<SessionGrant> {
    const token = newBearerSecret(SESSION_TOKEN_PREFIX);
    const at = this.now();
    const session: SessionRecord = {
      sessionId: this.ids.next('ses'),
      tokenHash: hashSecret(token),
      userId: user.userId,
      method,
      createdAt: at,
      lastSeenAt: at,
      expiresAt: this.inSeconds(this.settings.session.ttlS),
      revokedAt: null,
      revokedReason: null,
    };
    await this.events.append(
      'auth_login_succeeded',
      { user_id: user.userId, session_id: session.sessionId, method, ...extra },
      {
        withEntries: async (_entries, hookTx) => {
          const tx = ledgerTx(hookTx);
          if (attemptKey !== undefined) await this.throttle.finish(tx, attemptKey);
          // Disabled while the secret was being verified: no session (the same answer as for a disabled user).
          if (!(await this.repo.userActive(user.userId, tx))) {
            throw method === 'password' ? invalidCredentials() : new AppError(403, 'ACCOUNT_DISABLED', 'This account is disabled');
          }
          await this.repo.insertSession(tx, session);
        },
      },
    );
    return { token, expiresAt: session.expiresAt, user, mfaEnrollmentRequired: this.sessionNeedsEnrollment(user, method) };
  }

  /**
   * The principal behind a bearer credential, or undefined when it is malformed, unknown, expired,
   * revoked or belongs to a disabled user.
   * NOTE: credentials are found by the SHA-256 of the presented value, so a lookup leaks nothing
   * about stored secrets through timing; nothing compares secrets byte by byte.
   */
  async authenticate(credential: string, opts?: { fresh?: boolean }): Promise<Principal | undefined> {
    if (!isWellFormedSecret(credential)) return undefined;
    const hash = hashSecret(credential);
    return credential.startsWith(API_KEY_PREFIX) ? this.authenticateKey(hash, opts?.fresh === true) : this.authenticateSession(hash);
  }

  private async authenticateSession(tokenHash: string): Promise<UserPrincipal | undefined> {
    const session = await this.repo.sessionByTokenHash(tokenHash);
    if (!session || !this.sessionLive(session)) return undefined;
    const user = await this.repo.userById(session.userId);
    if (!user || user.disabled) return undefined;
    const nowMs = this.clock.now();
    if (nowMs - Date.parse(session.lastSeenAt) >= TOUCH_INTERVAL_MS) await this.repo.touchSession(session.sessionId, this.now());
    return {
      kind: 'user',
      userId: user.userId,
      username: user.username,
      role: user.role,
      sessionId: session.sessionId,
      mfaEnabled: user.mfaEnabled,
      mfaEnrollmentRequired: this.sessionNeedsEnrollment(user, session.method),
    };
  }

  private sessionLive(session: SessionRecord): boolean {
    const nowMs = this.clock.now();
    return (
      session.revokedAt === null &&
      nowMs < Date.parse(session.expiresAt) &&
      nowMs < Date.parse(session.lastSeenAt) + this.settings.session.idleS * 1000
    );
  }

  /**
   * An agent's key: from the key cache when it holds it (a key revoked in this process is evicted when
   * the revocation commits; on other replicas by its notice, at most the cache's TTL later), else read.
   * Only a live key is cached; its last-used time is written at most once per TOUCH_INTERVAL_MS.
   * `fresh`: read it whatever the cache holds (and forget it when it is revoked).
   */
  private async authenticateKey(keyHash: string, fresh: boolean): Promise<AgentPrincipal | undefined> {
    let key = fresh ? undefined : this.keyCache.get(keyHash);
    if (key === undefined) {
      const epoch = this.keyCache.begin();
      const row = await this.repo.apiKeyByHash(keyHash);
      if (!row || row.revokedAt !== null) {
        // Only a fresh read can find revoked a key the cache holds (any other read missed the cache).
        if (row && fresh) this.keyCache.evictKey(row.keyId);
        return undefined;
      }
      key = {
        keyId: row.keyId,
        name: row.name,
        role: row.role,
        actorPattern: row.actorPattern,
        lastUsedAtMs: row.lastUsedAt === null ? null : Date.parse(row.lastUsedAt),
      };
      this.keyCache.put(keyHash, key, epoch);
    }
    await this.touchKey(key);
    return { kind: 'agent', keyId: key.keyId, name: key.name, role: key.role, actorPattern: key.actorPattern };
  }

  private async touchKey(key: CachedApiKey): Promise<void> {
    const nowMs = this.clock.now();
    if (key.lastUsedAtMs !== null && nowMs - key.lastUsedAtMs < TOUCH_INTERVAL_MS) return;
    // Noted before the write, so that the requests arriving meanwhile do not write it too.
    key.lastUsedAtMs = nowMs;
    await this.repo.touchApiKey(key.keyId, new Date(nowMs).toISOString());
  }

  async logout(principal: UserPrincipal): Promise<void> {
    const at = this.now();
    await this.events.append(
      'auth_logout',
      { user_id: principal.userId, session_id: principal.sessionId },
      {
        withEntries: async (_entries, tx) => {
          await this.repo.revokeSession(ledgerTx(tx), principal.sessionId, at, 'logout');
        },
      },
    );
  }

  /** The session a principal authenticated with. */
  async currentSession(principal: UserPrincipal): Promise<SessionRecord> {
    const session = await this.repo.sessionById(principal.sessionId);
    if (!session) throw errors.notFound('Session', principal.sessionId);
    return session;
  }

  /** The caller's latest 100 sessions, newest first (live and ended). */
  async listSessions(principal: UserPrincipal): Promise<Array<SessionRecord & { live: boolean }>> {
    return (await this.repo.listSessions(principal.userId)).map((s) => ({ ...s, live: this.sessionLive(s) }));
  }

  /** End one of the caller's sessions (an admin may end anyone's). */
  async revokeSession(principal: UserPrincipal, sessionId: string): Promise<void> {
    const session = await this.repo.sessionById(sessionId);
    if (!session || (session.userId !== principal.userId && principal.role !== 'admin')) {
      throw errors.notFound('Session', sessionId);
    }
    const at = this.now();
    try {
      await this.events.append(
        'auth_session_revoked',
        { user_id: session.userId, session_id: sessionId, by: principal.userId },
        {
          withEntries: async (_entries, tx) => {
            if (!(await this.repo.revokeSession(ledgerTx(tx), sessionId, at, 'revoked'))) throw new Unchanged();
          },
        },
      );
    } catch (err) {
      if (!(err instanceof Unchanged)) throw err;
    }
  }
}
