import { describe, expect, it } from 'vitest';
import { ANNEX_IV_ITEMS, emptyForm, fieldErrors, fieldOf, formFromProfile, toBody, type SystemProfile } from './profile.js';

const STORED: SystemProfile = {
  version: 2,
  profile_sha256: 'ab',
  updated_by: 'usr_1',
  updated_at: '2026-11-25T10:00:00.000Z',
  ledger_seq: 9,
  provider: 'Acme',
  system_name: 'CreditAssist',
  system_version: '3.2.0',
  intended_purpose: 'Assist loan officers',
  classification: 'annex_iii',
  deployment_forms: ['SaaS API', 'On premises'],
  annex_iv_inputs: {
    '1.f': { not_applicable_justification: 'Stand-alone software' },
    '8': { document_sha256: 'a'.repeat(64) },
    '2.b': { text: 'Design', document_sha256: 'b'.repeat(64) },
  },
};

describe('system profile form', () => {
  it('lists the 23 Annex IV items in document order', () => {
    expect(ANNEX_IV_ITEMS.map((i) => i.key).join(' ')).toBe('1.a 1.b 1.c 1.d 1.e 1.f 1.g 1.h 2.a 2.b 2.c 2.d 2.e 2.f 2.g 2.h 3 4 5 6 7 8 9');
  });

  it('round-trips a stored profile through the form to the same body', () => {
    const body = toBody(formFromProfile(STORED), STORED);
    expect(body).toEqual({
      provider: 'Acme',
      system_name: 'CreditAssist',
      system_version: '3.2.0',
      intended_purpose: 'Assist loan officers',
      classification: 'annex_iii',
      deployment_forms: ['SaaS API', 'On premises'],
      annex_iv_inputs: STORED.annex_iv_inputs,
    });
  });

  it('drops the document hash of an item whose text was edited, empty deployment lines and unset items', () => {
    const f = formFromProfile(STORED);
    f.annex['2.b'] = { mode: 'text', value: 'New design' };
    f.annex['8'] = { mode: 'none', value: 'ignored' };
    f.deployment_forms = '\n SaaS API \n\n';
    const body = toBody(f, STORED);
    expect(body.annex_iv_inputs).toEqual({ '1.f': { not_applicable_justification: 'Stand-alone software' }, '2.b': { text: 'New design' } });
    expect(body.deployment_forms).toEqual(['SaaS API']);
  });

  it('an empty form gives an empty body for the server to refuse field by field', () => {
    expect(toBody(emptyForm())).toMatchObject({ provider: '', annex_iv_inputs: {}, deployment_forms: [] });
  });

  it('puts the API errors on their fields (Annex IV keys contain dots)', () => {
    expect(fieldOf('provider')).toBe('provider');
    expect(fieldOf('annex_iv_inputs.7')).toBe('annex:7');
    expect(fieldOf('annex_iv_inputs.1.a.document_sha256')).toBe('annex:1.a');
    expect(fieldOf('annex_iv_inputs.2.h')).toBe('annex:2.h');
    expect(fieldOf('(root)')).toBe('form');
    const errs = fieldErrors([
      { in: 'body', field: 'provider', message: 'Too small: expected string to have >=1 characters' },
      { in: 'body', field: 'annex_iv_inputs.7', message: 'point 7 must not claim conformance to a draft standard' },
      { in: 'body', field: 'surprise', message: 'Unrecognized key' },
      'junk',
    ]);
    expect(Object.fromEntries(errs)).toEqual({
      provider: ['Too small: expected string to have >=1 characters'],
      'annex:7': ['point 7 must not claim conformance to a draft standard'],
      form: ['surprise: Unrecognized key'],
    });
    expect(fieldErrors(undefined).size).toBe(0);
  });
});
