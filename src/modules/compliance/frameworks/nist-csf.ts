import type { FrameworkDef } from '../compliance.model.js';

/** NIST CSF 2.0: the subcategories of the COMPLIANCE.md §3 mapping. */
export const nistCsf: FrameworkDef = {
  id: 'nist-csf',
  name: 'NIST Cybersecurity Framework',
  version: '2.0',
  source: 'NIST CSWP 29, The NIST Cybersecurity Framework (CSF) 2.0 (February 2024)',
  controls: [
    { id: 'GV.OV-03', title: 'Risk management performance evaluated and reviewed for adjustments' },
    { id: 'GV.PO-01', title: 'Policy for managing cybersecurity risks established, communicated and enforced' },
    { id: 'ID.IM-01', title: 'Improvements identified from evaluations' },
    { id: 'ID.RA-04', title: 'Potential impacts and likelihoods of threats identified and recorded' },
    { id: 'ID.RA-05', title: 'Threats, vulnerabilities, likelihoods and impacts used to understand inherent risk' },
    { id: 'ID.RA-06', title: 'Risk responses chosen, prioritised, planned, tracked and communicated' },
    { id: 'ID.RA-07', title: 'Changes and exceptions managed, assessed for risk impact, recorded and tracked' },
    { id: 'PR.AA-01', title: 'Identities and credentials of authorised users, services and hardware managed' },
    { id: 'PR.AA-03', title: 'Users, services and hardware authenticated' },
    { id: 'PR.AA-04', title: 'Identity assertions protected, conveyed and verified' },
    { id: 'PR.AA-05', title: 'Access permissions defined in policy, managed, enforced and reviewed (least privilege)' },
    { id: 'PR.DS-01', title: 'Confidentiality, integrity and availability of data at rest protected' },
    { id: 'PR.PS-04', title: 'Log records generated and made available for continuous monitoring' },
    { id: 'DE.CM-03', title: 'Personnel activity and technology usage monitored' },
    { id: 'DE.CM-09', title: 'Computing hardware, software, runtime environments and their data monitored' },
    { id: 'RS.MA-02', title: 'Incident reports triaged and validated' },
    { id: 'RS.MA-03', title: 'Incidents categorised and prioritised' },
    { id: 'RS.MA-04', title: 'Incidents escalated or elevated as needed' },
    { id: 'RS.AN-06', title: 'Investigation actions recorded with integrity and provenance preserved' },
    { id: 'RS.AN-07', title: 'Incident data and metadata collected with integrity and provenance preserved' },
  ],
  // COMPLIANCE.md §3, NIST CSF 2.0 column.
  mapping: {
    policy_decision: ['GV.PO-01', 'PR.AA-05'],
    audit_ledger: ['PR.PS-04', 'DE.CM-03', 'DE.CM-09'],
    tamper_evidence: ['PR.DS-01', 'RS.AN-06', 'RS.AN-07'],
    access_control: ['PR.AA-01', 'PR.AA-05'],
    mfa: ['PR.AA-03'],
    human_oversight: ['RS.MA-02', 'RS.MA-03', 'RS.MA-04'],
    override: ['ID.RA-07', 'PR.AA-05'],
    capability_token: ['PR.AA-04', 'PR.AA-05'],
    risk_assessment: ['ID.RA-04', 'ID.RA-05', 'ID.RA-06'],
    evidence_export: ['GV.OV-03', 'ID.IM-01'],
  },
};
