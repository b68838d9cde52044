import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { interventionPayload, signIntervention, verifyIntervention, type InterventionFields } from './intervention.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const signer = { kid: 'aaaaaaaaaaaaaaaa', sign: (d: Buffer) => sign(null, d, privateKey) };
const keys = (kid: string) => (kid === signer.kid ? publicKey : undefined);

const FIELDS: InterventionFields = {
  interventionId: 'int_01M8AVNNZ7YCHGCAWK8AQ3HXG0',
  kind: 'override',
  actorUserId: 'usr_01M8AVNNZ7YCHGCAWK8AQ3HXG1',
  actorRole: 'executive',
  at: '2026-11-25T10:00:00.000Z',
  decisionId: 'dec_01M8AVNNZ7YCHGCAWK8AQ3HXG2',
  scope: 'decision:dec_01M8AVNNZ7YCHGCAWK8AQ3HXG2',
  justification: 'Customer consent was verified by phone.',
  shown: { outcome: 'denied', reason: 'forbidden', risk: { overall_score: 47 } },
  details: { new_outcome: 'approved' },
};

describe('signed interventions', () => {
  it('the payload is canonical, covers every field and names the key', () => {
    const p = interventionPayload(FIELDS, signer.kid);
    expect(p.startsWith('{"actor":{"role":"executive","user_id":"usr_')).toBe(true);
    expect(JSON.parse(p)).toMatchObject({ v: 1, kid: signer.kid, kind: 'override', details: { new_outcome: 'approved' } });
  });

  it('verifies, and any change to any field or the signature fails', () => {
    const signed = signIntervention(FIELDS, signer);
    expect(verifyIntervention(signed, keys)).toBe('valid');
    const changes: Array<Partial<typeof signed>> = [
      { kind: 'stop' },
      { actorUserId: 'usr_01M8AVNNZ7YCHGCAWK8AQ3HXG9' },
      { actorRole: 'admin' },
      { at: '2026-11-25T10:00:00.001Z' },
      { decisionId: null },
      { scope: 'global' },
      { justification: `${FIELDS.justification} ` },
      { shown: { ...(FIELDS.shown as object), outcome: 'approved' } },
      { details: { new_outcome: 'denied' } },
      { signature: signed.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) },
      { signature: `${signed.signature}A` },
    ];
    for (const change of changes) expect(verifyIntervention({ ...signed, ...change }, keys), JSON.stringify(change)).toBe('bad_signature');
    expect(verifyIntervention({ ...signed, kid: 'bbbbbbbbbbbbbbbb' }, keys)).toBe('unknown_kid');
    expect(verifyIntervention(signed, () => other.publicKey)).toBe('bad_signature');
  });
});
