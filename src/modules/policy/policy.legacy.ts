/**
 * The original Lexecon's shapes, as the policy loader reads them: fields with aliases, the drafts read from
 * each term and relation (one-ended and three-field requires included, and their expansion into one
 * relation per condition), and the header (policy_id derived from the name or the content). Pure.
 */
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import {
  CONTROL_CHARS,
  normalizeMode,
  normalizeRelationType,
  normalizeTermType,
  OBJECT_RELATION_TYPES,
  POLICY_ID_PATTERN,
  POLICY_LIMITS,
} from './policy.document.schema.js';
import type { PolicyMode, RelationType, TermType } from './policy.model.js';
import { isPlainObject, present, stringOrNull, type Located, type Segment } from './policy.problems.js';
import { parseWindow } from './policy.sod.js';

// ---------------------------------------------------------------------------------------------------------
// Fields with aliases
// ---------------------------------------------------------------------------------------------------------

interface Picked {
  /** Any of the keys is present (not absent, not null). */
  present: boolean;
  /** The key the value was taken from (the first present one, else the canonical name). */
  key: string;
  /** The value, when it is a string. */
  value: string | undefined;
}

/**
 * Read a field that has aliases: the first present key wins; two present string values that differ are a
 * problem (on the later key). Wrong types are the schema's to report.
 */
function pickAlias(raw: Record<string, unknown>, keys: readonly string[], base: Segment[], out: Located[]): Picked {
  let picked: Picked | undefined;
  for (const key of keys) {
    const v = raw[key];
    if (!present(v)) continue;
    if (picked === undefined) {
      picked = { present: true, key, value: typeof v === 'string' ? v : undefined };
      continue;
    }
    if (typeof v === 'string' && picked.value !== undefined && v !== picked.value) {
      out.push({
        segs: [...base, key],
        message: `${JSON.stringify(v)} conflicts with ${picked.key} ${JSON.stringify(picked.value)}: give one of them`,
      });
    }
  }
  return picked ?? { present: false, key: keys[0] as string, value: undefined };
}

/** `source (or subject, source_term_id)` */
function alternatives(keys: readonly string[]): string {
  const [first, ...rest] = keys;
  return `${first} (or ${rest.join(', ')})`;
}

function requiredMessage(keys: readonly string[]): string {
  return `${alternatives(keys)} is required`;
}

// ---------------------------------------------------------------------------------------------------------
// Drafts: what the loader reads from each element, as far as it is readable
// ---------------------------------------------------------------------------------------------------------

export interface TermDraft {
  index: number;
  idKey: string;
  id: string | undefined;
  type: TermType | undefined;
  value: string | null;
  label: string | null;
  description: string | null;
  metadata: Record<string, unknown>;
}

export interface RelationDraft {
  /** The index of the document relation it comes from (several drafts share one for an expanded one-ended requires). */
  index: number;
  idKey: string;
  /** An id was given (valid or not). */
  idPresent: boolean;
  explicitId: string | undefined;
  type: RelationType | undefined;
  /** Where the source was read, relative to the relation (`['subject']`). */
  sourcePath: Segment[];
  source: string | undefined;
  /** Where the target was read, relative to the relation (`['action']`, `['conditions', 1]`). */
  targetPath: Segment[];
  target: string | undefined;
  object: string | null;
  conditions: string[];
  /** Where each of `conditions` was read, relative to the relation (`['condition']`, `['conditions', 2]`). */
  conditionPaths: Segment[][];
  /** A requires relation given with only one of its ends (or in the three-field shape, see `scopedSubject`). */
  oneEnded: boolean;
  /**
   * The original Lexecon's three-field requires (`subject`, `action` and conditions): the subject it named,
   * which the normalized relations do not keep (its conditions are required of the action), for a warning.
   */
  scopedSubject: { key: string; value: string } | undefined;
  justification: string | null;
  /** conflicts only: the `window` as given (checked by {@link checkWindow}). */
  window: string | null;
}

const TERM_ID_KEYS = ['term_id', 'id'] as const;
const TERM_TYPE_KEYS = ['term_type', 'type'] as const;
const LABEL_KEYS = ['label', 'name'] as const;
const RELATION_ID_KEYS = ['relation_id', 'id'] as const;
const RELATION_TYPE_KEYS = ['relation_type', 'type'] as const;
const SOURCE_KEYS = ['source', 'subject', 'source_term_id'] as const;
const TARGET_KEYS = ['target', 'action', 'target_term_id'] as const;

export function termDraft(raw: unknown, index: number, out: Located[]): TermDraft | undefined {
  if (!isPlainObject(raw)) return undefined; // the schema reports it
  const base: Segment[] = ['terms', index];
  const id = pickAlias(raw, TERM_ID_KEYS, base, out);
  if (!id.present) out.push({ segs: [...base, 'term_id'], message: requiredMessage(TERM_ID_KEYS) });
  const type = pickAlias(raw, TERM_TYPE_KEYS, base, out);
  if (!type.present) out.push({ segs: [...base, 'term_type'], message: requiredMessage(TERM_TYPE_KEYS) });
  const label = pickAlias(raw, LABEL_KEYS, base, out);
  const metadata = raw['metadata'];
  return {
    index,
    idKey: id.key,
    id: id.value,
    type: type.value === undefined ? undefined : normalizeTermType(type.value),
    value: stringOrNull(raw['value']),
    label: label.value ?? null,
    description: stringOrNull(raw['description']),
    metadata: isPlainObject(metadata) ? metadata : {},
  };
}

export function relationDraft(raw: unknown, index: number, out: Located[]): RelationDraft | undefined {
  if (!isPlainObject(raw)) return undefined; // the schema reports it
  const base: Segment[] = ['relations', index];
  const id = pickAlias(raw, RELATION_ID_KEYS, base, out);
  const type = pickAlias(raw, RELATION_TYPE_KEYS, base, out);
  if (!type.present) out.push({ segs: [...base, 'relation_type'], message: requiredMessage(RELATION_TYPE_KEYS) });
  const relationType = type.value === undefined ? undefined : normalizeRelationType(type.value);
  let source = pickAlias(raw, SOURCE_KEYS, base, out);
  let target = pickAlias(raw, TARGET_KEYS, base, out);
  const bothEnds = source.present && target.present;
  const oneEnded = relationType === 'requires' && source.present !== target.present;
  if (oneEnded) {
    // The original Lexecon's one-ended requires (`{"type": "requires", "action": "x", "condition": "…"}`):
    // the given end is the source; expandOneEndedRequires makes the conditions the targets, or, without
    // conditions, uses the given end for both.
    if (source.present) target = source;
    else source = target;
  } else if (relationType === 'requires' && !source.present) {
    out.push({
      segs: [...base, 'source'],
      message: `${alternatives(SOURCE_KEYS)} or ${alternatives(TARGET_KEYS)} is required`,
    });
  } else {
    if (!source.present) out.push({ segs: [...base, 'source'], message: requiredMessage(SOURCE_KEYS) });
    if (!target.present) out.push({ segs: [...base, 'target'], message: requiredMessage(TARGET_KEYS) });
  }

  let object = stringOrNull(raw['object']);
  if (present(raw['object']) && relationType !== undefined && !OBJECT_RELATION_TYPES.has(relationType)) {
    out.push({
      segs: [...base, 'object'],
      message: `object is only allowed on permits, forbids and requires relations, not on ${relationType}`,
    });
    object = null;
  }

  const { conditions, conditionPaths } = readConditions(raw, base, out);

  // The original Lexecon's three-field requires, `{"type": "requires", "subject": A, "action": X,
  // "condition": C}` ("A doing X requires C"): a requirement has one scope term here, so C is required of
  // the action X (as in the one-ended shape), for every actor; A is reported in a warning. Read as
  // requires(A, X) instead, every action of A would have needed `context.X`, a requirement nobody meant.
  const scoped =
    relationType === 'requires' && bothEnds && target.key === 'action' && conditions.length > 0;
  return {
    index,
    idKey: id.key,
    idPresent: id.present,
    explicitId: id.value,
    type: relationType,
    sourcePath: [scoped ? target.key : source.key],
    source: scoped ? target.value : source.value,
    targetPath: [target.key],
    target: target.value,
    object,
    conditions,
    conditionPaths,
    oneEnded: oneEnded || scoped,
    scopedSubject: scoped && source.value !== undefined ? { key: source.key, value: source.value } : undefined,
    justification: stringOrNull(raw['justification']),
    window: checkWindow(raw['window'], relationType, base, out),
  };
}

/**
 * A relation's `conditions`, or its `condition` (the original Lexecon's shape for one): the distinct strings
 * and where each was read, relative to the relation.
 */
function readConditions(
  raw: Record<string, unknown>,
  base: Segment[],
  out: Located[],
): { conditions: string[]; conditionPaths: Segment[][] } {
  const rawConditions = raw['conditions'];
  const conditions: string[] = [];
  const conditionPaths: Segment[][] = [];
  if (Array.isArray(rawConditions)) {
    if (rawConditions.length > POLICY_LIMITS.conditionsPerRelation) {
      out.push({
        segs: [...base, 'conditions'],
        message: `must have at most ${POLICY_LIMITS.conditionsPerRelation} conditions (has ${rawConditions.length})`,
      });
    }
    rawConditions.forEach((c, k) => {
      if (typeof c !== 'string' || conditions.includes(c)) return;
      conditions.push(c);
      conditionPaths.push(['conditions', k]);
    });
  }
  const rawCondition = raw['condition'];
  if (present(rawCondition)) {
    if (present(rawConditions)) {
      out.push({ segs: [...base, 'condition'], message: 'give condition or conditions, not both' });
    } else if (typeof rawCondition === 'string') {
      conditions.push(rawCondition);
      conditionPaths.push(['condition']);
    }
  }
  return { conditions, conditionPaths };
}

/** A relation's `window`: conflicts only, in the grammar of {@link parseWindow}. */
function checkWindow(raw: unknown, type: RelationType | undefined, base: Segment[], out: Located[]): string | null {
  if (typeof raw !== 'string') return null; // absent, null, or the schema reports the type
  if (type !== undefined && type !== 'conflicts') {
    out.push({ segs: [...base, 'window'], message: `window is only allowed on conflicts relations, not on ${type}` });
    return null;
  }
  const parsed = parseWindow(raw);
  if (!parsed.ok) out.push({ segs: [...base, 'window'], message: parsed.problem });
  return raw;
}

/**
 * A one-ended requires with conditions names its requirements in them (`{"type": "requires", "action":
 * "x", "condition": "c"}` requires `c` of `x`): one relation per condition, `requires(x, c)`, with the
 * condition as its target and no conditions of its own. Its id is generated as usual when the relation
 * has none; an explicit `relation_id` is kept for one condition and suffixed `#1`, `#2`… (in the order of
 * the conditions) for several. A condition becomes a term id, so it must also be one: at most
 * {@link POLICY_LIMITS.termIdLength} characters, no control characters. A one-ended requires without
 * conditions, and every other relation, is returned as it is (as a one-element list).
 */
export function expandOneEndedRequires(r: RelationDraft, out: Located[]): RelationDraft[] {
  if (!r.oneEnded || r.conditions.length === 0) return [r];
  const several = r.conditions.length > 1;
  return r.conditions.map((condition, k) => {
    const path = r.conditionPaths[k] as Segment[];
    const why = 'it names the requirement of a one-ended requires';
    if (condition.length > POLICY_LIMITS.termIdLength) {
      out.push({
        segs: ['relations', r.index, ...path],
        message: `must be at most ${POLICY_LIMITS.termIdLength} characters: ${why}`,
      });
    }
    if (CONTROL_CHARS.test(condition)) {
      out.push({ segs: ['relations', r.index, ...path], message: `must not contain control characters: ${why}` });
    }
    return {
      ...r,
      explicitId: r.explicitId === undefined || !several ? r.explicitId : `${r.explicitId}#${k + 1}`,
      targetPath: path,
      target: condition,
      conditions: [],
      conditionPaths: [],
      oneEnded: false,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Header: policy_id, name, version, mode
// ---------------------------------------------------------------------------------------------------------

/** `policy_id` from a name: lowercased, runs of other characters than [a-z0-9._-] → `-`, trimmed, ≤ 128. */
function derivePolicyId(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+/, '')
    .slice(0, POLICY_LIMITS.policyIdLength)
    .replace(/-+$/, '');
}

export interface Header {
  policy_id: string;
  name: string;
  version: string | null;
  mode: PolicyMode;
}

/**
 * `policy_id` from the document itself, for a document with neither `policy_id` nor a usable `name` (the
 * original Lexecon's `example_policy.json` has neither): `pol-` and the first 16 hex digits of the
 * SHA-256 of the document's RFC 8785 canonical JSON, as submitted (unknown keys included). Stable: the
 * same content gives the same id whatever its key order or formatting. Only called for a document without
 * problems so far (a lone surrogate or a non-finite number cannot be canonicalized, and the document is
 * rejected anyway).
 */
export function contentPolicyId(doc: Record<string, unknown>): string {
  return `pol-${sha256Hex(canonicalize(doc)).slice(0, 16)}`;
}

export function readHeader(doc: Record<string, unknown>, out: Located[], warnings: Located[]): Header {
  const rawId = doc['policy_id'];
  const rawName = doc['name'];
  let policyId = typeof rawId === 'string' ? rawId : '';
  if (!present(rawId)) {
    const fromName = typeof rawName === 'string' ? derivePolicyId(rawName) : '';
    if (POLICY_ID_PATTERN.test(fromName)) {
      policyId = fromName;
    } else if (!present(rawName) || typeof rawName === 'string') {
      // A wrong-typed name is the schema's problem; otherwise the content names the policy.
      if (out.length === 0) policyId = contentPolicyId(doc);
      const why = present(rawName)
        ? `no usable id can be derived from name ${JSON.stringify(rawName)}`
        : 'the document has neither policy_id nor name';
      warnings.push({
        segs: ['policy_id'],
        message: `${why}: derived "${policyId}" from the document's content (SHA-256 of its canonical JSON); give policy_id to choose one`,
      });
    }
  }
  const rawVersion = doc['version'];
  const rawMode = doc['mode'];
  return {
    policy_id: policyId,
    name: typeof rawName === 'string' ? rawName : policyId,
    version: typeof rawVersion === 'string' ? rawVersion : typeof rawVersion === 'number' ? String(rawVersion) : null,
    mode: (typeof rawMode === 'string' ? normalizeMode(rawMode) : undefined) ?? 'strict',
  };
}
