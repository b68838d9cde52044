import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/crypto/secret-box.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { globProblem } from '../../platform/glob.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { AgentPrincipal, Principal, UserPrincipal } from './auth.guard.js';
import { newUserRecord, type ApiKeyRecord, type AuthRepo, type SessionRecord, type UserPatch, type UserRecord } from './auth.repo.js';
import { API_KEY_PREFIX, hashSecret, isWellFormedSecret, newBearerSecret, SESSION_TOKEN_PREFIX } from './credentials.js';
import { commitWithEntries, isUniqueViolation, Recompute, Unchanged } from './ledgered-write.js';
import { LoginThrottle } from './login-throttle.js';
import { invalidMfaCode, Mfa } from './mfa.js';
import { OidcAccounts, type OidcLink, type OidcLogin } from './oidc.accounts.js';
import type { PasswordHasher } from './password.js';
import { passwordProblems } from './password-rule.js';
import type { HumanRole } from './roles.js';
import { usernameKey } from './username.js';

export type { OidcLink, OidcLogin } from './oidc.accounts.js';

export interface AuthSettings {
  session: { idleS: number; ttlS: number };
  login: { maxFailures: number; lockoutS: number };
  mfaRequiredRoles: readonly HumanRole[];
  /** Shown by authenticator apps next to the account. */
  totpIssuer: string;
}

export interface AuthServiceDeps {
  repo: AuthRepo;
  /** The ledger, for `user_*` and `auth_*` events (DESIGN §3). */
  events: EventSink;
  clock: Clock;
  ids: IdFactory;
  hasher: PasswordHasher;
  secrets: SecretBox;
  settings: AuthSettings;
}

/** A new session, as the login routes answer it. */
export interface SessionGrant {
  token: string;
  expiresAt: string;
  user: UserRecord;
  /** The session may only enrol in MFA (see {@link AuthService.sessionNeedsEnrollment}). */
  mfaEnrollmentRequired: boolean;
}

export interface NewUser {
  username: string;
  email?: string | undefined;
  password?: string | undefined;
  role: HumanRole;
}

export interface UserChanges {
  role?: HumanRole | undefined;
  disabled?: boolean | undefined;
  email?: string | null | undefined;
  password?: string | undefined;
  mfaReset?: boolean | undefined;
}

/** Who did something: a user id, or `system` for start-up and CLI work. */
export type Actor = string;

/** How far a session's last-seen time may lag before a request writes it again. */
const TOUCH_INTERVAL_MS = 60_000;

export { usernameKey } from './username.js';

function weakPassword(problems: string[], field = 'password'): AppError {
  return errors.validation(
    'The password does not meet the password rule',
    problems.map((message) => ({ in: 'body', field, message, code: 'password_rule' })),
  );
}

const invalidCredentials = () => new AppError(401, 'INVALID_CREDENTIALS', 'Invalid username or password');

/** The purpose of the keyed pseudonym of login names in the ledger (see SecretBox.mac). */
const LOGIN_NAME_MAC = 'login-name';

/**
 * Principals and their credentials: users with argon2id passwords, sessions, lockout, TOTP MFA with
 * recovery codes, agent API keys. Every security event is appended to the ledger, in the same
 * transaction as the write it records; no secret, password or code ever is (names of failed logins
 * appear only as an HMAC keyed with the server's secret, since they often are mistyped passwords).
 */
export class AuthService {
  private readonly repo: AuthRepo;
  private readonly events: EventSink;
  private readonly clock: Clock;
  private readonly ids: IdFactory;
  private readonly hasher: PasswordHasher;
  private readonly secrets: SecretBox;
  private readonly settings: AuthSettings;
  private readonly throttle: LoginThrottle;
  private readonly oidc: OidcAccounts;
  private readonly mfa: Mfa;
  /** Verified against when the user is unknown, so that both answers take the same time. */
  private readonly dummyHash: Promise<string>;

  constructor(deps: AuthServiceDeps) {
    this.repo = deps.repo;
    this.events = deps.events;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.hasher = deps.hasher;
    this.secrets = deps.secrets;
    this.settings = deps.settings;
    this.throttle = new LoginThrottle({
      repo: deps.repo,
      events: deps.events,
      clock: deps.clock,
      settings: deps.settings.login,
      nameMac: (key) => this.loginNameMac(key),
    });
    this.mfa = new Mfa({
      repo: deps.repo,
      events: deps.events,
      clock: deps.clock,
      secrets: deps.secrets,
      totpIssuer: deps.settings.totpIssuer,
      throttle: this.throttle,
      getUser: (userId) => this.getUser(userId),
      assertStillSignedIn: (principal) => this.assertStillSignedIn(principal),
      reauthenticate: (user, password) => this.reauthenticate(user, password),
    });
    this.oidc = new OidcAccounts({ repo: deps.repo, events: deps.events, clock: deps.clock, ids: deps.ids, users: this });
    // Made at construction, so that even the first unknown-user login costs one verification, no more.
    this.dummyHash = this.hasher.hash('lexecon-timing-equalizer');
  }

  /** The keyed, per-server-stable pseudonym of a login name (what the ledger shows of failed logins). */
  loginNameMac(key: string): string {
    return this.secrets.mac(LOGIN_NAME_MAC, key);
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

  // ---------------------------------------------------------------- users

  /** How many users exist (0 on a new installation: the server then says how to create the first admin). */
  userCount(): Promise<number> {
    return this.repo.countUsers();
  }

  /** Create the bootstrap admin when there are no users yet (DESIGN §7). Returns it, or undefined. */
  async bootstrap(admin: { username: string; password: string } | undefined): Promise<UserRecord | undefined> {
    if (!admin || (await this.repo.countUsers()) > 0) return undefined;
    return this.createUser({ ...admin, role: 'admin' }, 'system', 'bootstrap');
  }

  async createUser(input: NewUser, by: Actor, via: 'api' | 'bootstrap' | 'cli'): Promise<UserRecord> {
    if (input.password !== undefined) {
      const problems = passwordProblems(input.password, input.username);
      if (problems.length > 0) throw weakPassword(problems);
    }
    const key = usernameKey(input.username);
    if (await this.repo.userByUsernameKey(key)) {
      throw new AppError(409, 'USERNAME_TAKEN', `A user named '${input.username}' already exists`);
    }
    const user = newUserRecord({
      userId: this.ids.next('usr'),
      username: input.username,
      usernameKey: key,
      email: input.email ?? null,
      role: input.role,
      passwordHash: input.password === undefined ? null : await this.hasher.hash(input.password),
      at: this.now(),
    });
    try {
      await this.events.append(
        'user_created',
        { user_id: user.userId, role: user.role, by, via },
        { withEntries: () => this.repo.insertUser(user) },
      );
    } catch (err) {
      // Two creations of one name at once: the database's unique index decides; answer as above.
      if (isUniqueViolation(err)) throw new AppError(409, 'USERNAME_TAKEN', `A user named '${input.username}' already exists`);
      throw err;
    }
    return user;
  }

  async getUser(userId: string): Promise<UserRecord> {
    const user = await this.repo.userById(userId);
    if (!user) throw errors.notFound('User', userId);
    return user;
  }

  listUsers(afterId: string | undefined, limit: number): Promise<UserRecord[]> {
    return this.repo.listUsers(afterId, limit);
  }

  /**
   * Change a user as an admin: role, disabled, email, a password reset, an MFA reset. A change of role,
   * a disable, a password reset or an MFA reset ends the user's sessions. The last active admin cannot
   * be demoted or disabled.
   */
  async updateUser(userId: string, changes: UserChanges, by: Actor): Promise<UserRecord> {
    const user = await this.getUser(userId);
    const patch: UserPatch = {};
    const summary: Record<string, unknown> = {};
    if (changes.role !== undefined && changes.role !== user.role) {
      patch.role = changes.role;
      summary.role = { from: user.role, to: changes.role };
    }
    if (changes.disabled !== undefined && changes.disabled !== user.disabled) {
      patch.disabled = changes.disabled;
      summary.disabled = changes.disabled;
    }
    if (changes.email !== undefined && changes.email !== user.email) {
      patch.email = changes.email;
      summary.email_changed = true;
    }
    if (changes.password !== undefined) {
      const problems = passwordProblems(changes.password, user.username);
      if (problems.length > 0) throw weakPassword(problems);
      patch.passwordHash = await this.hasher.hash(changes.password);
      patch.passwordChangedAt = this.now();
      summary.password_reset = true;
    }
    if (changes.mfaReset === true && (user.mfaEnabled || user.mfaPendingSecret !== null)) {
      summary.mfa_reset = true;
    }
    const losesAdmin = user.role === 'admin' && !user.disabled && (patch.role !== undefined || patch.disabled === true);
    if (losesAdmin && (await this.activeAdmins()) <= 1) {
      throw new AppError(409, 'LAST_ADMIN', 'This is the last active admin: appoint another admin first');
    }
    if (Object.keys(summary).length === 0) return user;

    const at = this.now();
    const endsSessions = summary.role || summary.disabled === true || summary.password_reset || summary.mfa_reset;
    await commitWithEntries(this.events, () => {
      const revoked = endsSessions ? this.repo.liveSessionCount(userId) : 0;
      return {
        events: [{ eventType: 'user_updated', data: { user_id: userId, by, changes: summary, sessions_revoked: revoked } }],
        write: () => {
          if (Object.keys(patch).length > 0) this.repo.updateUser(userId, patch, at);
          if (summary.mfa_reset) this.repo.disableMfa(userId, at);
          if (endsSessions && this.repo.revokeUserSessions(userId, at, 'user_updated') !== revoked) throw new Recompute();
        },
      };
    });
    return this.getUser(userId);
  }

  private async activeAdmins(): Promise<number> {
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.repo.listUsers(after, 500);
      count += page.filter((u) => u.role === 'admin' && !u.disabled).length;
      if (page.length < 500) return count;
      after = page[page.length - 1]!.userId;
    }
  }

  /** A user changes their own password; their other sessions end. */
  async changePassword(principal: UserPrincipal, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.getUser(principal.userId);
    // The rule first (it needs no secret), so that a weak new password does not spend an attempt.
    const problems = passwordProblems(newPassword, user.username);
    if (newPassword === currentPassword) problems.push('must differ from the current password');
    if (problems.length > 0) throw weakPassword(problems, 'new_password');
    await this.reauthenticate(user, currentPassword);
    const passwordHash = await this.hasher.hash(newPassword);
    const at = this.now();
    await commitWithEntries(this.events, () => {
      const revoked = this.repo.liveSessionCount(user.userId, principal.sessionId);
      return {
        events: [{ eventType: 'user_password_changed', data: { user_id: user.userId, by: user.userId, sessions_revoked: revoked } }],
        write: () => {
          this.throttle.finish(user.usernameKey);
          this.assertStillSignedIn(principal);
          this.repo.updateUser(user.userId, { passwordHash, passwordChangedAt: at }, at);
          if (this.repo.revokeUserSessions(user.userId, at, 'password_changed', principal.sessionId) !== revoked) throw new Recompute();
        },
      };
    });
  }

  /**
   * Inside the transaction of a change made after a wait (a password or code verification): the
   * session and the user must still be live, or the change is refused like a revoked credential.
   */
  assertStillSignedIn(principal: UserPrincipal): void {
    if (!this.repo.sessionActive(principal.sessionId) || !this.repo.userActive(principal.userId)) {
      throw errors.unauthorized('The session ended or the account was disabled meanwhile');
    }
  }

  /**
   * A signed-in user proves their password again before a sensitive change. The attempt counts toward
   * the username's lockout before it is checked, like a login, so a stolen session cannot guess the
   * password (not even with concurrent requests). 403, not 401: the session itself is fine. The
   * caller ends the attempt with `throttle.finish` in the transaction of the change.
   */
  private async reauthenticate(user: UserRecord, password: string): Promise<void> {
    await this.throttle.begin(user.usernameKey);
    if (user.passwordHash === null || !(await this.hasher.verify(user.passwordHash, password))) {
      await this.throttle.failed(user.usernameKey, user, 'wrong_current_password');
      throw new AppError(403, 'WRONG_PASSWORD', 'The current password is wrong');
    }
  }

  // ---------------------------------------------------------------- login and sessions

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
        this.throttle.release(key);
        throw new AppError(401, 'MFA_REQUIRED', 'This account uses MFA: send a TOTP code or a recovery code as `totp`');
      }
      mfaUsed = await this.mfa.checkSecondFactor(user, input.totp.trim());
      if (mfaUsed === null) {
        await this.throttle.failed(key, user, 'invalid_mfa_code');
        throw invalidMfaCode();
      }
    }

    if (this.hasher.needsRehash(user.passwordHash!)) {
      this.repo.updateUser(user.userId, { passwordHash: await this.hasher.hash(input.password) }, this.now());
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
        withEntries: () => {
          if (attemptKey !== undefined) this.throttle.finish(attemptKey);
          // Disabled while the secret was being verified: no session (the same answer as for a disabled user).
          if (!this.repo.userActive(user.userId)) {
            throw method === 'password' ? invalidCredentials() : new AppError(403, 'ACCOUNT_DISABLED', 'This account is disabled');
          }
          this.repo.insertSession(session);
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
  async authenticate(credential: string): Promise<Principal | undefined> {
    if (!isWellFormedSecret(credential)) return undefined;
    const hash = hashSecret(credential);
    return credential.startsWith(API_KEY_PREFIX) ? this.authenticateKey(hash) : this.authenticateSession(hash);
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

  private async authenticateKey(keyHash: string): Promise<AgentPrincipal | undefined> {
    const key = await this.repo.apiKeyByHash(keyHash);
    if (!key || key.revokedAt !== null) return undefined;
    const nowMs = this.clock.now();
    if (key.lastUsedAt === null || nowMs - Date.parse(key.lastUsedAt) >= TOUCH_INTERVAL_MS) {
      await this.repo.touchApiKey(key.keyId, this.now());
    }
    return { kind: 'agent', keyId: key.keyId, name: key.name, role: key.role, actorPattern: key.actorPattern };
  }

  async logout(principal: UserPrincipal): Promise<void> {
    const at = this.now();
    await this.events.append(
      'auth_logout',
      { user_id: principal.userId, session_id: principal.sessionId },
      { withEntries: () => void this.repo.revokeSession(principal.sessionId, at, 'logout') },
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
          withEntries: () => {
            if (!this.repo.revokeSession(sessionId, at, 'revoked')) throw new Unchanged();
          },
        },
      );
    } catch (err) {
      if (!(err instanceof Unchanged)) throw err;
    }
  }

  // ---------------------------------------------------------------- OIDC (see OidcAccounts)

  /** Sign in a user the OpenID Provider vouched for (see {@link OidcAccounts.login}). */
  loginWithOidc(provider: string, identity: OidcLogin, role: HumanRole): Promise<SessionGrant> {
    return this.oidc.login(provider, identity, role);
  }

  /** An admin links an OIDC identity to an existing local account (see {@link OidcAccounts.link}). */
  linkOidcIdentity(userId: string, link: { provider: string; subject: string }, by: Actor): Promise<OidcLink> {
    return this.oidc.link(userId, link, by);
  }

  /** The OIDC identities linked to a user. */
  oidcLinks(userId: string): Promise<OidcLink[]> {
    return this.oidc.links(userId);
  }

  // ---------------------------------------------------------------- MFA (see Mfa)

  enrollMfa(principal: UserPrincipal): Promise<{ secret: string; otpauthUri: string }> {
    return this.mfa.enroll(principal);
  }

  confirmMfa(principal: UserPrincipal, code: string): Promise<string[]> {
    return this.mfa.confirm(principal, code);
  }

  disableMfa(principal: UserPrincipal, input: { password?: string | undefined; code: string }): Promise<void> {
    return this.mfa.disable(principal, input);
  }

  // ---------------------------------------------------------------- API keys

  /** Create an agent API key bound to an actor pattern; the secret is returned once and stored hashed. */
  async createApiKey(input: { name: string; actorPattern: string }, by: Actor): Promise<{ key: ApiKeyRecord; secret: string }> {
    const problem = globProblem(input.actorPattern);
    if (problem) {
      throw errors.validation('Invalid body', [{ in: 'body', field: 'actor_pattern', message: problem, code: 'glob' }]);
    }
    const secret = newBearerSecret(API_KEY_PREFIX);
    const key: ApiKeyRecord = {
      keyId: this.ids.next('key'),
      name: input.name,
      actorPattern: input.actorPattern,
      role: 'agent',
      keyHash: hashSecret(secret),
      keyPrefix: secret.slice(0, 12),
      createdBy: by,
      createdAt: this.now(),
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    await this.events.append(
      'auth_api_key_created',
      { key_id: key.keyId, name: key.name, actor_pattern: key.actorPattern, role: key.role, by },
      { withEntries: () => this.repo.insertApiKey(key) },
    );
    return { key, secret };
  }

  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]> {
    return this.repo.listApiKeys(afterId, limit);
  }

  /** Revoke a key: it fails from the next request on. Revoking a revoked key changes nothing. */
  async revokeApiKey(keyId: string, by: Actor): Promise<ApiKeyRecord> {
    const key = await this.repo.apiKeyById(keyId);
    if (!key) throw errors.notFound('API key', keyId);
    const at = this.now();
    try {
      await this.events.append(
        'auth_api_key_revoked',
        { key_id: keyId, name: key.name, actor_pattern: key.actorPattern, by },
        {
          withEntries: () => {
            if (!this.repo.revokeApiKey(keyId, at, by)) throw new Unchanged();
          },
        },
      );
    } catch (err) {
      if (!(err instanceof Unchanged)) throw err;
    }
    return (await this.repo.apiKeyById(keyId))!;
  }
}
