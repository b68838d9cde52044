import { describe, expect, it } from 'vitest';
import {
  ANNEX_IV_ITEMS,
  ANNEX_IV_KEYS,
  buildItem,
  buildTechnicalDocumentation,
  CLASSIFICATIONS,
  documentSha256,
  legalBasis,
  POINT_7_STATEMENT,
  profileProblems,
  technicalDocumentationMarkdown,
  type GeneratedFacts,
  type SystemProfileContent,
} from './annex-iv.js';

const PROFILE: SystemProfileContent = {
  provider: 'Acme Lending SA',
  system_name: 'CreditAssist',
  system_version: '3.1.0',
  intended_purpose: 'Assist loan officers in assessing creditworthiness of natural persons',
  classification: 'annex_iii',
  deployment_forms: ['SaaS API'],
  annex_iv_inputs: {},
};

const FACTS: GeneratedFacts = {
  versionChain: { policy_versions: [{ version_hash: 'a'.repeat(64) }], configuration_sha256: 'b'.repeat(64) },
  oversight: { escalation_chain: ['approver', 'executive'], override_two_person: true },
  testRuns: [{ run_id: 'tst_1', verified: true }],
  riskRegister: { decisions_by_risk_level: { low: 3 } },
  changeLog: [{ seq: 2, event_type: 'policy_loaded' }],
  postMarket: { decisions: 3, deny_rate: 0 },
};

const NO_RUNS: GeneratedFacts = { ...FACTS, testRuns: [] };

const doc = (profile: SystemProfileContent = PROFILE, facts: GeneratedFacts = FACTS) =>
  buildTechnicalDocumentation({ profile, profileVersion: 1, profileSha256: 'c'.repeat(64), facts, asOf: null });

describe('legal basis and date of application', () => {
  it('computes the date from the classification (COMPLIANCE.md §1)', () => {
    expect(legalBasis('annex_iii').applies_from).toBe('2027-12-02');
    expect(legalBasis('annex_i').applies_from).toBe('2028-08-02');
    expect(legalBasis('art_50_only').applies_from).toBe('2026-08-02');
  });

  it('names the regulation, its amendment and the consolidated text', () => {
    for (const c of CLASSIFICATIONS) {
      expect(legalBasis(c).regulation).toEqual({
        celex: '32024R1689',
        amended_by: { celex: '32026R1744', in_force: '2026-07-27' },
        consolidated_text: '02024R1689-20260727',
      });
    }
  });

  it('never uses the superseded 2 Aug 2026 / 2027 high-risk schedule', () => {
    expect(legalBasis('annex_iii').applies_from).not.toBe('2026-08-02');
    expect(legalBasis('annex_i').applies_from).not.toBe('2027-08-02');
    expect(legalBasis('art_50_only').annex_iv_mandatory).toBe(false);
    expect(legalBasis('annex_iii').annex_iv_mandatory).toBe(true);
  });

  it('the document follows the profile: changing the classification changes the date', () => {
    expect(doc().legal_basis.applies_from).toBe('2027-12-02');
    expect(doc({ ...PROFILE, classification: 'annex_i' }).legal_basis.applies_from).toBe('2028-08-02');
  });
});

describe('Annex IV items', () => {
  it('has every key 1.a–1.h, 2.a–2.h, 3–9 exactly once, in order', () => {
    expect(ANNEX_IV_KEYS).toEqual([
      '1.a', '1.b', '1.c', '1.d', '1.e', '1.f', '1.g', '1.h',
      '2.a', '2.b', '2.c', '2.d', '2.e', '2.f', '2.g', '2.h',
      '3', '4', '5', '6', '7', '8', '9',
    ]);
    expect(doc().items.map((i) => i.key)).toEqual(ANNEX_IV_KEYS);
    for (const i of ANNEX_IV_ITEMS) expect(i.title.length).toBeGreaterThan(5);
  });

  it('generates 1.a, 2.e, 2.g, 3, 5, 6, 9 from the facts; the rest needs input', () => {
    const generated = doc().items.filter((i) => i.status === 'generated').map((i) => i.key);
    expect(generated).toEqual(['1.a', '2.e', '2.g', '3', '5', '6', '9']);
    expect(doc().summary).toEqual({ generated: 7, manual_input_required: 16, not_applicable: 0 });
    const a = doc().items.find((i) => i.key === '1.a')!;
    expect(a.content).toMatchObject({ provider: 'Acme Lending SA', version_chain: FACTS.versionChain });
    expect(a.sources).toContain('policy_versions');
  });

  it('2.g is generated only when a signed test run exists', () => {
    expect(buildItem('2.g', PROFILE, NO_RUNS).status).toBe('manual_input_required');
    expect(buildItem('2.g', PROFILE, FACTS).status).toBe('generated');
  });

  it('keeps a manual input with its document hash', () => {
    const p = { ...PROFILE, annex_iv_inputs: { '2.h': { text: 'TLS 1.3, WAF', document_sha256: 'd'.repeat(64) } } };
    expect(buildItem('2.h', p, FACTS)).toMatchObject({ status: 'manual_input_required', content: { manual_input: { text: 'TLS 1.3, WAF', document_sha256: 'd'.repeat(64) } } });
  });

  it('not_applicable carries its justification; an empty one is a problem', () => {
    const p = { ...PROFILE, annex_iv_inputs: { '1.f': { not_applicable_justification: 'Not a product component' } } };
    expect(buildItem('1.f', p, FACTS)).toEqual({ key: '1.f', title: ANNEX_IV_ITEMS[5].title, status: 'not_applicable', justification: 'Not a product component' });
    expect(profileProblems(p)).toEqual([]);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '1.f': { not_applicable_justification: '  ' } } })).toEqual([
      { path: 'annex_iv_inputs.1.f', message: 'not_applicable needs a justification' },
    ]);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '1.f': {} } })[0]!.message).toMatch(/supply text/);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '1.f': { text: 'x', not_applicable_justification: 'y' } } })[0]!.message).toMatch(/not both/);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '10': { text: 'x' } } as never })[0]!.message).toMatch(/unknown Annex IV key/);
    for (const item of doc(p).items) if (item.status === 'not_applicable') expect(item.justification).toBeTruthy();
  });

  it('point 7 never claims a harmonised standard nor a draft, whatever the facts', () => {
    const everything = { ...FACTS, oversight: { ...FACTS.oversight, standard: 'x' } };
    const seven = buildItem('7', PROFILE, everything);
    expect(seven.status).toBe('manual_input_required');
    expect(seven.content).toEqual({ statement: POINT_7_STATEMENT });
    const text = JSON.stringify(doc()) + technicalDocumentationMarkdown(doc(), { documentSha256: 'e'.repeat(64), generatedAt: 'now' });
    expect(text).not.toMatch(/prEN\s*18229/i);
    expect(text).not.toMatch(/DIS\s*24970/i);
    expect(text).not.toMatch(/(conforms|conformance|compliant) (to|with) (the )?harmoni[sz]ed standard/i);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '7': { text: 'We follow prEN 18229-1' } } })[0]!.message).toMatch(/draft standard/);
    expect(profileProblems({ ...PROFILE, annex_iv_inputs: { '7': { text: 'Conforms to ISO/IEC DIS 24970' } } })).toHaveLength(1);
  });

  it('point 8 is never generated: manual input required, or the attached declaration with its hash', () => {
    expect(buildItem('8', PROFILE, FACTS)).toEqual({ key: '8', title: ANNEX_IV_ITEMS[21].title, status: 'manual_input_required' });
    const attached = { ...PROFILE, annex_iv_inputs: { '8': { document_sha256: 'f'.repeat(64) } } };
    expect(buildItem('8', attached, FACTS)).toMatchObject({ status: 'manual_input_required', content: { manual_input: { document_sha256: 'f'.repeat(64) } } });
    for (const c of CLASSIFICATIONS) expect(doc({ ...attached, classification: c }).items.find((i) => i.key === '8')!.status).not.toBe('generated');
  });
});

describe('document hash', () => {
  it('is stable for identical inputs and flips when any input changes', () => {
    const h = documentSha256(doc());
    expect(documentSha256(doc())).toBe(h);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(documentSha256(doc({ ...PROFILE, system_version: '3.1.1' }))).not.toBe(h);
    expect(documentSha256(doc(PROFILE, { ...FACTS, postMarket: { decisions: 4, deny_rate: 0 } }))).not.toBe(h);
    expect(documentSha256(doc(PROFILE, NO_RUNS))).not.toBe(h);
  });
});

describe('markdown', () => {
  it('renders every item with its status, the legal basis and the hash', () => {
    const md = technicalDocumentationMarkdown(doc(), { documentSha256: 'e'.repeat(64), generatedAt: '2026-11-25T10:00:00.000Z' });
    expect(md).toContain('e'.repeat(64));
    expect(md).toContain('apply from 2027-12-02');
    expect(md).toContain('CELEX 32024R1689');
    for (const key of ANNEX_IV_KEYS) expect(md).toMatch(new RegExp(`^### ${key.replace('.', '\\.')} `, 'm'));
    expect(md).toContain('Status: **generated**');
  });
});
