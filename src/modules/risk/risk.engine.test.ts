import { describe, expect, it } from 'vitest';
import {
  actionVerb,
  assessRisk,
  DEFAULT_FACTOR_TABLE,
  ESCALATION_THRESHOLD,
  factorTableToJson,
  isBulkAction,
  parseFactorTable,
  recomputeRisk,
  RISK_DIMENSIONS,
  RISK_LEVEL_FLOORS,
  RISK_WEIGHT_PERCENT,
  RISK_WEIGHTS,
  riskLevelOf,
  scoreDimensions,
  termRiskFromMetadata,
  type FactorTable,
  type RequestRiskLevel,
  type RiskDimension,
  type RiskFactor,
  type RiskInput,
  type RiskVector,
} from './risk.engine.js';
import { Gen, prng } from '../../../test/helpers/prng.js';

// ---------------------------------------------------------------------------------------------------------
// The vectors

describe('the issue 6 vectors (dimensions given directly)', () => {
  const vectors: Array<[string, RiskVector, number, string]> = [
    [
      'all six = 80,60,40,30,20,10',
      { security: 80, privacy: 60, compliance: 40, operational: 30, reputational: 20, financial: 10 },
      47,
      'medium',
    ],
    ['security 100 + privacy 80', { security: 100, privacy: 80 }, 91, 'critical'],
    ['security 85, privacy 70, compliance 60', { security: 85, privacy: 70, compliance: 60 }, 72, 'high'],
    ['security 50', { security: 50 }, 50, 'medium'],
    ['security 0', { security: 0 }, 1, 'low'],
    [
      'all six 80',
      { security: 80, privacy: 80, compliance: 80, operational: 80, reputational: 80, financial: 80 },
      80,
      'critical',
    ],
    [
      'security 79, others 80',
      { security: 79, privacy: 80, compliance: 80, operational: 80, reputational: 80, financial: 80 },
      79,
      'high',
    ],
    ['security 60, financial 59', { security: 60, financial: 59 }, 59, 'medium'],
    ['privacy 29, compliance 30', { privacy: 29, compliance: 30 }, 29, 'low'],
    ['none', {}, 1, 'low'],
  ];

  it.each(vectors)('%s → %i %s', (_name, dims, overall, level) => {
    const a = assessRisk({ action: 'read', dimensions: dims });
    expect(a.overall_score).toBe(overall);
    expect(a.risk_level).toBe(level);
    expect(a.dimensions).toEqual(dims);
    expect(a.requires_escalation).toBe(overall >= 80);
    expect(scoreDimensions(dims)).toEqual({ overall, level });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Aggregation

describe('scoreDimensions, weights and levels', () => {
  it('weights are DESIGN §4 and sum to 1 (100 hundredths)', () => {
    expect(RISK_WEIGHTS).toEqual({
      security: 0.25,
      privacy: 0.2,
      compliance: 0.2,
      operational: 0.15,
      reputational: 0.1,
      financial: 0.1,
    });
    expect(RISK_DIMENSIONS.reduce((s, d) => s + RISK_WEIGHT_PERCENT[d], 0)).toBe(100);
  });

  it('riskLevelOf boundaries', () => {
    const cases: Array<[number, string]> = [
      [1, 'low'], [29, 'low'], [30, 'medium'], [59, 'medium'], [60, 'high'], [79, 'high'], [80, 'critical'], [100, 'critical'],
    ];
    for (const [score, level] of cases) expect(riskLevelOf(score)).toBe(level);
    expect(ESCALATION_THRESHOLD).toBe(80);
  });

  it('a single dimension scores its own value (clamped to ≥ 1)', () => {
    for (const d of RISK_DIMENSIONS) {
      for (const v of [0, 1, 29, 30, 59, 60, 79, 80, 100]) {
        expect(scoreDimensions({ [d]: v }).overall).toBe(Math.max(1, v));
      }
    }
  });

  it('is the exact truncated weighted mean for random vectors (integer bounds check)', () => {
    const next = prng(0x5eed);
    for (let i = 0; i < 5000; i++) {
      const dims: RiskVector = {};
      for (const d of RISK_DIMENSIONS) if (next() < 0.6) dims[d] = Math.floor(next() * 101);
      let num = 0;
      let den = 0;
      for (const d of RISK_DIMENSIONS) {
        if (dims[d] === undefined) continue;
        num += RISK_WEIGHT_PERCENT[d] * dims[d];
        den += RISK_WEIGHT_PERCENT[d];
      }
      const { overall } = scoreDimensions(dims);
      if (den === 0) {
        expect(overall).toBe(1);
        continue;
      }
      const t = overall === 1 && num < den ? 0 : overall;
      expect(t * den).toBeLessThanOrEqual(num);
      expect(num).toBeLessThan((t + 1) * den);
    }
  });

  it('skips undefined keys; rejects unknown dimensions and values outside integers 0–100', () => {
    expect(scoreDimensions({ security: 50, privacy: undefined })).toEqual({ overall: 50, level: 'medium' });
    expect(() => scoreDimensions({ bogus: 5 } as RiskVector)).toThrow(RangeError);
    for (const bad of [-1, 101, 50.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => scoreDimensions({ security: bad })).toThrow(RangeError);
      expect(() => assessRisk({ action: 'read', dimensions: { security: bad } })).toThrow(RangeError);
      expect(() => assessRisk({ action: 'read', termRisks: [{ termId: 't', risk: { privacy: bad } }] })).toThrow(RangeError);
    }
    expect(() => assessRisk({ action: 'read', termRisks: [{ termId: 't', risk: { nope: 1 } as RiskVector }] })).toThrow(
      /"nope" is not a risk dimension/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Default factor table

describe('the default factor table (DESIGN §4)', () => {
  it('is exactly the documented table', () => {
    expect(DEFAULT_FACTOR_TABLE).toEqual({
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
    expect(Object.isFrozen(DEFAULT_FACTOR_TABLE.dataClasses.pii)).toBe(true);
  });

  const dataClassRows: Array<[string, RiskVector]> = [
    ['public', {}],
    ['internal', { security: 30 }],
    ['confidential', { security: 60 }],
    ['pii', { privacy: 70 }],
    ['phi', { privacy: 85, compliance: 80 }],
    ['health', { privacy: 85, compliance: 80 }],
    ['financial', { compliance: 60, financial: 70 }],
    ['pci', { compliance: 60, financial: 70 }],
    ['credentials', { security: 90 }],
    ['secrets', { security: 90 }],
    ['biometric', { privacy: 90, compliance: 85 }],
    ['children', { privacy: 85, reputational: 70 }],
  ];

  it.each(dataClassRows)('data class %s', (cls, dims) => {
    const a = assessRisk({ action: 'read', dataClasses: [cls] });
    expect(a.dimensions).toEqual(dims);
    expect(a.factors).toEqual(
      RISK_DIMENSIONS.filter((d) => dims[d] !== undefined).map((d) => ({
        source: 'data_class',
        key: cls,
        dimension: d,
        value: dims[d],
      })),
    );
    expect(a.overall_score).toBe(scoreDimensions(dims).overall);
  });

  it('public alone scores 1 low with no factor', () => {
    expect(assessRisk({ action: 'read', dataClasses: ['public'] })).toEqual({
      overall_score: 1,
      risk_level: 'low',
      dimensions: {},
      factors: [],
      requires_escalation: false,
    });
  });

  const verbRows: Array<[string, RiskDimension, number]> = [
    ['delete', 'operational', 70],
    ['drop', 'operational', 70],
    ['destroy', 'operational', 70],
    ['execute', 'security', 60],
    ['run', 'security', 60],
    ['send', 'privacy', 50],
    ['transmit', 'privacy', 50],
    ['export', 'privacy', 50],
    ['share', 'privacy', 50],
  ];

  it.each(verbRows)('verb %s → %s %i', (verb, dim, value) => {
    const a = assessRisk({ action: `${verb}:thing` });
    expect(a.dimensions).toEqual({ [dim]: value });
    expect(a.factors).toEqual([{ source: 'action_verb', key: verb, dimension: dim, value }]);
    expect(a.overall_score).toBe(value);
  });

  it('an action containing bulk → operational 50, reputational 50', () => {
    const a = assessRisk({ action: 'archive:bulk' });
    expect(a.dimensions).toEqual({ operational: 50, reputational: 50 });
    expect(a.factors).toEqual([
      { source: 'action_bulk', key: 'bulk', dimension: 'operational', value: 50 },
      { source: 'action_bulk', key: 'bulk', dimension: 'reputational', value: 50 },
    ]);
    expect(a.overall_score).toBe(50);
  });

  it('an action with no known verb and no bulk, no data classes: 1 low, no factors', () => {
    const a = assessRisk({ action: 'read:customer' });
    expect(a).toEqual({ overall_score: 1, risk_level: 'low', dimensions: {}, factors: [], requires_escalation: false });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Action parsing

describe('actionVerb and bulk', () => {
  it.each([
    ['delete:customer', 'delete'],
    ['bulk_export_pii', 'bulk'],
    ['run script', 'run'],
    ['export', 'export'],
    ['Delete:Customer', 'delete'],
    ['EXPORT', 'export'],
    ['send data:x_y', 'send'],
    ['a_b:c d', 'a'],
    [':delete', ''],
    ['', ''],
    ['delete-customer', 'delete-customer'],
  ])('actionVerb(%j) = %j', (action, verb) => {
    expect(actionVerb(action)).toBe(verb);
  });

  it('verbs come from the first segment only', () => {
    expect(assessRisk({ action: 'read:delete' }).factors).toEqual([]);
    expect(assessRisk({ action: 'deleted:x' }).factors).toEqual([]);
    expect(assessRisk({ action: 'DELETE:x' }).dimensions).toEqual({ operational: 70 });
    expect(assessRisk({ action: 'run script' }).dimensions).toEqual({ security: 60 });
    expect(assessRisk({ action: 'share' }).dimensions).toEqual({ privacy: 50 });
  });

  it('bulk counts anywhere in the action, in any case', () => {
    for (const action of ['bulk', 'bulk_export_pii', 'export_bulk', 'records:bulkload', 'x BULK y', 'unbulky']) {
      expect(isBulkAction(action)).toBe(true);
    }
    for (const action of ['bul_k', 'export', 'b u l k']) expect(isBulkAction(action)).toBe(false);
  });

  it('bulk_export_pii: verb "bulk" (not in the table) plus the bulk factor', () => {
    const a = assessRisk({ action: 'bulk_export_pii', dataClasses: ['pii'] });
    expect(a.factors).toEqual([
      { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
      { source: 'action_bulk', key: 'bulk', dimension: 'operational', value: 50 },
      { source: 'action_bulk', key: 'bulk', dimension: 'reputational', value: 50 },
    ]);
    expect(a.dimensions).toEqual({ privacy: 70, operational: 50, reputational: 50 });
    // (20·70 + 15·50 + 10·50) / 45 = 2650 / 45 = 58.9 → 58
    expect(a.overall_score).toBe(58);
    expect(a.risk_level).toBe('medium');
  });

  it('export:bulk: verb and bulk both contribute', () => {
    const a = assessRisk({ action: 'export:bulk' });
    expect(a.factors.map((f) => f.source)).toEqual(['action_verb', 'action_bulk', 'action_bulk']);
    expect(a.dimensions).toEqual({ privacy: 50, operational: 50, reputational: 50 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Data classes

describe('data classes', () => {
  it('are matched case-insensitively and recorded lower-cased', () => {
    const a = assessRisk({ action: 'read', dataClasses: ['PII'] });
    expect(a.factors).toEqual([{ source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 }]);
    expect(assessRisk({ action: 'read', dataClasses: ['Phi'] }).dimensions).toEqual({ privacy: 85, compliance: 80 });
  });

  it('duplicates (also differing in case) count once', () => {
    const a = assessRisk({ action: 'read', dataClasses: ['pii', 'PII', 'Pii'] });
    expect(a.factors).toHaveLength(1);
  });

  it('unknown data classes contribute nothing', () => {
    expect(assessRisk({ action: 'read', dataClasses: ['weather', 'pii-ish', '', 'constructor', '__proto__', 'toString'] })).toEqual({
      overall_score: 1,
      risk_level: 'low',
      dimensions: {},
      factors: [],
      requires_escalation: false,
    });
    expect(assessRisk({ action: 'read', dataClasses: ['weather', 'pii'] }).factors).toEqual([
      { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
    ]);
    expect(assessRisk({ action: 'toString:x' }).factors).toEqual([]);
  });

  it('each dimension is the max over the data classes, and every factor is recorded', () => {
    const a = assessRisk({ action: 'read', dataClasses: ['pii', 'phi', 'biometric', 'internal', 'confidential'] });
    expect(a.dimensions).toEqual({ security: 60, privacy: 90, compliance: 85 });
    expect(a.factors).toEqual([
      { source: 'data_class', key: 'biometric', dimension: 'privacy', value: 90 },
      { source: 'data_class', key: 'biometric', dimension: 'compliance', value: 85 },
      { source: 'data_class', key: 'confidential', dimension: 'security', value: 60 },
      { source: 'data_class', key: 'internal', dimension: 'security', value: 30 },
      { source: 'data_class', key: 'phi', dimension: 'privacy', value: 85 },
      { source: 'data_class', key: 'phi', dimension: 'compliance', value: 80 },
      { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
    ]);
    // (25·60 + 20·90 + 20·85) / 65 = 5000 / 65 = 76.9 → 76
    expect(a.overall_score).toBe(76);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Term risks, explicit dimensions

describe('policy term risks and explicit dimensions', () => {
  it('term risks take part in the max and are recorded with the term id, sorted by term id', () => {
    const a = assessRisk({
      action: 'export:report',
      dataClasses: ['pii'],
      termRisks: [
        { termId: 'z_term', risk: { privacy: 60, financial: 40 } },
        { termId: 'a_term', risk: { privacy: 95 } },
      ],
    });
    expect(a.dimensions).toEqual({ privacy: 95, financial: 40 });
    expect(a.factors).toEqual([
      { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
      { source: 'action_verb', key: 'export', dimension: 'privacy', value: 50 },
      { source: 'policy_term', key: 'a_term', dimension: 'privacy', value: 95 },
      { source: 'policy_term', key: 'z_term', dimension: 'privacy', value: 60 },
      { source: 'policy_term', key: 'z_term', dimension: 'financial', value: 40 },
    ]);
    // (20·95 + 10·40) / 30 = 2300 / 30 = 76.6 → 76
    expect(a.overall_score).toBe(76);
  });

  it('a term risk below the table value does not lower it', () => {
    const a = assessRisk({ action: 'read', dataClasses: ['credentials'], termRisks: [{ termId: 't', risk: { security: 10 } }] });
    expect(a.dimensions).toEqual({ security: 90 });
    expect(a.factors).toHaveLength(2);
  });

  it('explicit dimensions take part in the max and are recorded last', () => {
    const a = assessRisk({
      action: 'delete:x',
      termRisks: [{ termId: 't', risk: { security: 40 } }],
      dimensions: { security: 20, operational: 90, reputational: 0 },
    });
    expect(a.dimensions).toEqual({ security: 40, operational: 90, reputational: 0 });
    expect(a.factors).toEqual([
      { source: 'action_verb', key: 'delete', dimension: 'operational', value: 70 },
      { source: 'policy_term', key: 't', dimension: 'security', value: 40 },
      { source: 'explicit', key: 'dimensions', dimension: 'security', value: 20 },
      { source: 'explicit', key: 'dimensions', dimension: 'operational', value: 90 },
      { source: 'explicit', key: 'dimensions', dimension: 'reputational', value: 0 },
    ]);
    // (25·40 + 15·90 + 10·0) / 50 = 2350 / 50 = 47
    expect(a.overall_score).toBe(47);
  });

  it('a dimension given as 0 is present (it pulls the mean down), an absent one is not', () => {
    expect(assessRisk({ action: 'read', dimensions: { security: 80 } }).overall_score).toBe(80);
    expect(assessRisk({ action: 'read', dimensions: { security: 80, privacy: 0 } }).overall_score).toBe(44);
    expect(assessRisk({ action: 'read', dimensions: { security: 80, privacy: undefined } }).overall_score).toBe(80);
  });

  it('termRiskFromMetadata reads metadata.risk (known dimensions, integers 0–100 only)', () => {
    expect(termRiskFromMetadata({ risk: { privacy: 80 } })).toEqual({ privacy: 80 });
    expect(termRiskFromMetadata({ risk: { financial: 5, security: 0, other: 9, privacy: 101, compliance: 2.5 } })).toEqual({
      security: 0,
      financial: 5,
    });
    expect(termRiskFromMetadata({})).toBeUndefined();
    expect(termRiskFromMetadata(null)).toBeUndefined();
    expect(termRiskFromMetadata({ risk: 'high' })).toBeUndefined();
    expect(termRiskFromMetadata({ risk: {} })).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------
// risk_level floor

describe('the risk_level floor', () => {
  const floors: Array<[RequestRiskLevel, number, string]> = [
    [1, 1, 'low'],
    [2, 30, 'medium'],
    [3, 50, 'medium'],
    [4, 60, 'high'],
    [5, 80, 'critical'],
  ];

  it('maps 1 → 1, 2 → 30, 3 → 50, 4 → 60, 5 → 80', () => {
    expect(RISK_LEVEL_FLOORS).toEqual({ 1: 1, 2: 30, 3: 50, 4: 60, 5: 80 });
  });

  it.each(floors)('risk_level %i raises a 1 to %i (%s) and is recorded', (level, floor, name) => {
    const a = assessRisk({ action: 'read', riskLevel: level });
    expect(a.overall_score).toBe(floor);
    expect(a.risk_level).toBe(name);
    expect(a.requires_escalation).toBe(level === 5);
    expect(a.dimensions).toEqual({});
    if (level === 1) expect(a.factors).toEqual([]); // 1 never raises: the score is already ≥ 1
    else expect(a.factors).toEqual([{ source: 'risk_level_floor', key: `risk_level:${level}`, value: floor }]);
  });

  it.each(floors)('risk_level %i leaves a higher score alone and is not recorded', (level) => {
    const a = assessRisk({ action: 'read', riskLevel: level, dimensions: { security: 90 } });
    expect(a.overall_score).toBe(90);
    expect(a.factors.some((f) => f.source === 'risk_level_floor')).toBe(false);
  });

  it.each(floors)('risk_level %i equal to the score is not recorded', (level, floor) => {
    const a = assessRisk({ action: 'read', riskLevel: level, dimensions: { security: floor } });
    expect(a.overall_score).toBe(floor);
    expect(a.factors.some((f) => f.source === 'risk_level_floor')).toBe(false);
  });

  it('the floor comes after the dimension factors and does not change the dimensions', () => {
    const a = assessRisk({ action: 'read', dataClasses: ['pii'], riskLevel: 5 });
    expect(a.factors).toEqual([
      { source: 'data_class', key: 'pii', dimension: 'privacy', value: 70 },
      { source: 'risk_level_floor', key: 'risk_level:5', value: 80 },
    ]);
    expect(a.dimensions).toEqual({ privacy: 70 });
    expect(a.overall_score).toBe(80);
    expect(a.requires_escalation).toBe(true);
  });

  it('rejects a risk_level outside 1–5', () => {
    for (const bad of [0, 6, 2.5, Number.NaN, '3']) {
      expect(() => assessRisk({ action: 'read', riskLevel: bad as RequestRiskLevel })).toThrow(RangeError);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Determinism and recomputability

/** Random risk vectors, leaning on the level boundaries. */
function randomVector(g: Gen, p: number): RiskVector {
  const v: RiskVector = {};
  for (const d of RISK_DIMENSIONS) if (g.chance(p)) v[d] = g.pick([0, 1, 29, 30, 59, 60, 79, 80, 100, g.int(101)]);
  return v;
}

const CLASSES = [...Object.keys(DEFAULT_FACTOR_TABLE.dataClasses), 'PII', 'Secrets', 'weather', 'unknown'];
const VERBS = [...Object.keys(DEFAULT_FACTOR_TABLE.verbs), 'read', 'Delete', 'RUN', 'bulk', 'list'];
const SEPARATORS = [':', '_', ' ', ''];
const TAILS = ['customer', 'bulk', 'records_bulk', 'pii', 'x y', ''];

function randomInput(g: Gen): RiskInput {
  const input: RiskInput = { action: g.pick(VERBS) + g.pick(SEPARATORS) + g.pick(TAILS) };
  if (g.chance(0.8)) input.dataClasses = Array.from({ length: g.int(5) }, () => g.pick(CLASSES));
  if (g.chance(0.4)) input.riskLevel = g.pick([1, 2, 3, 4, 5] as const);
  if (g.chance(0.5)) {
    input.termRisks = Array.from({ length: g.int(4) }, () => ({ termId: g.pick(['t1', 't2', 'action:x', 'dc:pii']), risk: randomVector(g, 0.3) }));
  }
  if (g.chance(0.3)) input.dimensions = randomVector(g, 0.4);
  return input;
}

/** Recomputes from the factors alone, independently of the engine's own code. */
function rederive(factors: readonly RiskFactor[]): { dimensions: RiskVector; overall: number } {
  const dimensions: RiskVector = {};
  for (const d of RISK_DIMENSIONS) {
    const values = factors.filter((f) => f.dimension === d).map((f) => f.value);
    if (values.length > 0) dimensions[d] = Math.max(...values);
  }
  let num = 0;
  let den = 0;
  for (const d of RISK_DIMENSIONS) {
    const v = dimensions[d];
    if (v === undefined) continue;
    num += RISK_WEIGHT_PERCENT[d] * v;
    den += RISK_WEIGHT_PERCENT[d];
  }
  let overall = den === 0 ? 1 : Math.min(100, Math.max(1, Math.floor(num / den)));
  for (const f of factors) if (f.source === 'risk_level_floor') overall = Math.max(overall, f.value);
  return { dimensions, overall };
}

describe('determinism and recomputability', () => {
  it('the same input gives the same assessment; input order of data classes and term risks does not matter', () => {
    const g = new Gen(42);
    for (let i = 0; i < 500; i++) {
      const input = randomInput(g);
      const a = assessRisk(input);
      expect(assessRisk(structuredClone(input))).toEqual(a);
      const shuffled: RiskInput = { ...input };
      if (input.dataClasses) shuffled.dataClasses = g.shuffle(input.dataClasses);
      if (input.termRisks) shuffled.termRisks = g.shuffle(input.termRisks);
      expect(JSON.stringify(assessRisk(shuffled))).toBe(JSON.stringify(a));
    }
  });

  it('does not mutate its input', () => {
    const input: RiskInput = {
      action: 'delete:bulk',
      dataClasses: ['PII', 'phi'],
      termRisks: [{ termId: 'b', risk: { security: 5 } }, { termId: 'a', risk: { privacy: 5 } }],
      dimensions: { financial: 10 },
      riskLevel: 3,
    };
    const copy = structuredClone(input);
    assessRisk(input);
    expect(input).toEqual(copy);
  });

  for (const seed of [1, 2, 3, 0xdecade, 0xbadc0de]) {
    it(`property (seed ${seed}): dimensions and the overall score re-derive from the recorded factors`, () => {
      const g = new Gen(seed);
      for (let i = 0; i < 1000; i++) {
        const input = randomInput(g);
        const a = assessRisk(input);
        const r = rederive(a.factors);
        expect(r.dimensions).toEqual(a.dimensions);
        expect(r.overall).toBe(a.overall_score);
        expect(a.risk_level).toBe(riskLevelOf(a.overall_score));
        expect(a.requires_escalation).toBe(a.overall_score >= 80);
        expect(a.overall_score).toBeGreaterThanOrEqual(1);
        expect(a.overall_score).toBeLessThanOrEqual(100);
        // The floor is honoured, and recorded exactly when it raised the score.
        const floor = input.riskLevel === undefined ? 1 : RISK_LEVEL_FLOORS[input.riskLevel];
        expect(a.overall_score).toBeGreaterThanOrEqual(floor);
        const unfloored = scoreDimensions(a.dimensions).overall;
        expect(a.factors.some((f) => f.source === 'risk_level_floor')).toBe(floor > unfloored);
        // The exported verifier agrees, also after a JSON round trip (as read back from the ledger).
        const { factors, ...rest } = a;
        expect(recomputeRisk(JSON.parse(JSON.stringify(factors)) as RiskFactor[])).toEqual(rest);
        // Every factor is well formed.
        for (const f of a.factors) {
          expect(Number.isInteger(f.value) && f.value >= 0 && f.value <= 100).toBe(true);
          expect(f.dimension === undefined).toBe(f.source === 'risk_level_floor');
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Factor tables

const CUSTOM_JSON = {
  data_classes: { pii: { privacy: 40 }, telemetry: { privacy: 20, reputational: 30 }, public: {} },
  verbs: { purge: { operational: 95 } },
  bulk: { operational: 10 },
};

describe('parseFactorTable', () => {
  it('reads a valid table', () => {
    const { table, problems } = parseFactorTable(CUSTOM_JSON);
    expect(problems).toEqual([]);
    expect(table).toEqual({
      dataClasses: CUSTOM_JSON.data_classes,
      verbs: CUSTOM_JSON.verbs,
      bulk: CUSTOM_JSON.bulk,
    });
  });

  it('round-trips the default table through its JSON form', () => {
    const json = JSON.parse(JSON.stringify(factorTableToJson(DEFAULT_FACTOR_TABLE))) as unknown;
    expect(parseFactorTable(json)).toEqual({ table: DEFAULT_FACTOR_TABLE, problems: [] });
  });

  it('accepts empty sections', () => {
    expect(parseFactorTable({ data_classes: {}, verbs: {}, bulk: {} })).toEqual({
      table: { dataClasses: {}, verbs: {}, bulk: {} },
      problems: [],
    });
  });

  it('reports every problem with its path, and returns no table', () => {
    const { table, problems } = parseFactorTable({
      data_classes: {
        pii: { privacy: 101 },
        PHI: { privacy: 80 },
        'my class': { secrecy: 50 },
        ok: { security: 50 },
        weird: 7,
        frac: { financial: 2.5, compliance: -1, security: '50' },
      },
      verbs: { delete_all: { operational: 70 }, 'run job': {}, '': {}, Send: {}, fine: { privacy: 1 } },
      bulk: { operational: 50, vibes: 3 },
      extra: true,
    });
    expect(table).toBeUndefined();
    expect(problems).toEqual([
      { path: '$.extra', message: 'is not a factor table field (data_classes, verbs, bulk)' },
      { path: '$.data_classes.pii.privacy', message: 'must be an integer from 0 to 100' },
      { path: '$.data_classes.PHI', message: 'must be lower-case (matching is case-insensitive)' },
      {
        path: '$.data_classes["my class"].secrecy',
        message: 'is not a risk dimension (security, privacy, compliance, operational, reputational, financial)',
      },
      { path: '$.data_classes.weird', message: 'must be an object mapping dimensions to integers 0–100' },
      { path: '$.data_classes.frac.financial', message: 'must be an integer from 0 to 100' },
      { path: '$.data_classes.frac.compliance', message: 'must be an integer from 0 to 100' },
      { path: '$.data_classes.frac.security', message: 'must be an integer from 0 to 100' },
      { path: '$.verbs.delete_all', message: 'must not contain ":", "_" or a space (the verb ends before the first of them)' },
      { path: '$.verbs["run job"]', message: 'must not contain ":", "_" or a space (the verb ends before the first of them)' },
      { path: '$.verbs[""]', message: 'must not be empty' },
      { path: '$.verbs.Send', message: 'must be lower-case (matching is case-insensitive)' },
      {
        path: '$.bulk.vibes',
        message: 'is not a risk dimension (security, privacy, compliance, operational, reputational, financial)',
      },
    ]);
  });

  it('requires all three sections (the table replaces the default as a whole)', () => {
    expect(parseFactorTable({ data_classes: {} }).problems).toEqual([
      { path: '$.verbs', message: 'is required (the table replaces the default as a whole; give {} for none)' },
      { path: '$.bulk', message: 'is required (the table replaces the default as a whole; give {} for none)' },
    ]);
  });

  it('rejects non-objects at every level', () => {
    for (const raw of [null, 5, 'x', [], undefined]) {
      expect(parseFactorTable(raw)).toEqual({ problems: [{ path: '$', message: 'must be an object {data_classes, verbs, bulk}' }] });
    }
    expect(parseFactorTable({ data_classes: [], verbs: null, bulk: [] }).problems).toEqual([
      { path: '$.data_classes', message: 'must be an object mapping names to {dimension: 0–100}' },
      { path: '$.verbs', message: 'must be an object mapping names to {dimension: 0–100}' },
      { path: '$.bulk', message: 'must be an object mapping dimensions to integers 0–100' },
    ]);
  });

  it('bounds key length and entry count', () => {
    expect(parseFactorTable({ data_classes: { ['a'.repeat(129)]: {} }, verbs: {}, bulk: {} }).problems).toEqual([
      { path: `$.data_classes.${'a'.repeat(129)}`, message: 'must be at most 128 characters' },
    ]);
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`v${i}`, {}]));
    expect(parseFactorTable({ data_classes: {}, verbs: many, bulk: {} }).problems).toEqual([
      { path: '$.verbs', message: 'must have at most 1000 entries' },
    ]);
  });

  it('keeps "__proto__" an ordinary key (JSON.parse input)', () => {
    const raw = JSON.parse('{"data_classes":{"__proto__":{"privacy":10}},"verbs":{},"bulk":{}}') as unknown;
    const { table, problems } = parseFactorTable(raw);
    expect(problems).toEqual([]);
    expect(Object.hasOwn(table!.dataClasses, '__proto__')).toBe(true);
    expect(assessRisk({ action: 'read', dataClasses: ['__proto__'], table: table! }).dimensions).toEqual({ privacy: 10 });
    expect(assessRisk({ action: 'read', dataClasses: ['constructor'], table: table! }).factors).toEqual([]);
  });
});

describe('a custom factor table', () => {
  const custom: FactorTable = parseFactorTable(CUSTOM_JSON).table!;

  it('replaces the default: its rows apply, the default rows do not', () => {
    expect(assessRisk({ action: 'read', dataClasses: ['pii'], table: custom }).dimensions).toEqual({ privacy: 40 });
    expect(assessRisk({ action: 'read', dataClasses: ['telemetry'], table: custom }).dimensions).toEqual({
      privacy: 20,
      reputational: 30,
    });
    expect(assessRisk({ action: 'read', dataClasses: ['credentials', 'phi'], table: custom }).factors).toEqual([]);
    expect(assessRisk({ action: 'delete:x', table: custom }).factors).toEqual([]);
    expect(assessRisk({ action: 'Purge:x', table: custom }).factors).toEqual([
      { source: 'action_verb', key: 'purge', dimension: 'operational', value: 95 },
    ]);
    expect(assessRisk({ action: 'bulk_purge', table: custom }).factors).toEqual([
      { source: 'action_bulk', key: 'bulk', dimension: 'operational', value: 10 },
    ]);
  });

  it('term risks, explicit dimensions and the floor still apply with it', () => {
    const a = assessRisk({
      action: 'purge:x',
      table: custom,
      termRisks: [{ termId: 't', risk: { security: 100 } }],
      dimensions: { privacy: 10 },
      riskLevel: 5,
    });
    expect(a.dimensions).toEqual({ security: 100, privacy: 10, operational: 95 });
    // (25·100 + 20·10 + 15·95) / 60 = 4125 / 60 = 68.75 → 68, raised to 80 by risk_level 5
    expect(a.overall_score).toBe(80);
    expect(a.factors.at(-1)).toEqual({ source: 'risk_level_floor', key: 'risk_level:5', value: 80 });
  });

  it('an empty table raises nothing', () => {
    const empty: FactorTable = { dataClasses: {}, verbs: {}, bulk: {} };
    expect(assessRisk({ action: 'bulk_delete', dataClasses: ['pii'], table: empty }).factors).toEqual([]);
  });
});
