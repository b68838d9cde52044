import { dictionary } from '@zxcvbn-ts/language-common';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

/**
 * The password rule: at least 12 characters (code points), at most 256, not a common password (also
 * after stripping trailing digits and symbols, so `sunshine!!!!` is refused), and not containing the
 * username. Returns every problem; an empty list means the password is acceptable.
 */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) problems.push(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  const stem = lower.replace(/[\d\W_]+$/u, '');
  if (COMMON.has(lower) || (stem.length >= 6 && COMMON.has(stem))) problems.push('is a commonly used password');
  const name = username.trim().toLowerCase();
  if (name.length > 0 && lower.includes(name)) problems.push('must not contain the username');
  return problems;
}
