import type { FrameworkDef } from '../compliance.model.js';

/**
 * NIST AI RMF 1.0: the GOVERN / MAP / MEASURE / MANAGE subcategories Lexecon's primitives evidence. This
 * mapping goes beyond COMPLIANCE.md §3 (which has no AI RMF column): it is Lexecon's own reading, kept to
 * subcategories whose numbering we are sure of.
 */
export const nistAiRmf: FrameworkDef = {
  id: 'nist-ai-rmf',
  name: 'NIST AI Risk Management Framework',
  version: '1.0',
  source: 'NIST AI 100-1, Artificial Intelligence Risk Management Framework (AI RMF 1.0), January 2023',
  controls: [
    { id: 'GOVERN 1.4', title: 'Risk management process and outcomes established through transparent policies and controls' },
    { id: 'GOVERN 3.2', title: 'Policies define roles and responsibilities for human-AI configurations and oversight' },
    { id: 'MAP 3.5', title: 'Processes for human oversight defined, assessed and documented' },
    { id: 'MEASURE 2.4', title: 'Functionality and behaviour of the AI system monitored in production' },
    { id: 'MANAGE 2.4', title: 'Mechanisms to supersede, disengage or deactivate AI systems' },
    { id: 'MANAGE 4.1', title: 'Post-deployment monitoring, including appeal and override' },
  ],
  mapping: {
    policy_decision: ['GOVERN 1.4'],
    audit_ledger: ['MEASURE 2.4', 'MANAGE 4.1'],
    access_control: ['GOVERN 3.2'],
    human_oversight: ['GOVERN 3.2', 'MAP 3.5', 'MANAGE 2.4'],
    override: ['MANAGE 4.1'],
    risk_assessment: ['GOVERN 1.4'],
  },
};
