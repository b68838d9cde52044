import { describe, expect, it } from 'vitest';
import { checkNotes, checkPassword, checkSecondFactor, checkTotpCode, checkUsername, NOTES_MAX } from './validate.js';

describe('sign-in checks', () => {
  it('requires a username and a password', () => {
    expect(checkUsername('  ')).toEqual({ ok: false, message: 'Enter your username.' });
    expect(checkUsername('alice')).toEqual({ ok: true });
    expect(checkUsername('a'.repeat(129)).ok).toBe(false);
    expect(checkPassword('')).toEqual({ ok: false, message: 'Enter your password.' });
    expect(checkPassword(' ')).toEqual({ ok: true }); // the API judges passwords
  });
  it('accepts a 6-digit code or a recovery code as a second factor', () => {
    expect(checkSecondFactor('123 456')).toEqual({ ok: true });
    expect(checkSecondFactor('ABCD-EFGH-JKMN-PQRS')).toEqual({ ok: true });
    expect(checkSecondFactor('12345')).toEqual({ ok: false, message: 'An authenticator code has 6 digits.' });
    expect(checkSecondFactor('')).toMatchObject({ ok: false });
    expect(checkSecondFactor('abc$')).toEqual({ ok: false, message: 'A code has only letters, digits and dashes.' });
    expect(checkSecondFactor('A'.repeat(65)).ok).toBe(false);
  });
  it('confirms enrolment with a TOTP code only', () => {
    expect(checkTotpCode('654321')).toEqual({ ok: true });
    expect(checkTotpCode('ABCD-EFGH-JKMN-PQRS').ok).toBe(false);
  });
});

describe('resolution notes', () => {
  it('are required and bounded, counted once trimmed', () => {
    expect(checkNotes('   ')).toMatchObject({ ok: false, message: expect.stringContaining('required') });
    expect(checkNotes(' checked the export scope ')).toEqual({ ok: true });
    expect(checkNotes(`  ${'x'.repeat(NOTES_MAX)}  `)).toEqual({ ok: true });
    expect(checkNotes('x'.repeat(NOTES_MAX + 1))).toEqual({ ok: false, message: `Notes have at most ${NOTES_MAX} characters (now ${NOTES_MAX + 1}).` });
  });
});
