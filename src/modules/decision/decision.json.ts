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
import type { DecisionDetailDto, DecisionRecordDto, DecisionResponse } from './decision.schemas.js';

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

const TOKEN_KEY = ',"capability_token":';

function escalationJson(e: NonNullable<DecisionRecordDto['escalation']>): string {
  return (
    '{"escalation_id":' +
    str(e.escalation_id) +
    ',"status":' +
    str(e.status) +
    ',"priority":' +
    str(e.priority) +
    ',"trigger":' +
    str(e.trigger) +
    ',"escalated_to":' +
    strings(e.escalated_to) +
    ',"sla_deadline":' +
    str(e.sla_deadline) +
    ',"opened_by":' +
    str(e.opened_by) +
    ',"assigned_by":' +
    str(e.assigned_by) +
    ',"resolution":' +
    nullableStr(e.resolution) +
    ',"resolved_by":' +
    nullableStr(e.resolved_by) +
    ',"resolved_at":' +
    nullableStr(e.resolved_at) +
    '}'
  );
}

function overridesJson(overrides: DecisionRecordDto['overrides']): string {
  let out = '[';
  for (let i = 0; i < overrides.length; i++) {
    const o = overrides[i]!;
    out +=
      (i === 0 ? '{"override_id":' : ',{"override_id":') +
      str(o.override_id) +
      ',"new_outcome":' +
      str(o.new_outcome) +
      ',"status":' +
      str(o.status) +
      ',"authorized_by":' +
      str(o.authorized_by) +
      ',"created_at":' +
      str(o.created_at) +
      ',"effective_at":' +
      nullableStr(o.effective_at) +
      ',"expires_at":' +
      nullableStr(o.expires_at) +
      '}';
  }
  return out + ']';
}

/** A record's own properties, after the decision's: from `capability_token` to the end of the record. */
export type RecordOwn = Pick<
  DecisionRecordDto,
  'capability_token' | 'actor' | 'action' | 'tool' | 'requested_by' | 'token' | 'effective_outcome' | 'escalation' | 'overrides'
>;

/** The JSON text of a record's own properties: `,"capability_token":…}` (the record's end). */
export function recordOwnJson(r: RecordOwn): string {
  const t = r.token;
  return (
    TOKEN_KEY +
    nullableStr(r.capability_token) +
    ',"actor":' +
    str(r.actor) +
    ',"action":' +
    str(r.action) +
    ',"tool":' +
    str(r.tool) +
    ',"requested_by":' +
    str(r.requested_by) +
    ',"token":' +
    (t === null ? 'null' : '{"jti":' + str(t.jti) + ',"expires_at":' + str(t.expires_at) + ',"revoked":' + t.revoked + '}') +
    ',"effective_outcome":' +
    str(r.effective_outcome) +
    ',"escalation":' +
    (r.escalation === null ? 'null' : escalationJson(r.escalation)) +
    ',"overrides":' +
    overridesJson(r.overrides) +
    '}'
  );
}

/**
 * The JSON text of a decision's record (`GET /decide/:decision_id`, each item of `GET /decide`): the
 * same bytes as the zod serializer of DecisionRecordSchema writes (the decision's properties in the
 * schema's order, `capability_token` moved after `timestamp` as the schema's omit + extend puts it, then
 * the record's own). A test holds the two to byte equality. Pure.
 */
export function decisionRecordJson(r: DecisionRecordDto): string {
  const { before, after } = decisionJsonParts(r);
  return before.slice(0, before.length - TOKEN_KEY.length) + after.slice(0, after.length - 1) + recordOwnJson(r);
}

/**
 * The JSON text of a decision's detail (`GET /decide/:decision_id`): its record's text with the
 * request's `user_intent`, `data_classes` and `request_purged` after the record's own properties, as
 * DecisionDetailSchema's zod serializer writes them (a test holds the two to byte equality). Pure.
 */
export function decisionDetailJson(d: DecisionDetailDto): string {
  const record = decisionRecordJson(d);
  return (
    record.slice(0, record.length - 1) +
    ',"user_intent":' +
    nullableStr(d.user_intent) +
    ',"data_classes":' +
    (d.data_classes === null ? 'null' : strings(d.data_classes)) +
    ',"request_purged":' +
    d.request_purged +
    '}'
  );
}

/** What separates a stored decision's text (decisionJson with a null token) before and after its token. */
const STORED_TOKEN = TOKEN_KEY + 'null,"token_expires_at":';

/**
 * A stored decision's text (`decisionJson(parts, null)`, as POST /decide stores it) without its
 * `capability_token` and its closing brace: the head of its record's text, spliced without a parse.
 * Undefined when the text is not in that form (then parse it and write it with decisionRecordJson).
 *
 * Every decision ever stored was written in the schema's order (decisionJson since issue 16, before it
 * `JSON.stringify` of the response built in that order; the shape has not changed since the first
 * release), so its text is the serializer's bytes for it; the markers checked here (the first property,
 * the token between `policy` and `token_expires_at`, the closing brace) guard against any other text.
 * `,"capability_token":` cannot occur inside a JSON string (its quote would be escaped). Pure.
 */
export function storedRecordHead(stored: string): string | undefined {
  if (!stored.startsWith('{"decision_id":') || stored.charCodeAt(stored.length - 1) !== 0x7d) return undefined;
  const at = stored.indexOf(STORED_TOKEN);
  if (at < 0) return undefined;
  return stored.slice(0, at) + stored.slice(at + TOKEN_KEY.length + 4, stored.length - 1);
}

/** The JSON text of a `GET /decide` page, as DecisionListSchema's zod serializer writes it. Pure. */
export function decisionListJson(page: { items: readonly DecisionRecordDto[]; next_cursor: string | null }): string {
  let out = '{"items":[';
  for (let i = 0; i < page.items.length; i++) out += (i === 0 ? '' : ',') + decisionRecordJson(page.items[i]!);
  return out + '],"next_cursor":' + nullableStr(page.next_cursor) + '}';
}
