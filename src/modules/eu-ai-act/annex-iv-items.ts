/**
 * The Annex IV items of the EU AI Act (Art 11), as data only: no import, so the oversight console's
 * profile form (console/src/lib/profile.ts) bundles this same list the server documents with
 * (annex-iv.ts re-exports it).
 */

/** Every Annex IV item, in document order. */
export const ANNEX_IV_ITEMS = [
  { key: '1.a', title: 'Intended purpose, provider, version of the system and its previous versions' },
  { key: '1.b', title: 'Interaction with hardware, software or other AI systems' },
  { key: '1.c', title: 'Versions of relevant software or firmware and update requirements' },
  { key: '1.d', title: 'All forms in which the system is placed on the market or put into service' },
  { key: '1.e', title: 'Hardware on which the system is intended to run' },
  { key: '1.f', title: 'Photographs or illustrations of products the system is a component of' },
  { key: '1.g', title: 'User interface provided to the deployer' },
  { key: '1.h', title: 'Instructions for use for the deployer' },
  { key: '2.a', title: 'Methods and steps performed for the development' },
  { key: '2.b', title: 'Design specifications, general logic and algorithms' },
  { key: '2.c', title: 'System architecture' },
  { key: '2.d', title: 'Data requirements and data sheets' },
  { key: '2.e', title: 'Assessment of the human oversight measures needed (Art 14)' },
  { key: '2.f', title: 'Pre-determined changes to the system and its performance' },
  { key: '2.g', title: 'Validation and testing procedures, with dated and signed test reports' },
  { key: '2.h', title: 'Cybersecurity measures' },
  { key: '3', title: 'Monitoring, functioning and control: capabilities, limitations, foreseeable unintended outcomes, oversight measures, input data specifications' },
  { key: '4', title: 'Appropriateness of the performance metrics' },
  { key: '5', title: 'Risk management system (Art 9)' },
  { key: '6', title: 'Relevant changes made through the lifecycle' },
  { key: '7', title: 'Harmonised standards applied, or the solutions adopted to meet the requirements' },
  { key: '8', title: 'Copy of the EU declaration of conformity (Art 47)' },
  { key: '9', title: 'Post-market monitoring system and plan (Art 72)' },
] as const;
