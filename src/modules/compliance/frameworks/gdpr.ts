import type { FrameworkDef } from '../compliance.model.js';

/** GDPR: the provisions of the COMPLIANCE.md §3 mapping. Art 33 (personal-data breach notification) is never mapped. */
export const gdpr: FrameworkDef = {
  id: 'gdpr',
  name: 'GDPR',
  version: 'Regulation (EU) 2016/679',
  source: 'CELEX 32016R0679',
  controls: [
    { id: 'Art 5(1)(f)', title: 'Integrity and confidentiality of personal data' },
    { id: 'Art 5(2)', title: 'Accountability: the controller can demonstrate compliance' },
    { id: 'Art 22(3)', title: 'Automated decisions: right to human intervention and to contest' },
    { id: 'Art 24(1)', title: 'Controller implements risk-appropriate measures and can demonstrate them' },
    { id: 'Art 25(1)', title: 'Data protection by design' },
    { id: 'Art 25(2)', title: 'Data protection by default' },
    { id: 'Art 30(4)', title: 'Records of processing made available to the supervisory authority' },
    { id: 'Art 32(1)(b)', title: 'Ongoing confidentiality, integrity, availability and resilience' },
    { id: 'Art 32(1)(d)', title: 'Regular testing, assessment and evaluation of security measures' },
    { id: 'Art 32(2)', title: 'Security level assessed against the risks of processing' },
    { id: 'Art 32(4)', title: 'Persons under the controller’s authority process only on instructions' },
    { id: 'Art 35(7)(c)', title: 'Impact assessment: assessment of the risks to rights and freedoms' },
  ],
  // COMPLIANCE.md §3, GDPR column.
  mapping: {
    policy_decision: ['Art 25(1)', 'Art 25(2)', 'Art 32(1)(b)'],
    audit_ledger: ['Art 5(2)', 'Art 32(1)(d)'],
    tamper_evidence: ['Art 5(1)(f)', 'Art 32(1)(b)'],
    access_control: ['Art 25(2)', 'Art 32(1)(b)', 'Art 32(4)'],
    mfa: ['Art 32(1)(b)'],
    human_oversight: ['Art 22(3)'],
    override: ['Art 22(3)', 'Art 5(2)'],
    capability_token: ['Art 25(2)', 'Art 32(1)(b)'],
    risk_assessment: ['Art 35(7)(c)', 'Art 32(2)', 'Art 24(1)'],
    evidence_export: ['Art 5(2)', 'Art 30(4)'],
  },
};
