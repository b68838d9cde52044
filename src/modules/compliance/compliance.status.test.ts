import { describe, expect, it } from 'vitest';
import { EVIDENCE_KINDS, PRIMITIVE_EVIDENCE, type EvidenceKind, type FrameworkDef } from './compliance.model.js';
import {
  controlStatus,
  coverageOf,
  evaluateEvidence,
  MAX_TOKEN_TTL_S,
  PCI_RETENTION_DAYS,
  resolveControls,
  RETENTION_FLOOR_DAYS,
  type ComplianceFacts,
} from './compliance.status.js';
import { FRAMEWORKS } from './frameworks/index.js';

const AT = '2026-11-25T10:00:00.000Z';

/** Facts under which every evidence kind holds. */
function goodFacts(): ComplianceFacts {
  return {
    checkedAt: AT,
    ledger: { valid: true, entriesChecked: 10, headSeq: 9, verifiedAt: '2026-11-25T09:55:00.000Z' },
    retentionDays: 400,
    durability: 'full',
    activePolicy: { versionHash: 'a'.repeat(64), mode: 'strict' },
    routes: [
      { method: 'GET', url: '/health', access: 'public' },
      { method: 'GET', url: '/docs/static/*', access: 'public' },
      { method: 'GET', url: '/api/governance/keys', access: 'public' },
      { method: 'GET', url: '/ledger/verify', access: 'roles' },
    ],
    mfaRequiredRoles: ['admin', 'executive'],
    users: [
      { userId: 'usr_admin', role: 'admin', disabled: false, mfaEnabled: true },
      { userId: 'usr_exec', role: 'executive', disabled: false, mfaEnabled: true },
      { userId: 'usr_appr', role: 'approver', disabled: false, mfaEnabled: false },
      { userId: 'usr_op', role: 'operator', disabled: false, mfaEnabled: false },
    ],
    escalation: { chain: ['approver', 'executive', 'admin'], slaMonitorIntervalS: 60 },
    keys: [
      { kid: 'ed-1', alg: 'Ed25519', status: 'active' },
      { kid: 'rsa-1', alg: 'RSA-PSS-SHA256', status: 'active' },
    ],
    tokenTtlS: 300,
    exports: { count: 1, lastSeq: 7, lastAt: '2026-11-25T09:00:00.000Z' },
    annexIv: { profileVersion: 2, total: 23, missing: [] },
  };
}

/** For each evidence kind, a change of the facts that removes that evidence. */
const BREAKERS: Record<EvidenceKind, Array<[string, (f: ComplianceFacts) => void]>> = {
  ledger_verifies: [['a broken chain', (f) => (f.ledger = { ...f.ledger, valid: false, firstInvalid: { seq: 3, reason: 'hash mismatch' } })]],
  retention_floor: [['retention below 183 days', (f) => (f.retentionDays = RETENTION_FLOOR_DAYS - 1)]],
  retention_12_months: [['retention below 365 days', (f) => (f.retentionDays = PCI_RETENTION_DAYS - 1)]],
  durability_full: [['durability normal', (f) => (f.durability = 'normal')]],
  policy_active: [['no active policy', (f) => (f.activePolicy = null)]],
  default_deny: [
    ['a permissive policy', (f) => (f.activePolicy = { versionHash: 'b'.repeat(64), mode: 'permissive' })],
    ['no active policy', (f) => (f.activePolicy = null)],
  ],
  risk_scoring: [['no active policy', (f) => (f.activePolicy = null)]],
  routes_guarded: [
    ['a route without access', (f) => (f.routes = [...f.routes, { method: 'GET', url: '/x', access: undefined }])],
    ['an extra anonymous route', (f) => (f.routes = [...f.routes, { method: 'GET', url: '/decisions', access: 'public' }])],
  ],
  mfa_privileged: [
    ['mfaRequiredRoles empty', (f) => (f.mfaRequiredRoles = [])],
    ['executive not required', (f) => (f.mfaRequiredRoles = ['admin'])],
    ['an admin without MFA', (f) => (f.users = [...f.users, { userId: 'usr_x', role: 'admin', disabled: false, mfaEnabled: false }])],
  ],
  oversight_configured: [
    ['empty chain', (f) => (f.escalation = { ...f.escalation, chain: [] })],
    ['nobody in the chain', (f) => (f.users = f.users.filter((u) => u.role === 'operator'))],
    ['SLA monitor off', (f) => (f.escalation = { ...f.escalation, slaMonitorIntervalS: 0 })],
  ],
  halt_available: [['no operator/executive/admin enabled', (f) => (f.users = f.users.map((u) => ({ ...u, disabled: u.role !== 'approver' })))]],
  override_authority: [['no executive/admin enabled', (f) => (f.users = f.users.filter((u) => u.role !== 'admin' && u.role !== 'executive'))]],
  signing_key_active: [['no active Ed25519 key', (f) => (f.keys = f.keys.filter((k) => k.alg !== 'Ed25519'))]],
  tokens_signed: [
    ['no active Ed25519 key', (f) => (f.keys = [{ kid: 'ed-0', alg: 'Ed25519', status: 'retired' }])],
    ['token TTL above an hour', (f) => (f.tokenTtlS = MAX_TOKEN_TTL_S + 1)],
  ],
  exports_signed: [['no export', (f) => (f.exports = { count: 0, lastSeq: null, lastAt: null })]],
  annex_iv_complete: [
    ['no system profile', (f) => (f.annexIv = null)],
    ['an Annex IV item without content', (f) => (f.annexIv = { profileVersion: 2, total: 23, missing: [{ key: '2.b', title: 'Design specifications' }] })],
  ],
};

const RESOLVED = FRAMEWORKS.flatMap((fw) => resolveControls(fw).map((c) => ({ fw, c })));

describe('evaluateEvidence', () => {
  it('every kind holds on good facts', () => {
    const ev = evaluateEvidence(goodFacts());
    for (const kind of EVIDENCE_KINDS) expect(ev[kind], kind).toMatchObject({ kind, holds: true });
    expect(ev.ledger_verifies.checked_at).toBe('2026-11-25T09:55:00.000Z');
    expect(ev.retention_floor.checked_at).toBe(AT);
  });

  for (const kind of EVIDENCE_KINDS) {
    for (const [what, breakIt] of BREAKERS[kind]) {
      it(`${kind} fails on ${what}, and every control that needs it flips to not_satisfied`, () => {
        const facts = goodFacts();
        breakIt(facts);
        const ev = evaluateEvidence(facts);
        expect(ev[kind].holds).toBe(false);
        expect(ev[kind].detail.length).toBeGreaterThan(0);
        const good = evaluateEvidence(goodFacts());
        const dependent = RESOLVED.filter(({ c }) => c.evidenceKinds.includes(kind));
        expect(dependent.length).toBeGreaterThan(0);
        for (const { fw, c } of dependent) {
          expect(controlStatus(c, good, { inScope: true }, AT).status, `${fw.id} ${c.def.id}`).toBe('satisfied');
          const s = controlStatus(c, ev, { inScope: true }, AT);
          expect(s.status, `${fw.id} ${c.def.id}`).toBe('not_satisfied');
          expect(s.reason).toContain(`${kind}: `);
        }
        // Controls that do not need it keep their status.
        for (const { c } of RESOLVED.filter(({ c }) => c.evidenceKinds.length > 0 && !c.evidenceKinds.some((k) => !ev[k].holds))) {
          expect(controlStatus(c, ev, { inScope: true }, AT).status).toBe('satisfied');
        }
      });
    }
  }

  it('a disabled admin without MFA does not break mfa_privileged', () => {
    const facts = goodFacts();
    facts.users = [...facts.users, { userId: 'usr_old', role: 'admin', disabled: true, mfaEnabled: false }];
    expect(evaluateEvidence(facts).mfa_privileged.holds).toBe(true);
  });

  it('every route under /docs may be anonymous, and so may the OIDC login and callback', () => {
    const facts = goodFacts();
    facts.routes = [
      { method: 'GET', url: '/docs', access: 'public' },
      { method: 'GET', url: '/docs/json', access: 'public' },
      { method: 'GET', url: '/auth/oidc/:provider/login', access: 'public' },
      { method: 'GET', url: '/auth/oidc/:provider/callback', access: 'public' },
      { method: 'GET', url: '/documents', access: 'roles' },
    ];
    expect(evaluateEvidence(facts).routes_guarded.holds).toBe(true);
    facts.routes = [...facts.routes, { method: 'GET', url: '/documents', access: 'public' }];
    expect(evaluateEvidence(facts).routes_guarded).toMatchObject({ holds: false, detail: expect.stringContaining('GET /documents') });
  });
});

describe('EU AI Act Art 11', () => {
  const euAiAct = FRAMEWORKS.find((f) => f.id === 'eu-ai-act')!;
  const art11 = resolveControls(euAiAct).filter((c) => c.def.id === 'Art 11' || c.def.id === 'Annex IV');

  it('is not satisfied by an export alone: while Annex IV items lack content it names them', () => {
    const facts = goodFacts();
    facts.annexIv = {
      profileVersion: 1,
      total: 23,
      missing: [
        { key: '1.b', title: 'Interaction with hardware, software or other AI systems' },
        { key: '8', title: 'Copy of the EU declaration of conformity (Art 47)' },
      ],
    };
    expect(art11.map((c) => c.def.id)).toEqual(['Art 11', 'Annex IV']);
    for (const c of art11) {
      const s = controlStatus(c, evaluateEvidence(facts), { inScope: true }, AT);
      expect(s.status, c.def.id).toBe('not_satisfied');
      expect(s.reason).toContain('annex_iv_complete: 2 of 23 Annex IV items have no content (system profile version 1): 1.b Interaction');
      expect(s.reason).toContain('; 8 Copy of the EU declaration of conformity');
      // Every other piece of evidence holds: the missing content alone decides.
      expect(s.evidence.filter((e) => !e.holds).map((e) => e.kind)).toEqual(['annex_iv_complete']);
    }
  });

  it('is satisfied when every item has content and the other evidence holds', () => {
    for (const c of art11) expect(controlStatus(c, evaluateEvidence(goodFacts()), { inScope: true }, AT).status).toBe('satisfied');
  });
});

describe('controlStatus', () => {
  const fw: FrameworkDef = {
    id: 't',
    name: 'T',
    version: '1',
    source: 's',
    controls: [
      { id: 'C1', title: 'one' },
      { id: 'C2', title: 'two' },
      { id: 'C3', title: 'three', extraEvidence: ['retention_12_months'] },
    ],
    mapping: { audit_ledger: ['C1', { id: 'C3', partial: true }], mfa: [{ id: 'C1', partial: true }] },
  };
  const [c1, c2, c3] = resolveControls(fw);

  it('resolves primitives (partial or not) and the union of their evidence kinds plus extras', () => {
    expect(c1!.primitives).toEqual([
      { primitive: 'audit_ledger', partial: false },
      { primitive: 'mfa', partial: true },
    ]);
    expect(c1!.evidenceKinds).toEqual(['ledger_verifies', 'retention_floor', 'durability_full', 'mfa_privileged']);
    expect(c2!.evidenceKinds).toEqual([]);
    expect(c3!.evidenceKinds).toEqual([...PRIMITIVE_EVIDENCE.audit_ledger.slice(0, 2), 'retention_12_months', 'durability_full']);
  });

  it('a control without automated evidence is manual; out of scope is not_applicable without evidence', () => {
    const ev = evaluateEvidence(goodFacts());
    expect(controlStatus(c2!, ev, { inScope: true }, AT)).toMatchObject({ status: 'manual', evidence: [] });
    const facts = goodFacts();
    facts.ledger = { ...facts.ledger, valid: false };
    const na = controlStatus(c1!, evaluateEvidence(facts), { inScope: false, justification: 'no cardholder data here at all' }, AT);
    expect(na).toMatchObject({ status: 'not_applicable', evidence: [], checked_at: AT });
    expect(na.reason).toContain('no cardholder data');
  });

  it('satisfied carries every evidence result with its check time', () => {
    const s = controlStatus(c1!, evaluateEvidence(goodFacts()), { inScope: true }, AT);
    expect(s).toMatchObject({ status: 'satisfied', reason: null, checked_at: AT });
    expect(s.evidence.map((e) => e.kind)).toEqual(c1!.evidenceKinds);
  });

  it('refuses a mapping that names an unknown control', () => {
    expect(() => resolveControls({ ...fw, mapping: { mfa: ['C9'] } })).toThrow(/unknown control C9/);
  });
});

describe('coverageOf', () => {
  it('counts statuses and the automated satisfied share', () => {
    const c = coverageOf([{ status: 'satisfied' }, { status: 'satisfied' }, { status: 'not_satisfied' }, { status: 'manual' }, { status: 'not_applicable' }]);
    expect(c).toEqual({ total: 5, satisfied: 2, not_satisfied: 1, manual: 1, not_applicable: 1, automated_satisfied_percent: 66.7 });
    expect(coverageOf([{ status: 'manual' }]).automated_satisfied_percent).toBeNull();
  });
});
