import type { FrameworkDef } from '../compliance.model.js';

/**
 * ISO/IEC 42001:2023 Annex A: only the controls Lexecon's primitives evidence and whose numbering we are
 * sure of (Annex A has 38 controls; the others are organisational and not listed here). This mapping
 * goes beyond COMPLIANCE.md §3 (which has no 42001 column): it is Lexecon's own reading.
 */
export const iso42001: FrameworkDef = {
  id: 'iso42001',
  name: 'ISO/IEC 42001 Annex A (AI management system)',
  version: '2023',
  source: 'ISO/IEC 42001:2023 Artificial intelligence — Management system, Annex A',
  controls: [
    { id: 'A.6.2.6', title: 'AI system operation and monitoring' },
    { id: 'A.6.2.8', title: 'AI system recording of event logs' },
    { id: 'A.9.2', title: 'Processes for responsible use of AI systems' },
  ],
  mapping: {
    policy_decision: ['A.9.2'],
    audit_ledger: ['A.6.2.8'],
    tamper_evidence: ['A.6.2.8'],
    human_oversight: ['A.6.2.6'],
  },
};
