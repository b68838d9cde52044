import { HUMAN_ROLES, isHumanRole, type HumanRole } from './roles.js';

/** One entry of an OIDC role map: a claim value and the Lexecon role it grants. */
export interface OidcRoleRule {
  value: string;
  role: HumanRole;
}

/** How to derive a Lexecon role from ID token claims. */
export interface OidcRoleRules {
  /** Claim name, or a dotted path into nested objects (e.g. `realm_access.roles`). */
  roleClaim: string;
  /** Rules in configuration order; the first whose value the claim contains wins. */
  roleMap: OidcRoleRule[];
  /** Role when no rule matches; `undefined` means the login is refused. */
  defaultRole?: HumanRole;
}

/**
 * Reads a claim by name or dotted path. An exact top-level key wins over the path reading, so
 * namespaced claims such as `https://example.com/roles` work as is.
 */
function readClaim(claims: Record<string, unknown>, claim: string): unknown {
  if (Object.hasOwn(claims, claim)) return claims[claim];
  let current: unknown = claims;
  for (const segment of claim.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The string values of a claim: a string is one value, an array contributes its string entries. */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return [];
}

/**
 * Maps ID token claims to a human role.
 *
 * The claim named by `rules.roleClaim` (a name or dotted path) may be a string or an array of
 * strings (other entries are ignored). The first entry of `rules.roleMap`, in configuration
 * order, whose value the claim contains (exact, case-sensitive) gives the role; with no match the
 * result is `rules.defaultRole`, which may be `undefined` (refuse the login).
 */
export function mapOidcRole(claims: Record<string, unknown>, rules: OidcRoleRules): HumanRole | undefined {
  const values = new Set(claimValues(readClaim(claims, rules.roleClaim)));
  const match = rules.roleMap.find((rule) => values.has(rule.value));
  return match ? match.role : rules.defaultRole;
}

/**
 * Parses the env format of a role map: comma-separated `value=role` entries, e.g.
 * `groupA=admin,group b=auditor`. Values and roles are trimmed; a value may contain spaces but
 * not `,` or `=`. Blank entries (e.g. a trailing comma) are ignored. Every malformed entry
 * (no `=`, several `=`, empty value, unknown role, repeated value) yields a problem and is left
 * out of the map.
 */
export function parseOidcRoleMap(raw: string): { map: OidcRoleRule[]; problems: string[] } {
  const map: OidcRoleRule[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of raw.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const parts = text.split('=');
    if (parts.length !== 2) {
      problems.push(`role map entry "${text}" must have the form value=role`);
      continue;
    }
    const value = (parts[0] ?? '').trim();
    const role = (parts[1] ?? '').trim();
    if (value === '') {
      problems.push(`role map entry "${text}" has an empty value`);
      continue;
    }
    if (!isHumanRole(role)) {
      problems.push(`role map entry "${text}" names unknown role "${role}" (expected one of ${HUMAN_ROLES.join(', ')})`);
      continue;
    }
    if (seen.has(value)) {
      problems.push(`role map entry "${text}" repeats value "${value}"; only its first entry can match`);
      continue;
    }
    seen.add(value);
    map.push({ value, role });
  }
  return { map, problems };
}
