import type { FrameworkDef } from '../compliance.model.js';

/** HIPAA Security Rule: the 45 CFR 164.308–164.316 provisions of the COMPLIANCE.md §3 mapping. */
export const hipaa: FrameworkDef = {
  id: 'hipaa',
  name: 'HIPAA Security Rule',
  version: '45 CFR Part 164 Subpart C',
  source: '45 CFR 164.308–164.316',
  controls: [
    { id: '164.308(a)(1)(ii)(A)', title: 'Risk analysis' },
    { id: '164.308(a)(1)(ii)(B)', title: 'Risk management' },
    { id: '164.308(a)(1)(ii)(D)', title: 'Information system activity review' },
    { id: '164.308(a)(3)', title: 'Workforce security' },
    { id: '164.308(a)(4)', title: 'Information access management' },
    { id: '164.308(a)(6)', title: 'Security incident procedures' },
    { id: '164.312(a)(1)', title: 'Access control' },
    { id: '164.312(a)(2)(ii)', title: 'Emergency access procedure' },
    { id: '164.312(b)', title: 'Audit controls' },
    { id: '164.312(c)(1)', title: 'Integrity' },
    { id: '164.312(d)', title: 'Person or entity authentication' },
    { id: '164.316(b)(1)', title: 'Documentation of policies, procedures, actions and assessments' },
    { id: '164.316(b)(2)', title: 'Documentation: retention, availability and updates' },
  ],
  // COMPLIANCE.md §3, HIPAA column; parenthesised entries are partial.
  mapping: {
    policy_decision: ['164.312(a)(1)', '164.308(a)(4)'],
    audit_ledger: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
    tamper_evidence: ['164.312(c)(1)'],
    access_control: ['164.312(a)(1)', '164.308(a)(3)', '164.308(a)(4)'],
    mfa: ['164.312(d)'],
    human_oversight: [{ id: '164.308(a)(6)', partial: true }],
    override: ['164.312(a)(2)(ii)'],
    capability_token: ['164.312(a)(1)', '164.312(d)'],
    risk_assessment: ['164.308(a)(1)(ii)(A)', '164.308(a)(1)(ii)(B)'],
    evidence_export: ['164.316(b)(1)', '164.316(b)(2)'],
  },
};
