import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/crypto/secret-box.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError, errors } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import { globProblem } from '../../platform/glob.js';
import type { EventSink } from '../ledger/ledger.service.js';
import type { AgentPrincipal, Principal, UserPrincipal } from './auth.guard.js';
import { newUserRecord, type ApiKeyRecord, type AuthRepo, type SessionRecord, type UserPatch, type UserRecord } from './auth.repo.js';
import {
  API_KEY_PREFIX,
  checkTotp,
  hashSecret,
  isWellFormedSecret,
  newBearerSecret,
  newRecoveryCodes,
  newTotpSecret,
  normalizeRecoveryCode,
  SESSION_TOKEN_PREFIX,
  totpUri,
} from './credentials.js';
import type { PasswordHasher } from './password.js';
import { passwordProblems } from './password-rule.js';
import type { HumanRole } from './roles.js';

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

/** What an OIDC login tells about the user (from the validated ID token). */
export interface OidcLogin {
  subject: string;
  email?: string | undefined;
  emailVerified: boolean;
  preferredUsername?: string | undefined;
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

/** The login name as compared: NFKC, lower case, trimmed. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

function weakPassword(problems: string[], field = 'password'): AppError {
  return errors.validation(
    'The password does not meet the password rule',
    problems.map((message) => ({ in: 'body', field, message, code: 'password_rule' })),
  );
}

const invalidCredentials = () => new AppError(401, 'INVALID_CREDENTIALS', 'Invalid username or password');

/**
 * Principals and their credentials: users with argon2id passwords, sessions, lockout, TOTP MFA with
 * recovery codes, agent API keys. Every security event is appended to the ledger; no secret, password
 * or code ever is (usernames of failed logins appear only as SHA-256).
 */
export class AuthService {
  private readonly repo: AuthRepo;
  private readonly events: EventSink;
  private readonly clock: Clock;
  private readonly ids: IdFactory;
  private readonly hasher: PasswordHasher;
  private readonly secrets: SecretBox;
  private readonly settings: AuthSettings;
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
      await this.repo.insertUser(user);
    } catch (err) {
      // Two creations of one name at once: the database's unique index decides; answer as above.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new AppError(409, 'USERNAME_TAKEN', `A user named '${input.username}' already exists`);
      }
      throw err;
    }
    await this.events.append('user_created', { user_id: user.userId, role: user.role, by, via });
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
    if (Object.keys(patch).length > 0) await this.repo.updateUser(userId, patch, at);
    if (summary.mfa_reset) await this.repo.disableMfa(userId, at);
    const endsSessions = summary.role || summary.disabled === true || summary.password_reset || summary.mfa_reset;
    const revoked = endsSessions ? await this.repo.revokeUserSessions(userId, at, 'user_updated') : 0;
    await this.events.append('user_updated', { user_id: userId, by, changes: summary, sessions_revoked: revoked });
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
    await this.reauthenticate(user, currentPassword);
    const problems = passwordProblems(newPassword, user.username);
    if (newPassword === currentPassword) problems.push('must differ from the current password');
    if (problems.length > 0) throw weakPassword(problems, 'new_password');
    const at = this.now();
    await this.repo.updateUser(user.userId, { passwordHash: await this.hasher.hash(newPassword), passwordChangedAt: at }, at);
    const revoked = await this.repo.revokeUserSessions(user.userId, at, 'password_changed', principal.sessionId);
    await this.events.append('user_password_changed', { user_id: user.userId, by: user.userId, sessions_revoked: revoked });
  }

  /**
   * A signed-in user proves their password again before a sensitive change. Wrong answers count
   * toward the username's lockout like failed logins, so a stolen session cannot guess the password.
   * 403, not 401: the session itself is fine.
   */
  private async reauthenticate(user: UserRecord, password: string): Promise<void> {
    await this.assertNotLocked(user.usernameKey);
    if (user.passwordHash === null || !(await this.hasher.verify(user.passwordHash, password))) {
      await this.loginFailed(user.usernameKey, user, 'wrong_current_password');
      throw new AppError(403, 'WRONG_PASSWORD', 'The current password is wrong');
    }
  }

  // ---------------------------------------------------------------- login and sessions

  /**
   * Password login (with `totp`, a TOTP code or a recovery code, for users with MFA). Unknown users
   * and wrong passwords get the same answer in the same time; failures count per login name and lock
   * it for `lockoutS` after `maxFailures`.
   */
  async login(input: { username: string; password: string; totp?: string | undefined }): Promise<SessionGrant> {
    const key = usernameKey(input.username);
    const throttle = await this.assertNotLocked(key);
    const user = await this.repo.userByUsernameKey(key);
    const usable = user !== undefined && !user.disabled && user.passwordHash !== null;
    const passwordOk = usable
      ? await this.hasher.verify(user.passwordHash!, input.password)
      : await this.hasher.verify(await this.dummyHash, input.password).then(() => false);
    if (!passwordOk || !user) {
      await this.loginFailed(key, user, 'invalid_credentials');
      throw invalidCredentials();
    }

    let mfaUsed: 'totp' | 'recovery_code' | null = null;
    if (user.mfaEnabled) {
      if (input.totp === undefined || input.totp.trim() === '') {
        throw new AppError(401, 'MFA_REQUIRED', 'This account uses MFA: send a TOTP code or a recovery code as `totp`');
      }
      mfaUsed = await this.checkSecondFactor(user, input.totp.trim());
      if (mfaUsed === null) {
        await this.loginFailed(key, user, 'invalid_mfa_code');
        throw new AppError(401, 'INVALID_MFA_CODE', 'The TOTP or recovery code is wrong, expired or already used');
      }
    }

    if (throttle) await this.repo.clearThrottle(key);
    if (this.hasher.needsRehash(user.passwordHash!)) {
      await this.repo.updateUser(user.userId, { passwordHash: await this.hasher.hash(input.password) }, this.now());
    }
    return this.openSession(user, 'password', { mfa: mfaUsed });
  }

  /** 423 while the login name is locked; otherwise its throttle record, if any. */
  private async assertNotLocked(key: string) {
    const throttle = await this.repo.throttle(key);
    if (throttle?.lockedUntil && Date.parse(throttle.lockedUntil) > this.clock.now()) throw this.locked(throttle.lockedUntil);
    return throttle;
  }

  private locked(lockedUntil: string): AppError {
    const retryAfter = Math.max(1, Math.ceil((Date.parse(lockedUntil) - this.clock.now()) / 1000));
    return new AppError(
      423,
      'ACCOUNT_LOCKED',
      `Too many failed logins: try again in ${retryAfter} s`,
      { retry_after_s: retryAfter, locked_until: lockedUntil },
      { 'retry-after': String(retryAfter) },
    );
  }

  private async loginFailed(key: string, user: UserRecord | undefined, reason: string): Promise<void> {
    const { maxFailures, lockoutS } = this.settings.login;
    const nowMs = this.clock.now();
    const windowFloor = new Date(nowMs - lockoutS * 1000).toISOString();
    const failures = await this.repo.recordLoginFailure(key, this.now(), windowFloor);
    const lockedUntil = failures >= maxFailures ? this.inSeconds(lockoutS) : null;
    if (lockedUntil) await this.repo.lockLogin(key, this.now(), lockedUntil);
    const who = { username_sha256: sha256Hex(key), user_id: user?.userId ?? null };
    await this.events.append('auth_login_failed', { ...who, reason });
    if (lockedUntil) await this.events.append('auth_lockout', { ...who, failures, locked_until: lockedUntil });
  }

  /** Check a TOTP code (replay-protected) or consume a recovery code; which one worked, or null. */
  private async checkSecondFactor(user: UserRecord, code: string): Promise<'totp' | 'recovery_code' | null> {
    if (/^\d{6}$/.test(code)) {
      const secret = this.secrets.open(user.mfaSecret!, user.userId);
      const check = checkTotp(secret, code, this.clock.now(), user.mfaLastStep);
      if (!check.valid) return null;
      return (await this.repo.advanceMfaStep(user.userId, check.step)) ? 'totp' : null;
    }
    const used = await this.repo.useRecoveryCode(user.userId, hashSecret(normalizeRecoveryCode(code)), this.now());
    if (!used) return null;
    const remaining = await this.repo.unusedRecoveryCodes(user.userId);
    await this.events.append('auth_recovery_code_used', { user_id: user.userId, remaining });
    return 'recovery_code';
  }

  /** Open a session for a user who has just proven who they are. */
  async openSession(
    user: UserRecord,
    method: SessionRecord['method'],
    extra: Record<string, unknown> = {},
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
    await this.repo.insertSession(session);
    await this.events.append('auth_login_succeeded', {
      user_id: user.userId,
      session_id: session.sessionId,
      method,
      ...extra,
    });
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
    await this.repo.revokeSession(principal.sessionId, this.now(), 'logout');
    await this.events.append('auth_logout', { user_id: principal.userId, session_id: principal.sessionId });
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
    if (await this.repo.revokeSession(sessionId, this.now(), 'revoked')) {
      await this.events.append('auth_session_revoked', { user_id: session.userId, session_id: sessionId, by: principal.userId });
    }
  }

  // ---------------------------------------------------------------- OIDC

  /**
   * Sign in a user the OpenID Provider vouched for, with the role its claims map to. The first login
   * links the identity to the one local user with the same verified email, or creates a user (without
   * a password); later logins find the link. The mapped role is applied at every login (a change ends
   * the user's other sessions and is ledgered).
   */
  async loginWithOidc(provider: string, identity: OidcLogin, role: HumanRole): Promise<SessionGrant> {
    let user = await this.oidcUser(provider, identity, role);
    if (user.disabled) throw new AppError(403, 'ACCOUNT_DISABLED', 'This account is disabled');
    if (user.role !== role) user = await this.updateUser(user.userId, { role }, `oidc:${provider}`);
    return this.openSession(user, 'oidc', { provider });
  }

  private async oidcUser(provider: string, identity: OidcLogin, role: HumanRole): Promise<UserRecord> {
    const linked = await this.repo.oidcIdentity(provider, identity.subject);
    if (linked) return this.getUser(linked);
    const subjectHash = sha256Hex(`${provider}\n${identity.subject}`);
    const sameEmail = identity.emailVerified && identity.email ? await this.repo.userByEmail(identity.email) : [];
    if (sameEmail.length === 1) {
      const user = sameEmail[0]!;
      await this.repo.linkOidcIdentity(provider, identity.subject, user.userId, this.now());
      await this.events.append('auth_oidc_linked', { user_id: user.userId, provider, subject_sha256: subjectHash, created: false });
      return user;
    }
    const username = await this.freeUsername(identity.preferredUsername ?? identity.email?.split('@')[0] ?? `${provider}-user`);
    const user = newUserRecord({
      userId: this.ids.next('usr'),
      username,
      usernameKey: usernameKey(username),
      email: identity.emailVerified ? (identity.email ?? null) : null,
      role,
      passwordHash: null,
      at: this.now(),
    });
    await this.repo.insertOidcUser(user, provider, identity.subject);
    await this.events.append('user_created', { user_id: user.userId, role, by: `oidc:${provider}`, via: 'oidc' });
    await this.events.append('auth_oidc_linked', { user_id: user.userId, provider, subject_sha256: subjectHash, created: true });
    return user;
  }

  /** A username like `wanted` that no one has yet (`wanted-2`, `wanted-3`, … when taken). */
  private async freeUsername(wanted: string): Promise<string> {
    const base = wanted.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 56) || 'user';
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base.padEnd(3, '0') : `${base}-${n}`;
      if (!(await this.repo.userByUsernameKey(usernameKey(candidate)))) return candidate;
    }
  }

  // ---------------------------------------------------------------- MFA

  /** Start TOTP enrollment: a new secret (kept sealed until confirmed) and its otpauth URI. */
  async enrollMfa(principal: UserPrincipal): Promise<{ secret: string; otpauthUri: string }> {
    const user = await this.getUser(principal.userId);
    if (user.mfaEnabled) throw new AppError(409, 'MFA_ALREADY_ENABLED', 'MFA is already enabled; disable it first to re-enrol');
    const secret = newTotpSecret();
    await this.repo.updateUser(user.userId, { mfaPendingSecret: this.secrets.seal(secret, user.userId) }, this.now());
    return { secret, otpauthUri: totpUri(secret, user.username, this.settings.totpIssuer) };
  }

  /** Confirm enrollment with a current code: MFA is on, and the one-time recovery codes are shown once. */
  async confirmMfa(principal: UserPrincipal, code: string): Promise<string[]> {
    const user = await this.getUser(principal.userId);
    if (user.mfaEnabled) throw new AppError(409, 'MFA_ALREADY_ENABLED', 'MFA is already enabled');
    if (user.mfaPendingSecret === null) {
      throw new AppError(409, 'MFA_NOT_ENROLLING', 'Start with POST /auth/mfa/enroll');
    }
    const check = checkTotp(this.secrets.open(user.mfaPendingSecret, user.userId), code, this.clock.now(), null);
    if (!check.valid) throw new AppError(400, 'INVALID_MFA_CODE', 'The code does not match the enrolled secret');
    const codes = newRecoveryCodes();
    await this.repo.enableMfa(
      user.userId,
      user.mfaPendingSecret,
      check.step,
      codes.map((c) => hashSecret(normalizeRecoveryCode(c))),
      this.now(),
    );
    await this.events.append('auth_mfa_enrolled', { user_id: user.userId, recovery_codes: codes.length });
    return codes;
  }

  /** Turn MFA off: needs the password (when the user has one) and a current code or a recovery code. */
  async disableMfa(principal: UserPrincipal, input: { password?: string | undefined; code: string }): Promise<void> {
    const user = await this.getUser(principal.userId);
    if (!user.mfaEnabled) throw new AppError(409, 'MFA_NOT_ENABLED', 'MFA is not enabled');
    if (user.passwordHash !== null) await this.reauthenticate(user, input.password ?? '');
    if ((await this.checkSecondFactor(user, input.code.trim())) === null) {
      throw new AppError(401, 'INVALID_MFA_CODE', 'The TOTP or recovery code is wrong, expired or already used');
    }
    await this.repo.disableMfa(user.userId, this.now());
    await this.events.append('auth_mfa_disabled', { user_id: user.userId, by: user.userId });
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
    await this.repo.insertApiKey(key);
    await this.events.append('auth_api_key_created', {
      key_id: key.keyId,
      name: key.name,
      actor_pattern: key.actorPattern,
      role: key.role,
      by,
    });
    return { key, secret };
  }

  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]> {
    return this.repo.listApiKeys(afterId, limit);
  }

  /** Revoke a key: it fails from the next request on. Revoking a revoked key changes nothing. */
  async revokeApiKey(keyId: string, by: Actor): Promise<ApiKeyRecord> {
    const key = await this.repo.apiKeyById(keyId);
    if (!key) throw errors.notFound('API key', keyId);
    if (await this.repo.revokeApiKey(keyId, this.now(), by)) {
      await this.events.append('auth_api_key_revoked', { key_id: keyId, name: key.name, actor_pattern: key.actorPattern, by });
    }
    return (await this.repo.apiKeyById(keyId))!;
  }
}
