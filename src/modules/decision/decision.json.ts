/**
 * The JSON text of a decision as `POST /decide` answers it, written once per decision (issue 16): the
 * same bytes as the route's zod serializer writes for it (`JSON.stringify` of the schema's encode:
 * properties in the schema's order, unknown ones left out, optional ones absent when undefined; a test
 * holds the two to byte equality for every outcome), without walking the schema on every response.
 *
 * It is written in two parts around `capability_token`, so that the text stored with the decision (whose
 * token is `null`: the token is sealed in its own row) and the text answered (with the token) share one
 * serialisation. Pure.
 */
import { RISK_DIMENSIONS } from '../risk/risk.engine.js';
import type { DecisionResponse } from './decision.schemas.js';

/** A decision's JSON text around its `capability_token` value: `before + token + after`. */
export interface DecisionJsonParts {
  before: string;
  after: string;
}

/** A character JSON.stringify escapes or writes beyond ASCII: without any, a string is its own text. */
const NEEDS_STRINGIFY = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** `JSON.stringify(s)` for a string (the fast path: nothing to escape). */
function str(s: string): string {
  return NEEDS_STRINGIFY.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

const nullableStr = (s: string | null): string => (s === null ? 'null' : str(s));

/** `JSON.stringify(n)` for a number. */
const num = (n: number): string => (Number.isFinite(n) ? '' + n : 'null');

function strings(items: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) out += (i === 0 ? '' : ',') + str(items[i]!);
  return out + ']';
}

function riskJson(risk: DecisionResponse['risk']): string {
  let dims = '{';
  for (const d of RISK_DIMENSIONS) {
    const v = risk.dimensions[d];
    if (v !== undefined) dims += (dims.length === 1 ? '' : ',') + '"' + d + '":' + num(v);
  }
  let factors = '[';
  for (let i = 0; i < risk.factors.length; i++) {
    const f = risk.factors[i]!;
    factors +=
      (i === 0 ? '{"source":' : ',{"source":') +
      str(f.source) +
      ',"key":' +
      str(f.key) +
      (f.dimension === undefined ? '' : ',"dimension":' + str(f.dimension)) +
      ',"value":' +
      num(f.value) +
      '}';
  }
  return (
    '{"overall_score":' +
    num(risk.overall_score) +
    ',"risk_level":' +
    str(risk.risk_level) +
    ',"dimensions":' +
    dims +
    '},"factors":' +
    factors +
    '],"requires_escalation":' +
    risk.requires_escalation +
    '}'
  );
}

/** The parts of `d`'s JSON text around its token (whatever `d.capability_token` holds is not written). */
export function decisionJsonParts(d: DecisionResponse): DecisionJsonParts {
  const e = d.explanation;
  let matched = '[';
  for (let i = 0; i < e.matched.length; i++) {
    const m = e.matched[i]!;
    matched +=
      (i === 0 ? '{"relation_id":' : ',{"relation_id":') +
      str(m.relation_id) +
      ',"relation_type":' +
      str(m.relation_type) +
      ',"effect":' +
      str(m.effect) +
      '}';
  }
  const policy =
    d.policy === null
      ? 'null'
      : '{"policy_id":' + str(d.policy.policy_id) + ',"version_hash":' + str(d.policy.version_hash) + ',"mode":' + str(d.policy.mode) + '}';
  const before =
    '{"decision_id":' +
    str(d.decision_id) +
    ',"request_id":' +
    nullableStr(d.request_id) +
    ',"outcome":' +
    str(d.outcome) +
    ',"allowed":' +
    d.allowed +
    ',"reason":' +
    str(d.reason) +
    ',"explanation":{"mode":' +
    str(e.mode) +
    ',"matched":' +
    matched +
    '],"default_applied":' +
    e.default_applied +
    ',"escalation_triggers":' +
    strings(e.escalation_triggers) +
    '},"conditions":' +
    strings(d.conditions) +
    ',"risk":' +
    riskJson(d.risk) +
    ',"policy":' +
    policy +
    ',"capability_token":';
  const after =
    ',"token_expires_at":' +
    nullableStr(d.token_expires_at) +
    ',"escalation_id":' +
    nullableStr(d.escalation_id) +
    ',"ledger":{"seq":' +
    num(d.ledger.seq) +
    ',"entry_id":' +
    str(d.ledger.entry_id) +
    ',"entry_hash":' +
    str(d.ledger.entry_hash) +
    '},"timestamp":' +
    str(d.timestamp) +
    '}';
  return { before, after };
}

/** The JSON text of a decision with `token` as its `capability_token` (null: stored, or not allowed). */
export function decisionJson(parts: DecisionJsonParts, token: string | null): string {
  return parts.before + nullableStr(token) + parts.after;
}
