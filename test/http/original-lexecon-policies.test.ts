/**
 * The original Lexecon's example policies (policies/original-lexecon/, MIT) load unchanged through
 * POST /policies/load and decide what their readers expect (issue 14, E).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseMisses, caseName, PolicyTestCasesSchema } from '../../src/modules/policy/policy.test-cases.js';
import { bearer, buildTestApp, createAgentKey, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DIR = path.join(REPO_ROOT, 'policies', 'original-lexecon');
const read = (file: string) => fs.readFileSync(path.join(DIR, file));

interface Expected {
  file: string;
  sha256: string;
  policyId: string;
  mode: string;
  terms: number;
  relations: number;
  /** Every warning, counted; those that are not an ignored key are listed. */
  warnings: number;
  notIgnored: Array<[string, RegExp]>;
}

const implicitTerm = (id: string, type: string) => new RegExp(`^term "${id}" is not defined; treated as an implicit ${type} term$`);
/** DESIGN §4: a requirement any caller meets by asserting it is warned about at load. */
const selfAsserted = (id: string) => new RegExp(`^requirement "${id}" is self-asserted: any caller meets it by sending context\\.${id} = true`);

const FILES: Expected[] = [
  {
    file: 'example_policy.json',
    sha256: 'a8e3c4488451a52e20bcf283897c4efac8f772cba58b2895b3c27f988fdb0938',
    policyId: 'pol-5a0fdb65360b80a7',
    mode: 'strict',
    terms: 6,
    relations: 4,
    warnings: 1,
    notIgnored: [['$.policy_id', /^the document has neither policy_id nor name: derived "pol-5a0fdb65360b80a7" from the document's content/]],
  },
  {
    file: 'enterprise_general_policy.json',
    sha256: '6eea733ba8e1a10b25a42f7242add45b1c9f54b70ac5ebce9c2c036d62e28838',
    policyId: 'enterprise-general-ai-governance-policy',
    mode: 'strict',
    terms: 15,
    relations: 9,
    warnings: 13,
    notIgnored: [
      ['$.relations[1].object', implicitTerm('data:public_documentation', 'data_class')],
      ['$.relations[8].condition', implicitTerm('api_endpoint_whitelisted', 'context')],
      ['$.relations[8].condition', selfAsserted('api_endpoint_whitelisted')],
    ],
  },
  {
    file: 'financial_services_policy.json',
    sha256: '0a4e2f48a34fe5c58cfd80d25a2b61ea29cc8b72af50ef7bf224c8cd71761fc4',
    policyId: 'financial-services-ai-governance-policy',
    mode: 'strict',
    terms: 20,
    relations: 10,
    warnings: 23,
    notIgnored: [
      ['$.relations[3].action', implicitTerm('action:access_pci_cardholder_data', 'action')],
      ['$.relations[5].action', implicitTerm('action:analyze_transaction_patterns', 'action')],
      ['$.relations[5].object', implicitTerm('data:tokenized_transaction_data', 'data_class')],
      ['$.relations[6].action', implicitTerm('action:analyze_market_data', 'action')],
      ['$.relations[7].condition', implicitTerm('dual_authorization', 'context')],
      ['$.relations[8].condition', implicitTerm('business_need_documented', 'context')],
      ['$.relations[9].condition', implicitTerm('audit_trail_generated', 'context')],
      ['$.relations[7].condition', selfAsserted('dual_authorization')],
      ['$.relations[8].condition', selfAsserted('business_need_documented')],
      ['$.relations[9].condition', selfAsserted('audit_trail_generated')],
    ],
  },
  {
    file: 'gdpr_compliance_policy.json',
    sha256: '442ff2174444b21fd0b8e4bce575630f8ad7fc5c84f29b3236197e6f20012b07',
    policyId: 'gdpr-compliance-policy',
    mode: 'strict',
    terms: 13,
    relations: 10,
    warnings: 17,
    notIgnored: [
      ['$.relations[8].condition', implicitTerm('valid_legal_basis', 'context')],
      ['$.relations[9].condition', implicitTerm('adequacy_decision_or_safeguards', 'context')],
      ['$.relations[8].condition', selfAsserted('valid_legal_basis')],
      ['$.relations[9].condition', selfAsserted('adequacy_decision_or_safeguards')],
    ],
  },
  {
    file: 'hipaa_healthcare_policy.json',
    sha256: '63883b5a57926cfb921601e8cf31dc1e012fcd61cf68f09be64dd780242cc238',
    policyId: 'hipaa-healthcare-policy',
    mode: 'paranoid',
    terms: 15,
    relations: 9,
    warnings: 20,
    notIgnored: [
      ['$.relations[6].condition', implicitTerm('access_logged_with_audit_trail', 'context')],
      ['$.relations[7].condition', implicitTerm('tls_1_2_or_higher', 'context')],
      ['$.relations[8].condition', implicitTerm('healthcare_provider_review_required', 'context')],
      [
        '$.relations[8].subject',
        /^requires with subject and action: its conditions are required of "action:generate_clinical_note" for every actor, not only "actor:ai_clinical_assistant"/,
      ],
      ['$.relations[6].condition', selfAsserted('access_logged_with_audit_trail')],
      ['$.relations[7].condition', selfAsserted('tls_1_2_or_higher')],
      ['$.relations[8].condition', selfAsserted('healthcare_provider_review_required')],
    ],
  },
];

let t: TestApp;
let lead: string;

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
});
afterAll(() => t.app.close());

const post = (url: string, body: unknown, token = lead): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), payload: body as object });

describe('the original Lexecon example policies', () => {
  it('are all here, with the original licence notice', () => {
    expect(fs.readdirSync(DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.cases.json')).sort()).toEqual(
      FILES.map((f) => f.file).sort(),
    );
    const licence = read('LICENSE').toString('utf8');
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) 2025 Lexicoding Systems\n/);
    expect(licence).toContain('The above copyright notice and this permission notice shall be included');
  });

  describe.each(FILES)('$file', (expected) => {
    let versionHash: string;

    it('is the original file, unchanged', () => {
      expect(createHash('sha256').update(read(expected.file)).digest('hex')).toBe(expected.sha256);
    });

    it('loads through POST /policies/load with its terms, relations and warnings', async () => {
      const res = await post('/policies/load', JSON.parse(read(expected.file).toString('utf8')));
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json();
      expect(body).toMatchObject({
        policy_id: expected.policyId,
        mode: expected.mode,
        terms_loaded: expected.terms,
        relations_loaded: expected.relations,
        created: true,
        activated: true,
      });
      const warnings = body.warnings as Array<{ path: string; message: string }>;
      expect(warnings).toHaveLength(expected.warnings);
      const notIgnored = warnings.filter((w) => !w.message.endsWith('; ignored'));
      expect(notIgnored.map((w) => w.path)).toEqual(expected.notIgnored.map(([p]) => p));
      notIgnored.forEach((w, i) => expect(w.message).toMatch(expected.notIgnored[i]![1]));
      versionHash = body.version_hash;
    });

    it('decides its cases as a reader of the policy expects (POST /policies/evaluate)', async () => {
      const cases = PolicyTestCasesSchema.parse(JSON.parse(read(expected.file.replace(/\.json$/, '.cases.json')).toString('utf8')));
      expect(cases.length).toBeGreaterThanOrEqual(8);
      const failures: string[] = [];
      for (const [i, c] of cases.entries()) {
        const res = await post('/policies/evaluate', { ...c.request, version_hash: versionHash });
        expect(res.statusCode, res.body).toBe(200);
        const misses = caseMisses(c, res.json());
        if (misses.length > 0) failures.push(`${caseName(c, i)}: ${misses.join('; ')}`);
      }
      expect(failures).toEqual([]);
    });
  });

  it('loading the id-less example again gives the same derived id and no new version', async () => {
    const res = await post('/policies/load', JSON.parse(read('example_policy.json').toString('utf8')));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ policy_id: 'pol-5a0fdb65360b80a7', created: false });
  });

  it('decides through POST /decide: data:pii-style terms match bare data classes', async () => {
    expect((await post('/policies/load', JSON.parse(read('gdpr_compliance_policy.json').toString('utf8')))).statusCode).toBe(201);
    const agent = await createAgentKey(t, 'ai_model');
    const decide = (data_classes: string[]) =>
      post('/decide', { actor: 'ai_model', proposed_action: 'read', tool: 'db', data_classes }, agent.secret);
    const pub = await decide(['public']);
    expect(pub.statusCode).toBe(200);
    expect(pub.json()).toMatchObject({ outcome: 'approved', allowed: true, policy: { policy_id: 'gdpr-compliance-policy' } });
    expect(pub.json().capability_token).not.toBeNull();
    const personal = await decide(['personal_data']);
    expect(personal.json()).toMatchObject({ outcome: 'denied', allowed: false, capability_token: null });
    expect(personal.json().explanation.matched).toEqual([
      expect.objectContaining({ relation_id: 'forbids:actor:ai_model->action:read:data:personal_data', effect: 'forbid' }),
    ]);
  });
});
