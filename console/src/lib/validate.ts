/**
 * Form checks done before a request leaves the browser. They mirror the API's own rules (which stay
 * the authority: the API checks again and its errors are shown as they come).
 */

/** The API's limit on resolution notes (ESCALATION_LIMITS.notes). */
export const NOTES_MAX = 4000;

export type Check = { ok: true } | { ok: false; message: string };

const ok: Check = { ok: true };

export function checkUsername(value: string): Check {
  if (value.trim().length === 0) return { ok: false, message: 'Enter your username.' };
  if (value.length > 128) return { ok: false, message: 'A username has at most 128 characters.' };
  return ok;
}

export function checkPassword(value: string): Check {
  return value.length === 0 ? { ok: false, message: 'Enter your password.' } : ok;
}

/**
 * A sign-in second factor: a 6-digit TOTP code, or a recovery code (letters, digits and dashes, as
 * the API issues them). Spaces people type while copying are ignored.
 */
export function checkSecondFactor(value: string): Check {
  const v = normalizeCode(value);
  if (v.length === 0) return { ok: false, message: 'Enter the 6-digit code from your authenticator app, or a recovery code.' };
  if (v.length > 64) return { ok: false, message: 'That code is too long.' };
  if (/^\d+$/.test(v) && v.length !== 6) return { ok: false, message: 'An authenticator code has 6 digits.' };
  if (!/^[A-Za-z0-9-]+$/.test(v)) return { ok: false, message: 'A code has only letters, digits and dashes.' };
  return ok;
}

/** The enrolment confirmation takes a TOTP code only (not a recovery code). */
export function checkTotpCode(value: string): Check {
  return /^\d{6}$/.test(normalizeCode(value)) ? ok : { ok: false, message: 'Enter the 6 digits your authenticator app shows.' };
}

/** Spaces removed (people copy `123 456`). */
export function normalizeCode(value: string): string {
  return value.replace(/\s+/g, '');
}

/** Resolution notes: required (the why of the outcome), at most {@link NOTES_MAX} characters once trimmed. */
export function checkNotes(value: string): Check {
  const v = value.trim();
  if (v.length === 0) return { ok: false, message: 'Notes are required: say why you chose this outcome.' };
  if (v.length > NOTES_MAX) return { ok: false, message: `Notes have at most ${NOTES_MAX} characters (now ${v.length}).` };
  return ok;
}
