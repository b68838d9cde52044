/**
 * The EU AI Act system profile form's logic: the form's state from a stored profile, the PUT body from
 * the form (what the API's schema takes), and the API's 400 details sorted onto the form's fields.
 */
import { ANNEX_IV_ITEMS } from '../../../src/modules/eu-ai-act/annex-iv-items.js';

/** The profile as the API reads and takes it (GET/PUT /api/governance/eu-ai-act/system-profile). */
export type Classification = 'annex_iii' | 'annex_i' | 'art_50_only';

export interface ManualInput {
  text?: string;
  document_sha256?: string;
  not_applicable_justification?: string;
}

export interface SystemProfileBody {
  provider: string;
  system_name: string;
  system_version: string;
  intended_purpose: string;
  classification: Classification;
  deployment_forms: string[];
  annex_iv_inputs: Record<string, ManualInput>;
}

export interface SystemProfile extends SystemProfileBody {
  version: number;
  profile_sha256: string;
  updated_by: string;
  updated_at: string;
  ledger_seq: number;
}

/** Annex IV items in document order: the server's own list (pure data, bundled by esbuild). */
export { ANNEX_IV_ITEMS };

export const CLASSIFICATIONS: ReadonlyArray<{ value: Classification; label: string }> = [
  { value: 'annex_iii', label: 'High-risk, stand-alone (Annex III)' },
  { value: 'annex_i', label: 'High-risk, safety component of a product (Annex I)' },
  { value: 'art_50_only', label: 'Transparency obligations only (Art 50)' },
];

/** How an Annex IV item is supplied in the form. */
export type InputMode = 'none' | 'text' | 'document' | 'not_applicable';

export interface AnnexInputForm {
  mode: InputMode;
  /** The text, the document's SHA-256, or the justification, by mode. */
  value: string;
}

export interface ProfileForm {
  provider: string;
  system_name: string;
  system_version: string;
  intended_purpose: string;
  classification: Classification;
  /** One deployment form per line. */
  deployment_forms: string;
  annex: Record<string, AnnexInputForm>;
}

export function emptyForm(): ProfileForm {
  const annex: Record<string, AnnexInputForm> = {};
  for (const { key } of ANNEX_IV_ITEMS) annex[key] = { mode: 'none', value: '' };
  return { provider: '', system_name: '', system_version: '', intended_purpose: '', classification: 'annex_iii', deployment_forms: '', annex };
}

function inputForm(input: ManualInput | undefined): AnnexInputForm {
  if (!input) return { mode: 'none', value: '' };
  if (input.not_applicable_justification !== undefined) return { mode: 'not_applicable', value: input.not_applicable_justification };
  if (input.text !== undefined) return { mode: 'text', value: input.text };
  if (input.document_sha256 !== undefined) return { mode: 'document', value: input.document_sha256 };
  return { mode: 'none', value: '' };
}

/**
 * The form of a stored profile. An item with both text and a document hash (the API allows it; the
 * form edits one of them) shows its text; the hash is kept by {@link toBody} while the text is unchanged.
 */
export function formFromProfile(p: SystemProfile): ProfileForm {
  const f = emptyForm();
  f.provider = p.provider;
  f.system_name = p.system_name;
  f.system_version = p.system_version;
  f.intended_purpose = p.intended_purpose;
  f.classification = p.classification;
  f.deployment_forms = p.deployment_forms.join('\n');
  for (const { key } of ANNEX_IV_ITEMS) f.annex[key] = inputForm(p.annex_iv_inputs[key]);
  return f;
}

/**
 * The PUT body. Sent as typed (the server trims and validates: its errors come back per field); empty
 * lines of the deployment forms are dropped; an item left at "none" is omitted.
 */
export function toBody(f: ProfileForm, previous?: SystemProfile | null): SystemProfileBody {
  const annex: Record<string, ManualInput> = {};
  for (const { key } of ANNEX_IV_ITEMS) {
    const a = f.annex[key];
    if (!a || a.mode === 'none') continue;
    if (a.mode === 'text') {
      const prev = previous?.annex_iv_inputs[key];
      annex[key] = prev?.text === a.value && prev.document_sha256 !== undefined ? { text: a.value, document_sha256: prev.document_sha256 } : { text: a.value };
    } else if (a.mode === 'document') annex[key] = { document_sha256: a.value.trim().toLowerCase() };
    else annex[key] = { not_applicable_justification: a.value };
  }
  return {
    provider: f.provider,
    system_name: f.system_name,
    system_version: f.system_version,
    intended_purpose: f.intended_purpose,
    classification: f.classification,
    deployment_forms: f.deployment_forms
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0),
    annex_iv_inputs: annex,
  };
}

/** Where a field's error is shown: a top-level field name, `annex:<key>`, or `form` for the rest. */
export function fieldOf(field: string): string {
  const parts = field.split('.');
  if (parts[0] === 'annex_iv_inputs') {
    // Keys contain a dot (`1.a`): rejoin what the API split.
    const rest = parts.slice(1);
    const key = ANNEX_IV_ITEMS.find((i) => rest.join('.') === i.key || rest.join('.').startsWith(`${i.key}.`));
    return key ? `annex:${key.key}` : 'form';
  }
  if (['provider', 'system_name', 'system_version', 'intended_purpose', 'classification', 'deployment_forms'].includes(parts[0]!)) return parts[0]!;
  return 'form';
}

/** The API's 400 `details` grouped by where the form shows them. */
export function fieldErrors(details: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!Array.isArray(details)) return out;
  for (const d of details) {
    if (typeof d !== 'object' || d === null) continue;
    const field = typeof (d as { field?: unknown }).field === 'string' ? (d as { field: string }).field : '';
    const message = typeof (d as { message?: unknown }).message === 'string' ? (d as { message: string }).message : 'is invalid';
    const at = fieldOf(field);
    const text = at === 'form' && field ? `${field}: ${message}` : message;
    out.set(at, [...(out.get(at) ?? []), text]);
  }
  return out;
}
