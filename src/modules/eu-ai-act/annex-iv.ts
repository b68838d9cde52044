/**
 * EU AI Act Art 11 + Annex IV: the technical documentation of the *governed* AI system, the pure core.
 * Builds every Annex IV item from the system profile and the facts the service read (no I/O), decides
 * each item's status, and computes the legal basis and the date of application from the classification
 * (COMPLIANCE.md §1).
 */
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { ANNEX_IV_ITEMS } from './annex-iv-items.js';

/** How the governed system is classified under the Regulation. */
export const CLASSIFICATIONS = ['annex_iii', 'annex_i', 'art_50_only'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** Regulation (EU) 2024/1689 as amended by the Digital Omnibus on AI (Regulation (EU) 2026/1744). */
export const REGULATION = {
  celex: '32024R1689',
  amended_by: { celex: '32026R1744', in_force: '2026-07-27' },
  consolidated_text: '02024R1689-20260727',
} as const;

const APPLICATION: Record<Classification, { date: string; description: string; articles: string[] }> = {
  annex_iii: {
    date: '2027-12-02',
    description: 'Stand-alone high-risk AI system (Annex III)',
    articles: ['Arts 9–15', 'Arts 16–22', 'Art 26'],
  },
  annex_i: {
    date: '2028-08-02',
    description: 'High-risk AI system that is a safety component of a product (Annex I)',
    articles: ['Arts 9–15', 'Arts 16–22', 'Art 26'],
  },
  art_50_only: {
    date: '2026-08-02',
    description: 'AI system subject to the Art 50 transparency obligations only',
    articles: ['Art 50'],
  },
};

export type LegalBasis = {
  regulation: typeof REGULATION;
  classification: Classification;
  description: string;
  /** The obligations that apply to this classification. */
  articles: string[];
  /** When they apply (YYYY-MM-DD), computed from the classification. */
  applies_from: string;
  /** Art 11 and Annex IV bind high-risk systems only (Annex III, Annex I). */
  annex_iv_mandatory: boolean;
};

/** The legal basis and the date of application for a classification (COMPLIANCE.md §1). */
export function legalBasis(classification: Classification): LegalBasis {
  const a = APPLICATION[classification];
  return {
    regulation: REGULATION,
    classification,
    description: a.description,
    articles: [...a.articles],
    applies_from: a.date,
    annex_iv_mandatory: classification !== 'art_50_only',
  };
}

export { ANNEX_IV_ITEMS };
export type AnnexIvKey = (typeof ANNEX_IV_ITEMS)[number]['key'];
export const ANNEX_IV_KEYS: readonly AnnexIvKey[] = ANNEX_IV_ITEMS.map((i) => i.key);

export const ITEM_STATUSES = ['generated', 'manual_input_required', 'not_applicable'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/** An operator's input for one Annex IV item (kept in the system profile). */
export interface ManualInput {
  text?: string | undefined;
  /** SHA-256 (hex) of an attached document, e.g. the signed EU declaration of conformity. */
  document_sha256?: string | undefined;
  /** Marks the item not applicable; the reason is mandatory. */
  not_applicable_justification?: string | undefined;
}

/** The governed AI system as its provider describes it (the profile's content, without versioning). */
export interface SystemProfileContent {
  provider: string;
  system_name: string;
  system_version: string;
  intended_purpose: string;
  classification: Classification;
  deployment_forms: string[];
  annex_iv_inputs: Partial<Record<AnnexIvKey, ManualInput>>;
}

/** Draft standards that must never be claimed (point 7): no harmonised standard is cited in the OJ yet. */
const DRAFT_STANDARD_PATTERN = /prEN\s*18229|DIS\s*24970/i;

/** The statement point 7 always carries. */
export const POINT_7_STATEMENT =
  'No harmonised standard under Art 40 has been cited in the Official Journal for this Regulation; no conformance to one is claimed. The solutions adopted are those described by the provider.';

/** A problem with a profile's content: where, and why. */
export interface ProfileProblem {
  path: string;
  message: string;
}

/**
 * What is wrong with a profile's Annex IV inputs (empty when nothing): an unknown key, an input that is
 * empty or both supplies content and claims not-applicable, an empty justification, and point 7 text
 * that names a draft standard (never claimed).
 */
export function profileProblems(profile: SystemProfileContent): ProfileProblem[] {
  const problems: ProfileProblem[] = [];
  for (const [key, input] of Object.entries(profile.annex_iv_inputs)) {
    const path = `annex_iv_inputs.${key}`;
    if (!(ANNEX_IV_KEYS as readonly string[]).includes(key)) {
      problems.push({ path, message: `unknown Annex IV key (one of ${ANNEX_IV_KEYS.join(', ')})` });
      continue;
    }
    if (!input) continue;
    const hasContent = input.text !== undefined || input.document_sha256 !== undefined;
    if (input.not_applicable_justification !== undefined) {
      if (input.not_applicable_justification.trim() === '') problems.push({ path, message: 'not_applicable needs a justification' });
      if (hasContent) problems.push({ path, message: 'an item is either supplied (text, document_sha256) or not applicable, not both' });
    } else if (!hasContent) {
      problems.push({ path, message: 'supply text, document_sha256, or not_applicable_justification' });
    }
    if (key === '7' && input.text !== undefined && DRAFT_STANDARD_PATTERN.test(input.text)) {
      problems.push({ path, message: 'point 7 must not claim conformance to a draft standard (prEN 18229-1, ISO/IEC DIS 24970)' });
    }
  }
  return problems;
}

/** What the service read from the system for the generated items; null where there is nothing to show. */
export interface GeneratedFacts {
  /** 1.a: the version chain (policy versions, configuration hash, software version). */
  versionChain: Record<string, unknown>;
  /** 2.e and 3: the oversight measures actually configured. */
  oversight: Record<string, unknown>;
  /** 2.g: signed test runs, each with its verification; empty when none was recorded. */
  testRuns: ReadonlyArray<Record<string, unknown> & { verified: boolean }>;
  /** 5: the risk register. */
  riskRegister: Record<string, unknown>;
  /** 6: the change log from the ledger. */
  changeLog: ReadonlyArray<Record<string, unknown>>;
  /** 9: post-market monitoring metrics. */
  postMarket: Record<string, unknown>;
}

export interface AnnexIvItem {
  key: AnnexIvKey;
  title: string;
  status: ItemStatus;
  content?: Record<string, unknown>;
  justification?: string;
  /** Where generated content comes from (tables, ledger event types, configuration). */
  sources?: string[];
}

export type SystemSection = Omit<SystemProfileContent, 'annex_iv_inputs'> & {
  profile_version: number;
  profile_sha256: string;
};

/** The hashed part of the technical documentation. */
export interface TechnicalDocumentation {
  title: string;
  /** The instant the data was read up to, when the caller fixed one; null for "now". */
  as_of: string | null;
  legal_basis: LegalBasis;
  system: SystemSection;
  items: AnnexIvItem[];
  summary: Record<ItemStatus, number>;
}

interface Generator {
  content(facts: GeneratedFacts, profile: SystemProfileContent): Record<string, unknown> | undefined;
  sources: string[];
}

/** The items Lexecon fills from its own data; every other item needs the operator's input. */
const GENERATORS: Partial<Record<AnnexIvKey, Generator>> = {
  '1.a': {
    content: (f, p) => ({
      intended_purpose: p.intended_purpose,
      provider: p.provider,
      system_name: p.system_name,
      system_version: p.system_version,
      version_chain: f.versionChain,
    }),
    sources: ['system_profile_versions', 'policy_versions', 'active_policy', 'configuration'],
  },
  '2.e': { content: (f) => ({ oversight_measures: f.oversight }), sources: ['configuration', 'halt_state'] },
  '2.g': {
    content: (f) => (f.testRuns.length === 0 ? undefined : { signed_test_runs: f.testRuns }),
    sources: ['policy_test_runs', 'ledger:policy_test_recorded'],
  },
  '3': { content: (f) => ({ oversight_measures: f.oversight }), sources: ['configuration', 'halt_state'] },
  '5': { content: (f) => ({ risk_register: f.riskRegister }), sources: ['decisions', 'ledger:risk_assessed'] },
  '6': { content: (f) => ({ change_log: f.changeLog }), sources: ['ledger'] },
  '9': {
    content: (f) => ({ post_market_metrics: f.postMarket }),
    sources: ['decisions', 'overrides', 'escalations', 'escalation_events'],
  },
};

/** Keys that are never generated, whatever the data (point 7: no standard claimed; point 8: Art 47). */
const NEVER_GENERATED: ReadonlySet<AnnexIvKey> = new Set<AnnexIvKey>(['7', '8']);

function manualContent(key: AnnexIvKey, input: ManualInput | undefined): Record<string, unknown> | undefined {
  const supplied: Record<string, unknown> = {};
  if (input?.text !== undefined) supplied.text = input.text;
  if (input?.document_sha256 !== undefined) supplied.document_sha256 = input.document_sha256;
  const hasInput = Object.keys(supplied).length > 0;
  if (key === '7') return { statement: POINT_7_STATEMENT, ...(hasInput ? { manual_input: supplied } : {}) };
  return hasInput ? { manual_input: supplied } : undefined;
}

/**
 * One Annex IV item. Precedence: an operator's not-applicable justification; else generated content
 * when Lexecon has data for the item (never for 7 and 8), with the operator's input kept alongside;
 * else `manual_input_required`, carrying the input (text, attached document hash) when supplied.
 */
export function buildItem(key: AnnexIvKey, profile: SystemProfileContent, facts: GeneratedFacts): AnnexIvItem {
  const title = ANNEX_IV_ITEMS.find((i) => i.key === key)!.title;
  const input = profile.annex_iv_inputs[key];
  const justification = input?.not_applicable_justification?.trim();
  if (justification) return { key, title, status: 'not_applicable', justification };
  const generator = NEVER_GENERATED.has(key) ? undefined : GENERATORS[key];
  const generated = generator?.content(facts, profile);
  const manual = manualContent(key, input);
  if (generator && generated) {
    return { key, title, status: 'generated', content: { ...generated, ...(manual ?? {}) }, sources: generator.sources };
  }
  return { key, title, status: 'manual_input_required', ...(manual ? { content: manual } : {}) };
}

/** The whole document (every Annex IV key, in order) with the legal basis computed from the classification. */
export function buildTechnicalDocumentation(input: {
  profile: SystemProfileContent;
  profileVersion: number;
  profileSha256: string;
  facts: GeneratedFacts;
  asOf: string | null;
}): TechnicalDocumentation {
  const { profile } = input;
  const items = ANNEX_IV_KEYS.map((key) => buildItem(key, profile, input.facts));
  const summary: Record<ItemStatus, number> = { generated: 0, manual_input_required: 0, not_applicable: 0 };
  for (const item of items) summary[item.status] += 1;
  return {
    title: `Technical documentation (EU AI Act Art 11, Annex IV): ${profile.system_name} ${profile.system_version}`,
    as_of: input.asOf,
    legal_basis: legalBasis(profile.classification),
    system: {
      provider: profile.provider,
      system_name: profile.system_name,
      system_version: profile.system_version,
      intended_purpose: profile.intended_purpose,
      classification: profile.classification,
      deployment_forms: [...profile.deployment_forms],
      profile_version: input.profileVersion,
      profile_sha256: input.profileSha256,
    },
    items,
    summary,
  };
}

/**
 * Whether an item has content: generated from Lexecon's data, justified as not applicable, or supplied by
 * the operator (text or an attached document). Point 7's fixed statement alone is not content: the
 * provider must still describe the solutions adopted.
 */
export function itemHasContent(item: AnnexIvItem): boolean {
  if (item.status !== 'manual_input_required') return true;
  return item.content?.manual_input !== undefined;
}

/** The items of a document that have no content (Art 11 is not met while there is one). */
export function annexIvGaps(doc: TechnicalDocumentation): AnnexIvItem[] {
  return doc.items.filter((item) => !itemHasContent(item));
}

/** SHA-256 (hex) of the canonical JSON (RFC 8785) of a value: the same for identical content. */
export function documentSha256(value: unknown): string {
  return sha256Hex(canonicalize(value));
}

function scalar(value: unknown): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return String(value);
}

/** A value as nested Markdown bullets (objects by key, arrays by item). */
export function markdownValue(value: unknown, indent = ''): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}- (none)`];
    return value.flatMap((v, i) =>
      v !== null && typeof v === 'object' ? [`${indent}- #${i + 1}`, ...markdownValue(v, `${indent}  `)] : [`${indent}- ${scalar(v)}`],
    );
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      v !== null && typeof v === 'object'
        ? [`${indent}- **${k}**:`, ...markdownValue(v, `${indent}  `)]
        : [`${indent}- **${k}**: ${scalar(v)}`],
    );
  }
  return [`${indent}- ${scalar(value)}`];
}

/** The technical documentation as Markdown (the same content as the JSON, with its hash). */
export function technicalDocumentationMarkdown(doc: TechnicalDocumentation, meta: { documentSha256: string; generatedAt: string }): string {
  const lb = doc.legal_basis;
  const lines = [
    `# ${doc.title}`,
    '',
    `- document_sha256: \`${meta.documentSha256}\` (SHA-256 of the canonical JSON, without generated_at)`,
    `- generated_at: ${meta.generatedAt}`,
    `- as_of: ${doc.as_of ?? 'generation time'}`,
    '',
    '## Legal basis',
    '',
    `- Regulation (EU) 2024/1689, CELEX ${lb.regulation.celex}, amended by CELEX ${lb.regulation.amended_by.celex} (in force ${lb.regulation.amended_by.in_force}); consolidated text ${lb.regulation.consolidated_text}`,
    `- Classification: ${lb.classification} (${lb.description})`,
    `- ${lb.articles.join(', ')} apply from ${lb.applies_from}`,
    `- Annex IV mandatory: ${lb.annex_iv_mandatory ? 'yes' : 'no (Art 11 binds high-risk systems only)'}`,
    '',
    '## System',
    '',
    ...markdownValue(doc.system),
    '',
  ];
  const gaps = annexIvGaps(doc);
  lines.push(
    '## Completeness',
    '',
    gaps.length === 0
      ? `Every one of the ${doc.items.length} Annex IV items has content (generated, supplied by the provider, or justified as not applicable).`
      : `**${gaps.length} of ${doc.items.length} Annex IV items have no content yet**, so this documentation does not meet Art 11: ${gaps.map((g) => `${g.key} (${g.title})`).join('; ')}. Supply them in the system profile (\`annex_iv_inputs\`).`,
    '',
    `## Annex IV (${doc.summary.generated} generated, ${doc.summary.manual_input_required} manual input required, ${doc.summary.not_applicable} not applicable)`,
  );
  for (const item of doc.items) {
    lines.push('', `### ${item.key} ${item.title}`, '', `Status: **${item.status}**`);
    if (item.justification !== undefined) lines.push('', `Justification: ${item.justification}`);
    if (item.sources) lines.push('', `Sources: ${item.sources.join(', ')}`);
    if (item.content) lines.push('', ...markdownValue(item.content));
  }
  return `${lines.join('\n')}\n`;
}
