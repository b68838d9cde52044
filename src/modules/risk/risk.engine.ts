/**
 * The risk engine (DESIGN §4, issue 6): derives six risk dimensions deterministically from a request and
 * aggregates them into an overall score and level. Pure: no I/O, no clock, no randomness.
 *
 * How a score comes about:
 * 1. **Factors.** Every source that says something about a dimension yields one {@link RiskFactor} per
 *    dimension: the request's data classes and action looked up in the {@link FactorTable} (the
 *    {@link DEFAULT_FACTOR_TABLE} unless a policy supplies its own), the `metadata.risk` of the policy terms
 *    the request matched, and dimensions given explicitly (`POST /api/governance/risk/assess`).
 * 2. **Dimensions.** Each dimension is the maximum over its factors. A dimension no factor speaks of is
 *    absent (not 0): it takes no part in the mean.
 * 3. **Overall.** The truncated weighted mean over the dimensions present ({@link RISK_WEIGHTS}), clamped
 *    to 1–100 (1 when none is present), computed in integers so that no floating-point rounding can move it
 *    across a level boundary (see {@link scoreDimensions}).
 * 4. **Floor.** The request's `risk_level` n (1–5) raises the overall score to at least
 *    {@link RISK_LEVEL_FLOORS}[n]; when it does, a `risk_level_floor` factor records it.
 * 5. **Level.** {@link riskLevelOf}: ≥ 80 critical, ≥ 60 high, ≥ 30 medium, else low; ≥ 80 requires
 *    escalation.
 *
 * Every contributing factor is recorded, including those that did not end up the maximum, so anyone
 * holding the factors can recompute the assessment ({@link recomputeRisk}).
 *
 * Matching rules: data classes and the action are matched case-insensitively (both are lower-cased, and
 * factor-table keys must be lower-case); an unknown data class or verb contributes nothing.
 */
import type { RiskLevel } from '../policy/policy.model.js';

// ---------------------------------------------------------------------------------------------------------
// Dimensions, weights, levels

/** The six risk dimensions, in the order factors and dimension maps list them. */
export const RISK_DIMENSIONS = ['security', 'privacy', 'compliance', 'operational', 'reputational', 'financial'] as const;

/** One of the six {@link RISK_DIMENSIONS}. */
export type RiskDimension = (typeof RISK_DIMENSIONS)[number];

/** Values per dimension (each an integer 0–100); a missing key means the dimension is absent. */
export type RiskVector = Partial<Record<RiskDimension, number>>;

/**
 * The weights in hundredths (integers), which is what the aggregation computes with:
 * security 25, privacy 20, compliance 20, operational 15, reputational 10, financial 10 (sum 100).
 */
export const RISK_WEIGHT_PERCENT: Readonly<Record<RiskDimension, number>> = Object.freeze({
  security: 25,
  privacy: 20,
  compliance: 20,
  operational: 15,
  reputational: 10,
  financial: 10,
});

/** The dimension weights of DESIGN §4: security .25, privacy .20, compliance .20, operational .15, reputational .10, financial .10. */
export const RISK_WEIGHTS: Readonly<Record<RiskDimension, number>> = Object.freeze(
  Object.fromEntries(RISK_DIMENSIONS.map((d) => [d, RISK_WEIGHT_PERCENT[d] / 100])) as Record<RiskDimension, number>,
);

/** The overall score at and above which a decision requires escalation to a human (DESIGN §4). */
export const ESCALATION_THRESHOLD = 80;

/** The request's `risk_level` (1–5). */
export type RequestRiskLevel = 1 | 2 | 3 | 4 | 5;

/** The floor each request `risk_level` puts on the overall score: 1 → 1, 2 → 30, 3 → 50, 4 → 60, 5 → 80. */
export const RISK_LEVEL_FLOORS: Readonly<Record<RequestRiskLevel, number>> = Object.freeze({
  1: 1,
  2: 30,
  3: 50,
  4: 60,
  5: 80,
});

/** The level of an overall score: ≥ 80 `critical`, ≥ 60 `high`, ≥ 30 `medium`, else `low`. */
export function riskLevelOf(score: number): RiskLevel {
  if (score >= 80) return 'critical';
  if (score >= 60) return 'high';
  if (score >= 30) return 'medium';
  return 'low';
}

// ---------------------------------------------------------------------------------------------------------
// Factor table

/**
 * Where risk comes from: per data class, per action verb, and for an action containing `bulk`.
 * Keys of `dataClasses` and `verbs` are lower-case; values are integers 0–100. A data class mapped to `{}`
 * (like `public`) is known but raises nothing.
 */
export interface FactorTable {
  dataClasses: Record<string, RiskVector>;
  verbs: Record<string, RiskVector>;
  bulk: RiskVector;
}

/**
 * The default factor table, exactly DESIGN §4:
 *
 * | factor | dimensions |
 * |---|---|
 * | data class `public` | none |
 * | `internal` · `confidential` | security 30 · security 60 |
 * | `pii` | privacy 70 |
 * | `phi` / `health` | privacy 85, compliance 80 |
 * | `financial` / `pci` | financial 70, compliance 60 |
 * | `credentials` / `secrets` | security 90 |
 * | `biometric` | privacy 90, compliance 85 |
 * | `children` | privacy 85, reputational 70 |
 * | action verb `delete`/`drop`/`destroy` | operational 70 |
 * | verb `execute`/`run` | security 60 |
 * | verb `send`/`transmit`/`export`/`share` | privacy 50 |
 * | action containing `bulk` | operational 50, reputational 50 |
 */
export const DEFAULT_FACTOR_TABLE: FactorTable = deepFreeze({
  dataClasses: {
    public: {},
    internal: { security: 30 },
    confidential: { security: 60 },
    pii: { privacy: 70 },
    phi: { privacy: 85, compliance: 80 },
    health: { privacy: 85, compliance: 80 },
    financial: { financial: 70, compliance: 60 },
    pci: { financial: 70, compliance: 60 },
    credentials: { security: 90 },
    secrets: { security: 90 },
    biometric: { privacy: 90, compliance: 85 },
    children: { privacy: 85, reputational: 70 },
  },
  verbs: {
    delete: { operational: 70 },
    drop: { operational: 70 },
    destroy: { operational: 70 },
    execute: { security: 60 },
    run: { security: 60 },
    send: { privacy: 50 },
    transmit: { privacy: 50 },
    export: { privacy: 50 },
    share: { privacy: 50 },
  },
  bulk: { operational: 50, reputational: 50 },
});

/** A factor table's JSON form, as a policy supplies it and {@link parseFactorTable} reads it. */
export interface FactorTableJson {
  data_classes: Record<string, RiskVector>;
  verbs: Record<string, RiskVector>;
  bulk: RiskVector;
}

/** A problem in a submitted factor table, located by a JSON path (`$.data_classes.pii.privacy`). */
export interface FactorTableProblem {
  path: string;
  message: string;
}

/** Bounds on a submitted factor table. */
export const FACTOR_TABLE_LIMITS = {
  /** Entries in `data_classes`, and separately in `verbs`. */
  entries: 1000,
  /** Length of a data class or verb key. */
  keyLength: 128,
} as const;

/**
 * Reads a per-policy factor table. It **replaces** the default as a whole (it does not merge into it), so
 * all three sections are required; give `{}` for a section that should raise nothing. JSON shape:
 *
 * ```json
 * {
 *   "data_classes": { "pii": { "privacy": 70 }, "public": {} },
 *   "verbs":        { "delete": { "operational": 70 } },
 *   "bulk":         { "operational": 50, "reputational": 50 }
 * }
 * ```
 *
 * - Each vector maps dimension names ({@link RISK_DIMENSIONS}) to integers 0–100; an unknown dimension is a
 *   problem.
 * - `data_classes` and `verbs` keys are 1–128 characters and lower-case (matching is case-insensitive, so an
 *   upper-case key could never match); a verb key must not contain `:`, `_` or a space (the verb ends at the
 *   first of them, see {@link actionVerb}). At most 1000 entries per section.
 * - Unknown top-level keys are problems.
 *
 * Returns the table when there is no problem; otherwise every problem found, each with its JSON path, and
 * no table.
 */
export function parseFactorTable(raw: unknown): { table?: FactorTable; problems: FactorTableProblem[] } {
  const problems: FactorTableProblem[] = [];
  if (!isPlainObject(raw)) {
    return { problems: [{ path: '$', message: 'must be an object {data_classes, verbs, bulk}' }] };
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'data_classes' && key !== 'verbs' && key !== 'bulk') {
      problems.push({ path: formatPath(['$', key]), message: 'is not a factor table field (data_classes, verbs, bulk)' });
    }
  }
  const dataClasses = parseSection(raw, 'data_classes', problems, (key) => caseProblem(key));
  const verbs = parseSection(raw, 'verbs', problems, (key) =>
    /[:_ ]/.test(key) ? 'must not contain ":", "_" or a space (the verb ends before the first of them)' : caseProblem(key),
  );
  let bulk: RiskVector | undefined;
  if (!Object.hasOwn(raw, 'bulk')) {
    problems.push({ path: '$.bulk', message: 'is required (the table replaces the default as a whole; give {} for none)' });
  } else {
    bulk = parseVector(raw['bulk'], ['$', 'bulk'], problems);
  }
  if (problems.length > 0 || dataClasses === undefined || verbs === undefined || bulk === undefined) {
    return { problems };
  }
  return { table: { dataClasses, verbs, bulk }, problems };
}

/** The JSON form of a factor table ({@link parseFactorTable} reads it back to an equal table). */
export function factorTableToJson(table: FactorTable): FactorTableJson {
  return {
    data_classes: Object.fromEntries(Object.entries(table.dataClasses).map(([k, v]) => [k, orderedVector(v)])),
    verbs: Object.fromEntries(Object.entries(table.verbs).map(([k, v]) => [k, orderedVector(v)])),
    bulk: orderedVector(table.bulk),
  };
}

function caseProblem(key: string): string | undefined {
  return key === key.toLowerCase() ? undefined : 'must be lower-case (matching is case-insensitive)';
}

function parseSection(
  raw: Record<string, unknown>,
  name: 'data_classes' | 'verbs',
  problems: FactorTableProblem[],
  keyProblem: (key: string) => string | undefined,
): Record<string, RiskVector> | undefined {
  if (!Object.hasOwn(raw, name)) {
    problems.push({ path: `$.${name}`, message: 'is required (the table replaces the default as a whole; give {} for none)' });
    return undefined;
  }
  const section = raw[name];
  if (!isPlainObject(section)) {
    problems.push({ path: `$.${name}`, message: 'must be an object mapping names to {dimension: 0–100}' });
    return undefined;
  }
  const keys = Object.keys(section);
  if (keys.length > FACTOR_TABLE_LIMITS.entries) {
    problems.push({ path: `$.${name}`, message: `must have at most ${FACTOR_TABLE_LIMITS.entries} entries` });
    return undefined;
  }
  const entries: Array<[string, RiskVector]> = [];
  let ok = true;
  for (const key of keys) {
    const path = ['$', name, key];
    const message =
      key.length === 0
        ? 'must not be empty'
        : key.length > FACTOR_TABLE_LIMITS.keyLength
          ? `must be at most ${FACTOR_TABLE_LIMITS.keyLength} characters`
          : keyProblem(key);
    if (message !== undefined) {
      problems.push({ path: formatPath(path), message });
      ok = false;
    }
    const vector = parseVector(section[key], path, problems);
    if (vector === undefined) ok = false;
    else entries.push([key, vector]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return ok ? Object.fromEntries(entries) : undefined;
}

function parseVector(raw: unknown, path: string[], problems: FactorTableProblem[]): RiskVector | undefined {
  if (!isPlainObject(raw)) {
    problems.push({ path: formatPath(path), message: 'must be an object mapping dimensions to integers 0–100' });
    return undefined;
  }
  let ok = true;
  for (const [dim, value] of Object.entries(raw)) {
    if (!isDimension(dim)) {
      problems.push({ path: formatPath([...path, dim]), message: `is not a risk dimension (${RISK_DIMENSIONS.join(', ')})` });
      ok = false;
    } else if (!isScore(value)) {
      problems.push({ path: formatPath([...path, dim]), message: 'must be an integer from 0 to 100' });
      ok = false;
    }
  }
  return ok ? orderedVector(raw as RiskVector) : undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$`, then `.key` for identifiers and `["key"]` otherwise (as the policy loader writes paths). */
function formatPath(segs: readonly string[]): string {
  let out = segs[0] ?? '$';
  for (const s of segs.slice(1)) out += IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Action parsing

/**
 * The action's verb: the part of `proposed_action` before the first `:`, `_` or space, lower-cased
 * (`Delete:customer` → `delete`, `bulk_export_pii` → `bulk`, `run script` → `run`); the whole action,
 * lower-cased, when it has none of them. Nothing is trimmed: a leading separator gives the empty verb.
 */
export function actionVerb(action: string): string {
  const i = action.search(/[:_ ]/);
  return (i === -1 ? action : action.slice(0, i)).toLowerCase();
}

/** Whether the action contains `bulk` anywhere, case-insensitively (`export_BULK`, `bulkload`). */
export function isBulkAction(action: string): boolean {
  return action.toLowerCase().includes('bulk');
}

// ---------------------------------------------------------------------------------------------------------
// Assessment

/** One recorded contribution to a dimension (or, for `risk_level_floor`, to the overall score). */
export interface RiskFactor {
  /**
   * - `data_class`: a request data class found in the factor table (`key`: the lower-cased class);
   * - `action_verb`: the action's verb found in the table (`key`: the verb);
   * - `action_bulk`: the action contains `bulk` (`key`: `bulk`);
   * - `policy_term`: a matched policy term's `metadata.risk` (`key`: the term id);
   * - `explicit`: a dimension given in the request (`key`: `dimensions`);
   * - `risk_level_floor`: the request's `risk_level` raised the overall score (`key`: `risk_level:n`, no
   *   `dimension`, `value`: the floor).
   */
  source: 'data_class' | 'action_verb' | 'action_bulk' | 'policy_term' | 'explicit' | 'risk_level_floor';
  key: string;
  /** The dimension this factor raises; absent only for `risk_level_floor`. */
  dimension?: RiskDimension;
  /** An integer 0–100. */
  value: number;
}

/** What the risk engine scores. Every value is an integer 0–100 (anything else is a `RangeError`). */
export interface RiskInput {
  /** The proposed action (`delete:customer`). */
  action: string;
  /** The request's data classes; matched lower-cased, duplicates count once. */
  dataClasses?: readonly string[];
  /** The request's `risk_level`: a floor on the overall score ({@link RISK_LEVEL_FLOORS}). */
  riskLevel?: RequestRiskLevel;
  /** Dimension values from the matched policy terms' `metadata.risk`, with the term id. */
  termRisks?: ReadonlyArray<{ termId: string; risk: RiskVector }>;
  /** Explicit dimensions (`POST /api/governance/risk/assess` may pass them). */
  dimensions?: RiskVector;
  /** The factor table (a policy's own); {@link DEFAULT_FACTOR_TABLE} when absent. */
  table?: FactorTable;
}

/** The outcome of {@link assessRisk}: what the decision and its ledger entry record. */
export interface RiskAssessment {
  /** 1–100. */
  overall_score: number;
  risk_level: RiskLevel;
  /** The dimensions present (keys in {@link RISK_DIMENSIONS} order), each the max of its factors. */
  dimensions: RiskVector;
  /** Every contributing factor, in a deterministic order (see {@link assessRisk}). */
  factors: RiskFactor[];
  /** `overall_score` ≥ {@link ESCALATION_THRESHOLD}. */
  requires_escalation: boolean;
}

/**
 * The aggregation alone: the truncated weighted mean over the dimensions present,
 * `trunc(Σ w_d·v_d / Σ w_d)`, clamped to 1–100; 1 when no dimension is present. Computed in integers
 * (weights in hundredths, {@link RISK_WEIGHT_PERCENT}) with an integer division, so it is exact: e.g.
 * 80,60,40,30,20,10 → 4750/100 → 47, security 79 and the rest 80 → 7975/100 → 79.
 * Absent (`undefined`) keys are skipped; a value that is not an integer 0–100 or an unknown key is a
 * `RangeError`.
 */
export function scoreDimensions(dimensions: RiskVector): { overall: number; level: RiskLevel } {
  let num = 0;
  let den = 0;
  for (const [dim, value] of Object.entries(dimensions)) {
    if (value === undefined) continue;
    if (!isDimension(dim)) throw new RangeError(`"${dim}" is not a risk dimension`);
    checkScore(value, dim);
    num += RISK_WEIGHT_PERCENT[dim] * value;
    den += RISK_WEIGHT_PERCENT[dim];
  }
  const mean = den === 0 ? 0 : (num - (num % den)) / den;
  const overall = Math.min(100, Math.max(1, mean));
  return { overall, level: riskLevelOf(overall) };
}

/**
 * Scores a request. Factors are collected in this order (within a source, one factor per dimension in
 * {@link RISK_DIMENSIONS} order): data classes (lower-cased, unique, sorted), the action verb, `bulk`, the
 * term risks (sorted by term id, then dimension, then value, so that even repeated term ids have one order),
 * the explicit dimensions, and last the `risk_level` floor when it raised the score. The result does not
 * depend on the order of `dataClasses` or `termRisks`.
 *
 * Each dimension is the max of its factors; the overall score is {@link scoreDimensions} of them, raised to
 * the floor of `riskLevel`. A value that is not an integer 0–100, an unknown dimension, or a `riskLevel`
 * outside 1–5 is a `RangeError` (the policy loader and the route schemas reject them first).
 */
export function assessRisk(input: RiskInput): RiskAssessment {
  const table = input.table ?? DEFAULT_FACTOR_TABLE;
  const factors: RiskFactor[] = [];
  const push = (source: RiskFactor['source'], key: string, vector: RiskVector): void => {
    for (const dim of vectorDimensions(vector, `${source} "${key}"`)) {
      factors.push({ source, key, dimension: dim, value: vector[dim]! });
    }
  };

  const classes = [...new Set((input.dataClasses ?? []).map((c) => c.toLowerCase()))].sort(compareStrings);
  for (const c of classes) {
    if (Object.hasOwn(table.dataClasses, c)) push('data_class', c, table.dataClasses[c]!);
  }
  const verb = actionVerb(input.action);
  if (Object.hasOwn(table.verbs, verb)) push('action_verb', verb, table.verbs[verb]!);
  if (isBulkAction(input.action)) push('action_bulk', 'bulk', table.bulk);

  const termStart = factors.length;
  for (const t of input.termRisks ?? []) push('policy_term', t.termId, t.risk);
  const termFactors = factors.splice(termStart).sort(
    (a, b) =>
      compareStrings(a.key, b.key) ||
      RISK_DIMENSIONS.indexOf(a.dimension!) - RISK_DIMENSIONS.indexOf(b.dimension!) ||
      a.value - b.value,
  );
  factors.push(...termFactors);
  if (input.dimensions !== undefined) push('explicit', 'dimensions', input.dimensions);

  const dimensions = maxPerDimension(factors);
  let { overall } = scoreDimensions(dimensions);
  if (input.riskLevel !== undefined) {
    const level: unknown = input.riskLevel;
    if (level !== 1 && level !== 2 && level !== 3 && level !== 4 && level !== 5) {
      throw new RangeError(`risk_level must be an integer from 1 to 5, got ${String(level)}`);
    }
    const floor = RISK_LEVEL_FLOORS[level];
    if (floor > overall) {
      factors.push({ source: 'risk_level_floor', key: `risk_level:${input.riskLevel}`, value: floor });
      overall = floor;
    }
  }
  return {
    overall_score: overall,
    risk_level: riskLevelOf(overall),
    dimensions,
    factors,
    requires_escalation: overall >= ESCALATION_THRESHOLD,
  };
}

/**
 * Recomputes an assessment from its recorded factors alone (what a ledger verifier does): each dimension
 * the max of its factors, the overall {@link scoreDimensions} of them raised to the highest
 * `risk_level_floor` factor. For the factors of {@link assessRisk} it returns the same score, level,
 * dimensions and escalation flag.
 */
export function recomputeRisk(factors: readonly RiskFactor[]): Omit<RiskAssessment, 'factors'> {
  const dimensions = maxPerDimension(factors.filter((f) => f.dimension !== undefined));
  let { overall } = scoreDimensions(dimensions);
  for (const f of factors) if (f.source === 'risk_level_floor' && f.value > overall) overall = f.value;
  return {
    overall_score: overall,
    risk_level: riskLevelOf(overall),
    dimensions,
    requires_escalation: overall >= ESCALATION_THRESHOLD,
  };
}

/**
 * The risk vector a policy term's `metadata` declares under `risk` (e.g. `{"risk": {"privacy": 80}}`), or
 * `undefined` when it declares none. Only known dimensions with integer values 0–100 are taken (the policy
 * loader has already rejected anything else).
 */
export function termRiskFromMetadata(metadata: Readonly<Record<string, unknown>> | null | undefined): RiskVector | undefined {
  const risk = metadata?.['risk'];
  if (!isPlainObject(risk)) return undefined;
  const out: RiskVector = {};
  for (const dim of RISK_DIMENSIONS) {
    const v = Object.hasOwn(risk, dim) ? risk[dim] : undefined;
    if (isScore(v)) out[dim] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function maxPerDimension(factors: readonly RiskFactor[]): RiskVector {
  const max: RiskVector = {};
  for (const f of factors) {
    if (f.dimension === undefined) continue;
    const cur = max[f.dimension];
    if (cur === undefined || f.value > cur) max[f.dimension] = f.value;
  }
  return orderedVector(max);
}

/** The dimensions a vector gives a value to, in {@link RISK_DIMENSIONS} order; validates them. */
function vectorDimensions(vector: RiskVector, what: string): RiskDimension[] {
  const out: RiskDimension[] = [];
  for (const [dim, value] of Object.entries(vector)) {
    if (value === undefined) continue;
    if (!isDimension(dim)) throw new RangeError(`${what}: "${dim}" is not a risk dimension`);
    checkScore(value, `${what}: ${dim}`);
    out.push(dim);
  }
  return out.sort((a, b) => RISK_DIMENSIONS.indexOf(a) - RISK_DIMENSIONS.indexOf(b));
}

function orderedVector(vector: RiskVector): RiskVector {
  const out: RiskVector = {};
  for (const dim of RISK_DIMENSIONS) {
    const v = vector[dim];
    if (v !== undefined) out[dim] = v;
  }
  return out;
}

function checkScore(value: unknown, what: string): asserts value is number {
  if (!isScore(value)) throw new RangeError(`${what} must be an integer from 0 to 100, got ${String(value)}`);
}

function isScore(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100;
}

const DIMENSION_SET: ReadonlySet<string> = new Set(RISK_DIMENSIONS);

function isDimension(key: string): key is RiskDimension {
  return DIMENSION_SET.has(key);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Code-unit order, independent of locale. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
