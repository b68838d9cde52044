/**
 * Signed intervention records, the pure core (EU AI Act Art. 14: a human understood, overruled or
 * stopped the system). Every stop, resume, override, override confirmation or rejection and escalation resolution is
 * a record naming who (user id and role), when, which decision or scope, the justification, and what
 * the human was shown, signed with the server's Ed25519 key over its RFC 8785 canonical form.
 *
 * Anyone with the public key (`GET /api/governance/keys`) can check a record: rebuild the payload from
 * its fields with {@link interventionPayload} and verify the signature with {@link verifyIntervention}.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { canonicalize } from '../../platform/crypto/canonical-json.js';

export const INTERVENTION_KINDS = [
  'stop',
  'resume',
  'override',
  'override_confirmation',
  'override_rejection',
  'escalation_resolution',
] as const;
export type InterventionKind = (typeof INTERVENTION_KINDS)[number];

/** The signed fields of an intervention. */
export interface InterventionFields {
  interventionId: string;
  kind: InterventionKind;
  /** The authenticated session user who intervened: never a body field. */
  actorUserId: string;
  actorRole: string;
  /** RFC 3339, ms, Z. */
  at: string;
  decisionId: string | null;
  /** What it applies to: `global` (stop/resume), `decision:<id>`, `escalation:<id>`, `override:<id>`. */
  scope: string;
  justification: string;
  /** What the human was shown when deciding (explanation, risk, outcome…), as JSON. */
  shown: unknown;
  /** Kind-specific facts (e.g. `{new_outcome}`, `{outcome}`), as JSON. */
  details: Record<string, unknown>;
}

export interface SignedIntervention extends InterventionFields {
  kid: string;
  /** base64url Ed25519 signature over the UTF-8 bytes of {@link interventionPayload}. */
  signature: string;
}

export type InterventionStatus = 'valid' | 'bad_signature' | 'unknown_kid';

/** The exact bytes signed: JCS of the fields with snake_case names and `v: 1`. */
export function interventionPayload(f: InterventionFields, kid: string): string {
  return canonicalize({
    v: 1,
    intervention_id: f.interventionId,
    kind: f.kind,
    actor: { user_id: f.actorUserId, role: f.actorRole },
    at: f.at,
    decision_id: f.decisionId,
    scope: f.scope,
    justification: f.justification,
    shown: f.shown,
    details: f.details,
    kid,
  });
}

/** Sign an intervention with an Ed25519 signer (`sign` returns the 64-byte signature of its input). */
export function signIntervention(
  f: InterventionFields,
  signer: { kid: string; sign(data: Buffer): Buffer },
): SignedIntervention {
  const signature = signer.sign(Buffer.from(interventionPayload(f, signer.kid), 'utf8'));
  return { ...f, kid: signer.kid, signature: signature.toString('base64url') };
}

/**
 * Check a signed intervention against the public key named by its `kid`. Any change to any field (or
 * to the signature) gives `bad_signature`; a kid the lookup does not know gives `unknown_kid`.
 */
export function verifyIntervention(
  record: SignedIntervention,
  publicKey: (kid: string) => KeyObject | undefined,
): InterventionStatus {
  const key = publicKey(record.kid);
  if (!key || key.asymmetricKeyType !== 'ed25519') return 'unknown_kid';
  let payload: string;
  try {
    payload = interventionPayload(record, record.kid);
  } catch {
    return 'bad_signature';
  }
  const signature = Buffer.from(record.signature, 'base64url');
  if (signature.length !== 64 || signature.toString('base64url') !== record.signature) return 'bad_signature';
  try {
    return cryptoVerify(null, Buffer.from(payload, 'utf8'), key, signature) ? 'valid' : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}
