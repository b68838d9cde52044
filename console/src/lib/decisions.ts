/**
 * The pure logic of the decisions, override and stop/resume screens (screens 3–5): the filter form
 * turned into `GET /decide`'s query, a capability token's status computed from what the API answers,
 * and the checks of an override's justification and expiry, of a stop's or resume's reason. The API
 * stays the authority: it checks again and its refusals are shown as they come.
 */

/** A decision's outcome, as the API names them (policy.model's OUTCOMES). */
export const OUTCOMES = ['approved', 'denied', 'escalated', 'conditional'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The API's page size for the decisions list (1–500 allowed). */
export const DECISIONS_PAGE = 50;

/** The override rules of the API (override.model: MIN_JUSTIFICATION, MAX_JUSTIFICATION, MAX_OVERRIDE_DAYS). */
export const JUSTIFICATION_MIN = 20;
export const JUSTIFICATION_MAX = 4000;
export const OVERRIDE_MAX_DAYS = 90;
/** A stop's or resume's reason: 1–2000 characters once trimmed (oversight.schemas). */
export const REASON_MAX = 2000;

export interface DecisionFilters {
  actor: string;
  outcome: string;
  /** `datetime-local` values (`2026-11-25T10:00`), in the viewer's time zone; empty: no bound. */
  since: string;
  until: string;
}

export const NO_FILTERS: DecisionFilters = { actor: '', outcome: '', since: '', until: '' };

export type QueryResult = { ok: true; query: Record<string, string> } | { ok: false; field: keyof DecisionFilters; message: string };

/**
 * A `datetime-local` value (read in the viewer's time zone) as an RFC 3339
 * UTC instant, or undefined when it is not a time.
 */
export function localToIso(value: string): string | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?$/.test(value)) return undefined;
  const ms = new Date(value).getTime(); // no offset: the browser reads it in the viewer's zone
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The filter form as `GET /decide`'s query (`actor` exact, `outcome`, `since` ≤ t < `until`, paging). */
export function decisionQuery(f: DecisionFilters, cursor?: string | null, limit = DECISIONS_PAGE): QueryResult {
  const query: Record<string, string> = { limit: String(limit) };
  const actor = f.actor.trim();
  if (actor.length > 255) return { ok: false, field: 'actor', message: 'An actor has at most 255 characters.' };
  if (actor) query.actor = actor;
  if (f.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(f.outcome)) return { ok: false, field: 'outcome', message: `Unknown outcome ${f.outcome}.` };
    query.outcome = f.outcome;
  }
  for (const field of ['since', 'until'] as const) {
    if (!f[field]) continue;
    const iso = localToIso(f[field]);
    if (!iso) return { ok: false, field, message: `"${field === 'since' ? 'From' : 'Before'}" is not a date and time.` };
    query[field] = iso;
  }
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    return { ok: false, field: 'until', message: '"Before" must be later than "From".' };
  }
  if (cursor) query.cursor = cursor;
  return { ok: true, query };
}

export type TokenStatus = 'none' | 'valid' | 'revoked' | 'expired' | 'invalid_by_stop' | 'undetermined';

/**
 * Where the token's issuing ledger entry stands: its seq when the ledger showed it (the first entry
 * naming the jti as `token_jti` or `token_issued`, as the server records it), else only a lower bound
 * (the decision's own entry: nothing issues a token before it).
 */
export type IssuingSeq = { exact: number } | { atLeast: number };

export interface LedgerEvidence {
  seq: number;
  data: Record<string, unknown>;
}

/** The issuing entry among the ledger entries read, or the highest lower bound known. */
export function issuingSeq(jti: string, entries: LedgerEvidence[], lowerBounds: number[]): IssuingSeq {
  let found: number | undefined;
  for (const e of entries) {
    if (e.data.token_jti === jti || e.data.token_issued === jti) found = found === undefined ? e.seq : Math.min(found, e.seq);
  }
  if (found !== undefined) return { exact: found };
  return { atLeast: Math.max(...lowerBounds) };
}

export interface TokenStatusInput {
  /**
   * The decision's `token` as GET /decide/:id answers it. Its `revoked` is true when the token was
   * revoked OR a stop invalidated it (the server folds both into it): the ledger tells which.
   */
  token: { jti: string; expires_at: string; revoked: boolean } | null;
  /** GET /api/governance/status `tokens_invalid_before`: the latest stop's entry seq, null if never stopped. */
  tokensInvalidBefore: number | null;
  issued: IssuingSeq;
  /**
   * Whether the ledger shows an explicit revocation of this jti (a `token_revoked` entry, or an entry
   * naming it as `token_revoked`): true, false (the whole range was read and none is there), or null
   * (not known: not read, or more than one page).
   */
  explicitRevocation: boolean | null;
  now: number;
}

export interface TokenStatusView {
  status: TokenStatus;
  label: string;
  detail: string;
}

/**
 * A capability token's status from what the API answers: the decision's `token`, the halt status and the
 * ledger. The server's own verification checks, in order, `revoked` (explicitly), `revoked_by_stop` (the
 * latest stop's entry follows the token's issuing entry: ledger order, never clocks), then `expired`; so
 * does this. When the evidence read cannot tell an explicit revocation from a stop, it says so
 * ("undetermined") rather than claim more than it knows.
 */
export function tokenStatus(i: TokenStatusInput): TokenStatusView {
  if (!i.token) return { status: 'none', label: 'No token', detail: 'No capability token was issued for this decision.' };
  const stop = i.tokensInvalidBefore;
  if (i.token.revoked) {
    if (i.explicitRevocation === true) return { status: 'revoked', label: 'Revoked', detail: 'The ledger records its revocation: it fails verification for good.' };
    const coveredByStop = stop !== null && 'exact' in i.issued && i.issued.exact < stop;
    // Not explicitly revoked (the ledger read in full says so), yet the API reports it revoked: a stop did it.
    if (stop !== null && (coveredByStop || i.explicitRevocation === false)) {
      const issued = 'exact' in i.issued ? `ledger entry #${i.issued.exact}` : 'its issuing entry';
      return {
        status: 'invalid_by_stop',
        label: 'Invalid by stop',
        detail: `Issued by ${issued}, before the stop at ledger entry #${stop}: it fails verification for good, even after a resume.`,
      };
    }
    // No stop covers it (never stopped, or the stop follows nothing before its issuing entry): revoked explicitly.
    if (stop === null || ('exact' in i.issued && i.issued.exact >= stop)) {
      return { status: 'revoked', label: 'Revoked', detail: 'No stop precedes its issuing entry, so it was revoked: it fails verification for good.' };
    }
    return {
      status: 'undetermined',
      label: 'Revoked or invalid by stop',
      detail: `The API reports it revoked; the ledger read here did not show whether by an explicit revocation or by the stop at entry #${stop}. Either way it fails verification for good.`,
    };
  }
  const exp = Date.parse(i.token.expires_at);
  if (!Number.isNaN(exp) && exp <= i.now) return { status: 'expired', label: 'Expired', detail: 'The token is past its expiry.' };
  return { status: 'valid', label: 'Valid', detail: 'Not revoked, not invalidated by a stop, not expired.' };
}

export interface CountedCheck {
  ok: boolean;
  /** Characters once trimmed, as the server counts them (UTF-16 code units, like zod's min). */
  length: number;
  message: string;
}

/** An override's (or a confirmation's, a rejection's) justification: 20–4000 characters once trimmed. */
export function checkJustification(value: string): CountedCheck {
  const length = value.trim().length;
  if (length < JUSTIFICATION_MIN) {
    const left = JUSTIFICATION_MIN - length;
    return { ok: false, length, message: `${length} of at least ${JUSTIFICATION_MIN} characters: ${left} more needed.` };
  }
  if (length > JUSTIFICATION_MAX) return { ok: false, length, message: `${length} characters: at most ${JUSTIFICATION_MAX}.` };
  return { ok: true, length, message: `${length} characters: enough (at least ${JUSTIFICATION_MIN}).` };
}

export type ExpiryResult = { ok: true; iso: string | undefined } | { ok: false; message: string };

/** An override's expiry (`datetime-local`, optional): in the future and at most 90 days ahead. */
export function checkExpiry(value: string, now: number): ExpiryResult {
  if (!value) return { ok: true, iso: undefined };
  const iso = localToIso(value);
  if (!iso) return { ok: false, message: 'The expiry is not a date and time.' };
  const ms = Date.parse(iso);
  if (ms <= now) return { ok: false, message: 'The expiry must be in the future.' };
  if (ms > now + OVERRIDE_MAX_DAYS * 86_400_000) return { ok: false, message: `The expiry is at most ${OVERRIDE_MAX_DAYS} days ahead.` };
  return { ok: true, iso };
}

/** A stop's or a resume's reason: required, at most 2000 characters once trimmed. */
export function checkReason(value: string): { ok: true } | { ok: false; message: string } {
  const v = value.trim();
  if (v.length === 0) return { ok: false, message: 'A reason is required: it is signed and ledgered with the intervention.' };
  if (v.length > REASON_MAX) return { ok: false, message: `A reason has at most ${REASON_MAX} characters (now ${v.length}).` };
  return { ok: true };
}

/** The outcomes an override may set: every outcome but the decision's current effective one. */
export function overrideTargets(effective: string): Outcome[] {
  return OUTCOMES.filter((o) => o !== effective);
}

/**
 * Whether the API will hold this override for a second person whatever the setting: turning an
 * effective denial (or an escalation an override made) into permission (API_REFERENCE, Overrides).
 * Only a hint for the form; the answer's `status` is what counts.
 */
export function alwaysTwoPerson(effective: string, target: string): boolean {
  return effective === 'denied' && (target === 'approved' || target === 'conditional');
}

export type ConditionsResult = { ok: true; conditions: string[] | undefined } | { ok: false; message: string };

/**
 * The obligations of an override to `conditional`, one per line (blank lines dropped): none typed
 * means the decision's own (the server refuses when it has none); else 1–32, each at most 256 characters.
 */
export function parseConditions(text: string): ConditionsResult {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return { ok: true, conditions: undefined };
  if (lines.length > 32) return { ok: false, message: `At most 32 conditions (now ${lines.length}).` };
  const long = lines.findIndex((l) => l.length > 256);
  if (long >= 0) return { ok: false, message: `Condition ${long + 1} is longer than 256 characters.` };
  return { ok: true, conditions: lines };
}
