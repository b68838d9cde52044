/**
 * Administration and policies: the checks a form makes before its request leaves the browser, and the
 * reading of the API's answers. They mirror the server's rules (src/modules/auth/password-rule.ts,
 * auth.schemas.ts, policy.routes.ts); the server stays the authority and its errors are shown as they come.
 */
import type { Check } from './validate.js';

/** The six human roles (POST /auth/users `role`), with what each may do (API_REFERENCE's role table). */
export const HUMAN_ROLE_CHOICES: ReadonlyArray<{ role: string; label: string }> = [
  { role: 'approver', label: 'approver: resolves the escalations assigned to them' },
  { role: 'executive', label: 'executive: overrides, stop / resume, resolves escalations' },
  { role: 'operator', label: 'operator: health, ledger verification, stop' },
  { role: 'auditor', label: 'auditor: reads everything, exports evidence' },
  { role: 'governance_lead', label: 'governance lead: loads policies, the system profile' },
  { role: 'admin', label: 'admin: everything, users and API keys' },
];

/** The server's password rule (src/modules/auth/password-rule.ts), shown beside the field. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;
export const PASSWORD_RULE_TEXT = `At least ${PASSWORD_MIN} characters (at most ${PASSWORD_MAX}), not a commonly used password (also with digits or symbols added at the end), and not containing the username. The server checks the list of common passwords.`;

/**
 * The parts of the password rule the browser can check without the server's list of common passwords:
 * length in code points and the username. Answers every problem in the server's own words.
 */
export function passwordRuleProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN) problems.push(`must be at least ${PASSWORD_MIN} characters`);
  if (length > PASSWORD_MAX) problems.push(`must be at most ${PASSWORD_MAX} characters`);
  const name = username.trim().toLowerCase();
  if (name.length > 0 && password.toLowerCase().includes(name)) problems.push('must not contain the username');
  return problems;
}

/** POST /auth/users' username rule (USERNAME_PATTERN): 3-64 of letters, digits, `.`, `_`, `@`, `-`, starting with a letter or digit. */
export function checkNewUsername(value: string): Check {
  if (value.length === 0) return { ok: false, message: 'Enter a username.' };
  if (value.length < 3 || value.length > 64) return { ok: false, message: 'A username has 3 to 64 characters.' };
  if (!/^[A-Za-z0-9]/.test(value)) return { ok: false, message: 'A username starts with a letter or a digit.' };
  if (!/^[A-Za-z0-9._@-]+$/.test(value)) return { ok: false, message: 'A username has only letters, digits, ".", "_", "@" and "-".' };
  return { ok: true };
}

/** An optional email: empty, or one `@` with text on both sides and a dot in the domain (the server checks fully). */
export function checkEmail(value: string): Check {
  const v = value.trim();
  if (v.length === 0) return { ok: true };
  if (v.length > 254) return { ok: false, message: 'An email address has at most 254 characters.' };
  const at = v.indexOf('@');
  if (at <= 0 || at !== v.lastIndexOf('@') || !v.slice(at + 1).includes('.') || /\s/.test(v)) return { ok: false, message: 'Enter an email address like dana@example.com, or leave it empty.' };
  return { ok: true };
}

/** POST /auth/api-keys: `name` 1-100 characters once trimmed. */
export function checkKeyName(value: string): Check {
  const v = value.trim();
  if (v.length === 0) return { ok: false, message: 'Name the key (the agent or system that will use it).' };
  if (v.length > 100) return { ok: false, message: `A key name has at most 100 characters (now ${v.length}).` };
  return { ok: true };
}

/** POST /auth/api-keys: `actor_pattern` 1-255 characters, a glob where `*` matches any run of characters. */
export function checkActorPattern(value: string): Check {
  if (value.length === 0) return { ok: false, message: 'Enter the actors this key may decide for, e.g. ai_agent:sales-*.' };
  if (value.length > 255) return { ok: false, message: `An actor pattern has at most 255 characters (now ${value.length}).` };
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || c === 0x7f) return { ok: false, message: 'An actor pattern has no control characters (tabs, new lines).' };
  }
  return { ok: true };
}

/**
 * Whether an actor matches a key's pattern, as the server decides it (src/platform/glob.ts): `*` any run
 * of characters, everything else literal; the literal pieces placed left to right at their first
 * occurrence, one forward pass, no backtracking and no RegExp built from input.
 */
export function actorMatches(pattern: string, actor: string): boolean {
  if (!pattern.includes('*')) return pattern === actor;
  const parts = pattern.split('*');
  const prefix = parts[0]!;
  const suffix = parts[parts.length - 1]!;
  if (actor.length < prefix.length + suffix.length || !actor.startsWith(prefix) || !actor.endsWith(suffix)) return false;
  const end = actor.length - suffix.length;
  let at = prefix.length;
  for (const piece of parts.slice(1, -1)) {
    if (piece.length === 0) continue;
    const found = actor.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The API's 400 `details` (`[{in, field, message, code}]`) grouped by body field, for showing each
 * beside its input. Entries without a field go under `''`.
 */
export function fieldProblems(details: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!Array.isArray(details)) return out;
  for (const d of details) {
    if (d === null || typeof d !== 'object') continue;
    const rec = d as Record<string, unknown>;
    const message = typeof rec.message === 'string' ? rec.message : null;
    if (message === null) continue;
    const field = typeof rec.field === 'string' ? rec.field : '';
    out.set(field, [...(out.get(field) ?? []), message]);
  }
  return out;
}

/** POST /policies/load's 400 `POLICY_INVALID` details (`[{path, message}]`) as a list; malformed entries skipped. */
export function policyProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  const out: FieldProblem[] = [];
  for (const d of details) {
    if (d === null || typeof d !== 'object') continue;
    const rec = d as Record<string, unknown>;
    if (typeof rec.message !== 'string') continue;
    const path = typeof rec.path === 'string' ? rec.path : typeof rec.field === 'string' ? rec.field : '';
    out.push({ field: path, message: rec.message });
  }
  return out;
}

/** The server's body limit for a policy (POST /policies/load: up to 10 MiB). */
export const POLICY_MAX_BYTES = 10 * 1024 * 1024;

export type PolicyText = { ok: true; document: Record<string, unknown> } | { ok: false; message: string };

/**
 * A policy document as chosen or pasted: JSON, an object (the server also accepts it wrapped as
 * `{"policy": {…}}`), within the size limit. The browser refuses only what it cannot send (not JSON,
 * not an object, too large); the policy's own rules and depth limit are the server's to check.
 */
export function readPolicyText(text: string): PolicyText {
  const bytes = new TextEncoder().encode(text).length;
  if (text.trim().length === 0) return { ok: false, message: 'Choose a policy file or paste a policy document.' };
  if (bytes > POLICY_MAX_BYTES) return { ok: false, message: `The document is ${(bytes / 1024 / 1024).toFixed(1)} MiB; the server takes at most 10 MiB.` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `This is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, message: 'A policy document is a JSON object ({"terms": […], "relations": […], …}).' };
  return { ok: true, document: parsed as Record<string, unknown> };
}

/** Data classes typed as a list separated by commas or new lines: trimmed, empty ones dropped, duplicates once. */
export function parseDataClasses(value: string): string[] {
  const seen = new Set<string>();
  for (const part of value.split(/[,\n]/)) {
    const v = part.trim();
    if (v.length > 0) seen.add(v);
  }
  return [...seen];
}

/** A user's state in words (colour is never the only signal). */
export function userState(u: { disabled: boolean; mfa_enabled: boolean; password_login: boolean }): string {
  const parts = [u.disabled ? 'disabled' : 'active', u.mfa_enabled ? 'two-factor on' : 'two-factor off'];
  if (!u.password_login) parts.push('single sign-on only');
  return parts.join(', ');
}

/**
 * People by username: a small in-memory cache of GET /auth/users/:id (admins only: no other role may
 * read users, so for them the console keeps showing ids). One request per id however many ask at once;
 * a failed look-up is remembered as unknown (the id is shown).
 */
export class UserNames {
  readonly #names = new Map<string, Promise<string | null>>();
  readonly #max: number;

  constructor(
    private readonly fetchName: (id: string) => Promise<string>,
    max = 500,
  ) {
    this.#max = max;
  }

  /** Remember a name the console already has (a list of users, a user just created). */
  remember(id: string, username: string): void {
    this.#names.delete(id);
    this.#names.set(id, Promise.resolve(username));
    this.#trim();
  }

  lookup(id: string): Promise<string | null> {
    const known = this.#names.get(id);
    if (known) return known;
    const p = this.fetchName(id).then(
      (n) => n,
      () => null,
    );
    this.#names.set(id, p);
    this.#trim();
    return p;
  }

  get size(): number {
    return this.#names.size;
  }

  #trim(): void {
    while (this.#names.size > this.#max) {
      const oldest = this.#names.keys().next().value as string;
      this.#names.delete(oldest);
    }
  }
}

/** Whether a string is a user id of this server (`usr_` + ULID) that the cache should look up. */
export function isUserId(value: string): boolean {
  return /^usr_[0-9A-Z]{26}$/.test(value);
}
