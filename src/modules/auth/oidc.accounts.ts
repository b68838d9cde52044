import type { Clock } from '../../platform/clock.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { AppError } from '../../platform/errors.js';
import type { IdFactory } from '../../platform/ids.js';
import type { EventSink } from '../ledger/ledger.service.js';
import { newUserRecord, type AuthRepo, type SessionRecord, type UserRecord } from './auth.repo.js';
import type { SessionGrant, UserChanges } from './auth.service.js';
import { usernameKey } from './username.js';
import { isUniqueViolation, ledgerTx } from './ledgered-write.js';
import type { HumanRole } from './roles.js';

/** What an OIDC login tells about the user (from the validated ID token). */
export interface OidcLogin {
  subject: string;
  email?: string | undefined;
  emailVerified: boolean;
  preferredUsername?: string | undefined;
}

/** An OIDC identity linked to a local user. */
export interface OidcLink {
  provider: string;
  subject: string;
  linkedAt: string;
}

/** How the ledger names an OIDC identity. */
const oidcSubjectHash = (provider: string, subject: string) => sha256Hex(`${provider}\n${subject}`);

export interface OidcAccountsDeps {
  repo: AuthRepo;
  events: EventSink;
  clock: Clock;
  ids: IdFactory;
  /** The user operations an OIDC login shares with password logins (the AuthService). */
  users: {
    getUser(userId: string): Promise<UserRecord>;
    updateUser(userId: string, changes: UserChanges, by: string): Promise<UserRecord>;
    openSession(user: UserRecord, method: SessionRecord['method'], extra?: Record<string, unknown>): Promise<SessionGrant>;
  };
}

/**
 * Local accounts of OIDC identities: found by their link (provider + subject), created at the first
 * login of an unknown identity, linked to an existing account only by an admin.
 */
export class OidcAccounts {
  constructor(private readonly deps: OidcAccountsDeps) {}

  private now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  /**
   * Sign in a user the OpenID Provider vouched for, with the role its claims map to. An identity is
   * found by its link (provider + subject); the first login of an unknown identity creates a user
   * (without a password). It never links itself to an existing local account: when a local account has
   * the identity's verified email, the login is refused (409 `OIDC_ACCOUNT_NOT_LINKED`) until an admin
   * links the identity to that account explicitly ({@link link}). The mapped role is applied
   * at every login of a linked identity (a change ends the user's other sessions and is ledgered).
   */
  async login(provider: string, identity: OidcLogin, role: HumanRole): Promise<SessionGrant> {
    let user = await this.oidcUser(provider, identity, role);
    if (user.disabled) throw new AppError(403, 'ACCOUNT_DISABLED', 'This account is disabled');
    if (user.role !== role) user = await this.deps.users.updateUser(user.userId, { role }, `oidc:${provider}`);
    return this.deps.users.openSession(user, 'oidc', { provider });
  }

  private async oidcUser(provider: string, identity: OidcLogin, role: HumanRole): Promise<UserRecord> {
    for (let attempt = 1; ; attempt++) {
      const linked = await this.deps.repo.oidcIdentity(provider, identity.subject);
      if (linked) return this.deps.users.getUser(linked);
      if (identity.emailVerified && identity.email && (await this.deps.repo.userByEmail(identity.email)).length > 0) {
        throw new AppError(
          409,
          'OIDC_ACCOUNT_NOT_LINKED',
          'A local account already has this email address; an admin must link this identity to it (POST /auth/users/{user_id}/oidc-links) before it can sign in',
        );
      }
      try {
        return await this.createOidcUser(provider, identity, role);
      } catch (err) {
        // A concurrent first login of the same identity, or a username taken meanwhile: look again.
        if (!isUniqueViolation(err) || attempt >= 3) throw err;
      }
    }
  }

  private async createOidcUser(provider: string, identity: OidcLogin, role: HumanRole): Promise<UserRecord> {
    const username = await this.freeUsername(identity.preferredUsername ?? identity.email?.split('@')[0] ?? `${provider}-user`);
    const user = newUserRecord({
      userId: this.deps.ids.next('usr'),
      username,
      usernameKey: usernameKey(username),
      email: identity.emailVerified ? (identity.email ?? null) : null,
      role,
      passwordHash: null,
      at: this.now(),
    });
    await this.deps.events.appendAll(
      [
        { eventType: 'user_created', data: { user_id: user.userId, role, by: `oidc:${provider}`, via: 'oidc' } },
        {
          eventType: 'auth_oidc_linked',
          data: { user_id: user.userId, provider, subject_sha256: oidcSubjectHash(provider, identity.subject), created: true, by: `oidc:${provider}` },
        },
      ],
      { withEntries: (_entries, tx) => this.deps.repo.insertOidcUser(ledgerTx(tx), user, provider, identity.subject) },
    );
    return user;
  }

  /**
   * Link an OIDC identity (provider + subject) to an existing local account: an admin's explicit act,
   * the only way an existing account gets an OIDC login. Its role is then the one the provider's claims
   * map to at each login. 409 when the identity is linked already.
   */
  async link(userId: string, link: { provider: string; subject: string }, by: string): Promise<OidcLink> {
    const user = await this.deps.users.getUser(userId);
    const at = this.now();
    try {
      await this.deps.events.append(
        'auth_oidc_linked',
        { user_id: user.userId, provider: link.provider, subject_sha256: oidcSubjectHash(link.provider, link.subject), created: false, by },
        { withEntries: (_entries, tx) => this.deps.repo.linkOidcIdentity(ledgerTx(tx), link.provider, link.subject, user.userId, at) },
      );
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError(409, 'OIDC_IDENTITY_LINKED', 'This OIDC identity is already linked to a user');
      }
      throw err;
    }
    return { provider: link.provider, subject: link.subject, linkedAt: at };
  }

  /** The OIDC identities linked to a user. */
  async links(userId: string): Promise<OidcLink[]> {
    await this.deps.users.getUser(userId);
    return this.deps.repo.oidcIdentitiesOf(userId);
  }

  /** A username like `wanted` that no one has yet (`wanted-2`, `wanted-3`, … when taken). */
  private async freeUsername(wanted: string): Promise<string> {
    const base = wanted.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 56) || 'user';
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base.padEnd(3, '0') : `${base}-${n}`;
      if (!(await this.deps.repo.userByUsernameKey(usernameKey(candidate)))) return candidate;
    }
  }
}
