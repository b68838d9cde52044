import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/crypto/secret-box.js';
import type { Queryable } from '../../platform/db/port.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { ApiKeyCache } from './api-key-cache.js';
import type { Principal, UserPrincipal } from './auth.guard.js';
import { ApiKeys } from './auth.api-keys.js';
import { newUserRecord, type ApiKeyRecord, type AuthRepo, type SessionRecord, type UserPatch, type UserRecord } from './auth.repo.js';
import { AuthSessions } from './auth.sessions.js';
import { commitWithEntries, isUniqueViolation, ledgerTx, Recompute } from './ledgered-write.js';
import { LoginThrottle } from './login-throttle.js';
import { Mfa } from './mfa.js';
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
  /**
   * Live API keys by hash, in this process (see {@link ApiKeyCache}); default: none (every request
   * reads its key). The server attaches its cache to the notices of other replicas' revocations.
   */
  apiKeyCache?: ApiKeyCache;
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

export { usernameKey } from './username.js';

function weakPassword(problems: string[], field = 'password'): AppError {
  return errors.validation(
    'The password does not meet the password rule',
    problems.map((message) => ({ in: 'body', field, message, code: 'password_rule' })),
  );
}

const lastAdmin = () => new AppError(409, 'LAST_ADMIN', 'This is the last active admin: appoint another admin first');

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
  private readonly throttle: LoginThrottle;
  private readonly oidc: OidcAccounts;
  private readonly mfa: Mfa;
  private readonly sessions: AuthSessions;
  private readonly apiKeys: ApiKeys;

  constructor(deps: AuthServiceDeps) {
    this.repo = deps.repo;
    this.events = deps.events;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.hasher = deps.hasher;
    this.secrets = deps.secrets;
    const apiKeyCache = deps.apiKeyCache ?? new ApiKeyCache({ ttlMs: 0 });
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
      assertStillSignedIn: (principal, q) => this.assertStillSignedIn(principal, q),
      reauthenticate: (user, password) => this.reauthenticate(user, password),
    });
    this.oidc = new OidcAccounts({ repo: deps.repo, events: deps.events, clock: deps.clock, ids: deps.ids, users: this });
    this.sessions = new AuthSessions({
      repo: deps.repo,
      events: deps.events,
      clock: deps.clock,
      ids: deps.ids,
      hasher: deps.hasher,
      settings: deps.settings,
      throttle: this.throttle,
      mfa: this.mfa,
      apiKeyCache,
    });
    this.apiKeys = new ApiKeys({
      repo: deps.repo,
      events: deps.events,
      clock: deps.clock,
      ids: deps.ids,
      cache: apiKeyCache,
    });
  }

  /** The keyed, per-server-stable pseudonym of a login name (what the ledger shows of failed logins). */
  loginNameMac(key: string): string {
    return this.secrets.mac(LOGIN_NAME_MAC, key);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * Whether a session may only enrol in MFA: the user's role requires MFA and they have not enrolled.
   * OIDC sessions never are: the callback admits such roles only when the provider asserted MFA.
   */
  sessionNeedsEnrollment(user: Pick<UserRecord, 'role' | 'mfaEnabled'>, method: SessionRecord['method']): boolean {
    return this.sessions.sessionNeedsEnrollment(user, method);
  }

  // ---------------------------------------------------------------- users

  /** How many users exist (0 on a new installation: the server then says how to create the first admin). */
  userCount(): Promise<number> {
    return this.repo.countUsers();
  }

  /** Create the bootstrap admin when there are no users yet (DESIGN §7). Returns it, or undefined. */
  async bootstrap(admin: { username: string; password: string } | undefined): Promise<UserRecord | undefined> {
    if (!admin || (await this.repo.countUsers()) > 0) return undefined;
    try {
      return await this.createUser({ ...admin, role: 'admin' }, 'system', 'bootstrap');
    } catch (err) {
      // Replicas starting together on one database, all configured with the same first admin: one
      // creates it, the others find the name taken and start without creating anything.
      if (err instanceof AppError && err.code === 'USERNAME_TAKEN') return undefined;
      throw err;
    }
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
        { withEntries: (_entries, tx) => this.repo.insertUser(ledgerTx(tx), user) },
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
    if (losesAdmin && (await this.repo.activeAdminCount()) <= 1) throw lastAdmin();
    if (Object.keys(summary).length === 0) return user;

    const at = this.now();
    const endsSessions = summary.role || summary.disabled === true || summary.password_reset || summary.mfa_reset;
    await commitWithEntries(this.events, async () => {
      const revoked = endsSessions ? await this.repo.liveSessionCount(userId) : 0;
      return {
        events: [{ eventType: 'user_updated', data: { user_id: userId, by, changes: summary, sessions_revoked: revoked } }],
        write: async (tx) => {
          if (Object.keys(patch).length > 0) await this.repo.updateUser(tx, userId, patch, at);
          // Checked again in the change's transaction: two admins demoted at once each saw the other.
          if (losesAdmin && (await this.repo.activeAdminCount(tx)) === 0) throw lastAdmin();
          if (summary.mfa_reset) await this.repo.disableMfa(tx, userId, at);
          if (endsSessions && (await this.repo.revokeUserSessions(tx, userId, at, 'user_updated')) !== revoked) throw new Recompute();
        },
      };
    });
    return this.getUser(userId);
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
    await commitWithEntries(this.events, async () => {
      const revoked = await this.repo.liveSessionCount(user.userId, principal.sessionId);
      return {
        events: [{ eventType: 'user_password_changed', data: { user_id: user.userId, by: user.userId, sessions_revoked: revoked } }],
        write: async (tx) => {
          await this.throttle.finish(tx, user.usernameKey);
          await this.assertStillSignedIn(principal, tx);
          await this.repo.updateUser(tx, user.userId, { passwordHash, passwordChangedAt: at }, at);
          const ended = await this.repo.revokeUserSessions(tx, user.userId, at, 'password_changed', principal.sessionId);
          if (ended !== revoked) throw new Recompute();
        },
      };
    });
  }

  /**
   * Inside the transaction of a change made after a wait (a password or code verification): the
   * session and the user must still be live, or the change is refused like a revoked credential. `q` is
   * the change's transaction.
   */
  async assertStillSignedIn(principal: UserPrincipal, q: Queryable): Promise<void> {
    if (!(await this.repo.sessionActive(principal.sessionId, q)) || !(await this.repo.userActive(principal.userId, q))) {
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

  // ---------------------------------------------------------------- login and sessions (see AuthSessions)

  /** Password login, counted toward the name's lockout (see {@link AuthSessions.login}). */
  login(input: { username: string; password: string; totp?: string | undefined }): Promise<SessionGrant> {
    return this.sessions.login(input);
  }

  /** Open a session for a user who has just proven who they are (see {@link AuthSessions.openSession}). */
  openSession(
    user: UserRecord,
    method: SessionRecord['method'],
    extra: Record<string, unknown> = {},
    attemptKey?: string,
  ): Promise<SessionGrant> {
    return this.sessions.openSession(user, method, extra, attemptKey);
  }

  /** The principal behind a bearer credential, or undefined (see {@link AuthSessions.authenticate}). */
  authenticate(credential: string, opts?: { fresh?: boolean }): Promise<Principal | undefined> {
    return this.sessions.authenticate(credential, opts);
  }

  logout(principal: UserPrincipal): Promise<void> {
    return this.sessions.logout(principal);
  }

  /** The session a principal authenticated with. */
  currentSession(principal: UserPrincipal): Promise<SessionRecord> {
    return this.sessions.currentSession(principal);
  }

  /** The caller's latest 100 sessions, newest first (live and ended). */
  listSessions(principal: UserPrincipal): Promise<Array<SessionRecord & { live: boolean }>> {
    return this.sessions.listSessions(principal);
  }

  /** End one of the caller's sessions (an admin may end anyone's). */
  revokeSession(principal: UserPrincipal, sessionId: string): Promise<void> {
    return this.sessions.revokeSession(principal, sessionId);
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

  // ---------------------------------------------------------------- API keys (see ApiKeys)

  /** Create an agent API key bound to an actor pattern; the secret is returned once and stored hashed. */
  createApiKey(input: { name: string; actorPattern: string }, by: Actor): Promise<{ key: ApiKeyRecord; secret: string }> {
    return this.apiKeys.createApiKey(input, by);
  }

  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]> {
    return this.apiKeys.listApiKeys(afterId, limit);
  }

  /** Revoke a key: it fails from the next request on. Revoking a revoked key changes nothing. */
  revokeApiKey(keyId: string, by: Actor): Promise<ApiKeyRecord> {
    return this.apiKeys.revokeApiKey(keyId, by);
  }
}
