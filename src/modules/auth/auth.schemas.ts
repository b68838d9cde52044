import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from './password-rule.js';
import type { ApiKeyRecord, SessionRecord, UserRecord } from './auth.repo.js';
import { HumanRoleSchema } from './roles.js';

const Password = z.string().min(1).max(MAX_PASSWORD_LENGTH * 4);

export const LoginBodySchema = z
  .object({
    username: z.string().min(1).max(128),
    password: Password,
    totp: z.string().max(64).optional().describe('A 6-digit TOTP code or a recovery code (users with MFA)'),
  })
  .strict();

export const UserSummarySchema = z.object({
  user_id: z.string(),
  username: z.string(),
  role: HumanRoleSchema,
  mfa_enabled: z.boolean(),
  mfa_enrollment_required: z
    .boolean()
    .describe('The role requires MFA and the user has not enrolled: the session may only enrol'),
});

export const SessionGrantSchema = z
  .object({
    token: z.string().describe('Bearer token (`lxs_…`); shown once, stored only as a hash'),
    expires_at: z.string().describe('Absolute expiry; an idle session expires earlier'),
    user: UserSummarySchema,
  })
  .meta({ id: 'SessionGrant' });

export const UserSchema = z
  .object({
    user_id: z.string(),
    username: z.string(),
    email: z.string().nullable(),
    role: HumanRoleSchema,
    disabled: z.boolean(),
    mfa_enabled: z.boolean(),
    password_login: z.boolean().describe('Whether the user has a password (OIDC-only users have none)'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'User' });

export const MeSchema = z
  .object({
    user: UserSummarySchema.extend({ email: z.string().nullable() }),
    session: z.object({ session_id: z.string(), method: z.enum(['password', 'oidc']), expires_at: z.string() }),
  })
  .meta({ id: 'Me' });

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$/;

export const CreateUserBodySchema = z
  .object({
    username: z
      .string()
      .regex(USERNAME_PATTERN, '3–64 characters: letters, digits, `.`, `_`, `@`, `-`, starting with a letter or digit'),
    email: z.email().max(254).optional(),
    password: Password,
    role: HumanRoleSchema,
  })
  .strict();

export const UpdateUserBodySchema = z
  .object({
    role: HumanRoleSchema.optional(),
    disabled: z.boolean().optional(),
    email: z.email().max(254).nullable().optional(),
    password: Password.optional().describe('Reset the password (ends the user’s sessions)'),
    mfa_reset: z.literal(true).optional().describe('Turn the user’s MFA off (lost device); they must enrol again'),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'send at least one field to change' });

export const UserParamsSchema = z.object({ user_id: z.string().min(1).max(64) });

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(128).optional().describe('next_cursor of the previous page'),
});

export const UserListSchema = z.object({ items: z.array(UserSchema), next_cursor: z.string().nullable() });

export const ChangePasswordBodySchema = z
  .object({ current_password: Password, new_password: Password })
  .strict();

export const SessionSchema = z
  .object({
    session_id: z.string(),
    method: z.enum(['password', 'oidc']),
    created_at: z.string(),
    last_seen_at: z.string(),
    expires_at: z.string(),
    revoked_at: z.string().nullable(),
    live: z.boolean(),
    current: z.boolean(),
  })
  .meta({ id: 'Session' });

export const SessionParamsSchema = z.object({ session_id: z.string().min(1).max(64) });

export const MfaEnrollSchema = z.object({
  secret: z.string().describe('Base32 TOTP secret, for manual entry'),
  otpauth_uri: z.string().describe('otpauth:// URI to show as a QR code'),
});

export const MfaConfirmBodySchema = z.object({ code: z.string().regex(/^\d{6}$/, 'must be 6 digits') }).strict();

export const MfaConfirmSchema = z.object({
  mfa_enabled: z.literal(true),
  recovery_codes: z.array(z.string()).describe('One-time codes for a lost device; shown once'),
});

export const MfaDisableBodySchema = z
  .object({
    password: Password.optional().describe('Required for users with a password'),
    code: z.string().min(1).max(64).describe('A current TOTP code or a recovery code'),
  })
  .strict();

export const CreateApiKeyBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    actor_pattern: z
      .string()
      .min(1)
      .max(255)
      .describe('Glob (`*` matches any run of characters) of the actors this key may decide for'),
    role: z.literal('agent').default('agent'),
  })
  .strict();

export const ApiKeySchema = z
  .object({
    key_id: z.string(),
    name: z.string(),
    actor_pattern: z.string(),
    role: z.literal('agent'),
    key_prefix: z.string().describe('The first characters of the key, to tell keys apart'),
    created_by: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    status: z.enum(['active', 'revoked']),
  })
  .meta({ id: 'ApiKey' });

export const CreatedApiKeySchema = ApiKeySchema.extend({
  api_key: z.string().describe('The secret (`lxk_…`): shown once, stored only as a hash'),
});

export const ApiKeyParamsSchema = z.object({ key_id: z.string().min(1).max(64) });
export const ApiKeyListSchema = z.object({ items: z.array(ApiKeySchema), next_cursor: z.string().nullable() });

export const OidcLinkBodySchema = z
  .object({
    provider: z.string().min(1).max(32).describe('The configured provider name (LEXECON_OIDC_PROVIDER), as in /auth/oidc/<name>/login'),
    subject: z.string().min(1).max(255).describe('The identity’s `sub` claim at that provider'),
  })
  .strict();

export const OidcLinkSchema = z
  .object({ user_id: z.string(), provider: z.string(), subject: z.string(), linked_at: z.string() })
  .meta({ id: 'OidcLink' });

export const OidcLinkListSchema = z.object({ items: z.array(OidcLinkSchema) });

export function toUserSummary(u: UserRecord, mfaEnrollmentRequired: boolean): z.infer<typeof UserSummarySchema> {
  return {
    user_id: u.userId,
    username: u.username,
    role: u.role,
    mfa_enabled: u.mfaEnabled,
    mfa_enrollment_required: mfaEnrollmentRequired,
  };
}

export function toUserDto(u: UserRecord): z.infer<typeof UserSchema> {
  return {
    user_id: u.userId,
    username: u.username,
    email: u.email,
    role: u.role,
    disabled: u.disabled,
    mfa_enabled: u.mfaEnabled,
    password_login: u.passwordHash !== null,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  };
}

export function toSessionDto(s: SessionRecord & { live: boolean }, currentId: string): z.infer<typeof SessionSchema> {
  return {
    session_id: s.sessionId,
    method: s.method,
    created_at: s.createdAt,
    last_seen_at: s.lastSeenAt,
    expires_at: s.expiresAt,
    revoked_at: s.revokedAt,
    live: s.live,
    current: s.sessionId === currentId,
  };
}

export function toApiKeyDto(k: ApiKeyRecord): z.infer<typeof ApiKeySchema> {
  return {
    key_id: k.keyId,
    name: k.name,
    actor_pattern: k.actorPattern,
    role: k.role,
    key_prefix: k.keyPrefix,
    created_by: k.createdBy,
    created_at: k.createdAt,
    last_used_at: k.lastUsedAt,
    revoked_at: k.revokedAt,
    status: k.revokedAt === null ? 'active' : 'revoked',
  };
}

/** Cursors over id-ordered lists: base64url of the last id returned. */
export function encodeIdCursor(id: string): string {
  return Buffer.from(`i:${id}`).toString('base64url');
}

export function decodeIdCursor(cursor: string): string | undefined {
  const m = /^i:([a-z]{3}_[0-9A-HJKMNP-TV-Z]{26})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m?.[1];
}
