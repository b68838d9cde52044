import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type ComplianceCoverage, type EuAiActReport } from '../api.js';
import { Alert, Time } from '../components.js';
import { Person } from '../people.js';
import { ANNEX_IV_ITEMS, CLASSIFICATIONS, emptyForm, fieldErrors, formFromProfile, toBody, type InputMode, type ProfileForm, type SystemProfile } from '../lib/profile.js';
import { canEditProfile } from '../lib/roles.js';
import { Markdown } from './markdown-view.js';

const errText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));
const silent401 = (err: unknown) => err instanceof ApiError && err.status === 401;

/** A field's errors, under it, named by the field's aria-describedby. */
function FieldError({ id, errors }: { id: string; errors: string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <p class="hint invalid" id={id}>
      {errors.join('; ')}
    </p>
  );
}

/** A one-line field with its label and the API's errors for it. */
function TextField({ id, label, value, editable, errors, onInput }: { id: string; label: string; value: string; editable: boolean; errors: string[] | undefined; onInput: (v: string) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        readOnly={!editable}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? `${id}-err` : undefined}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
      <FieldError id={`${id}-err`} errors={errors} />
    </div>
  );
}

const MODES: Array<{ value: InputMode; label: string }> = [
  { value: 'none', label: 'Not supplied' },
  { value: 'text', label: 'Text' },
  { value: 'document', label: 'Document SHA-256' },
  { value: 'not_applicable', label: 'Not applicable (justify)' },
];

/** The Annex IV items: how each is supplied (text, a document's SHA-256, not applicable) and its errors. */
function AnnexInputs({
  form,
  errors,
  editable,
  onChange,
}: {
  form: ProfileForm;
  errors: Map<string, string[]>;
  editable: boolean;
  onChange: (key: string, patch: Partial<{ mode: InputMode; value: string }>) => void;
}) {
  const setAnnex = onChange;
  return (
    <details open={[...errors.keys()].some((k) => k.startsWith('annex:'))}>
      <summary>Annex IV inputs ({ANNEX_IV_ITEMS.filter((i) => form.annex[i.key]?.mode !== 'none').length} of {ANNEX_IV_ITEMS.length} supplied)</summary>
      {ANNEX_IV_ITEMS.map(({ key, title }) => {
        const a = form.annex[key]!;
        const errs = errors.get(`annex:${key}`);
        const id = `annex-${key.replace('.', '-')}`;
        return (
          <fieldset key={key} class="annex-item" aria-invalid={errs ? true : undefined}>
            <legend>
              {key}. {title}
            </legend>
            <label for={`${id}-mode`} class="visually-hidden">
              How item {key} is supplied
            </label>
            <select id={`${id}-mode`} value={a.mode} disabled={!editable} onChange={(e) => setAnnex(key, { mode: e.currentTarget.value as InputMode })}>
              {MODES.map((m) => (
                <option value={m.value} key={m.value}>
                  {m.label}
                </option>
              ))}
            </select>
            {a.mode !== 'none' && (
              <>
                <label for={`${id}-value`} class="visually-hidden">
                  {a.mode === 'text' ? `Text of item ${key}` : a.mode === 'document' ? `SHA-256 of the document for item ${key}` : `Why item ${key} does not apply`}
                </label>
                <textarea
                  id={`${id}-value`}
                  rows={a.mode === 'document' ? 1 : 2}
                  value={a.value}
                  readOnly={!editable}
                  aria-invalid={errs ? true : undefined}
                  aria-describedby={errs ? `${id}-err` : undefined}
                  onInput={(e) => setAnnex(key, { value: e.currentTarget.value })}
                />
              </>
            )}
            <FieldError id={`${id}-err`} errors={errs} />
          </fieldset>
        );
      })}
    </details>
  );
}

/**
 * The EU AI Act system profile: read by every human role, edited by governance leads and admins. The
 * server validates (its schema and the Annex IV rules); its 400 details are shown on their fields.
 */
function Profile({ api, role }: { api: Api; role: string }) {
  const editable = canEditProfile(role);
  const [stored, setStored] = useState<SystemProfile | null>(null);
  const [missing, setMissing] = useState(false);
  const [form, setForm] = useState<ProfileForm>(emptyForm);
  const [errors, setErrors] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.systemProfile().then(
      (p) => {
        setStored(p);
        setForm(formFromProfile(p));
      },
      (err) => {
        if (err instanceof ApiError && err.status === 404) setMissing(true);
        else if (!silent401(err)) setError(errText(err));
      },
    );
  }, [api]);

  const set = <K extends keyof ProfileForm>(k: K, v: ProfileForm[K]) => setForm({ ...form, [k]: v });
  const setAnnex = (key: string, patch: Partial<{ mode: InputMode; value: string }>) =>
    setForm({ ...form, annex: { ...form.annex, [key]: { ...form.annex[key]!, ...patch } } });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const p = await api.saveSystemProfile(toBody(form, stored));
      setStored(p);
      setMissing(false);
      setForm(formFromProfile(p));
      setErrors(new Map());
      setSaved(`Saved as version ${p.version} (ledger seq ${p.ledger_seq}).`);
    } catch (err) {
      if (silent401(err)) return;
      if (err instanceof ApiError && err.status === 400) {
        const byField = fieldErrors(err.details);
        setErrors(byField);
        setError(`The profile was not saved: ${err.message}. ${byField.size === 0 ? '' : 'See the fields marked below.'}`);
      } else setError(errText(err));
    } finally {
      setBusy(false);
    }
  };

  const text = (k: 'provider' | 'system_name' | 'system_version', label: string) => (
    <TextField id={`p-${k}`} label={label} value={form[k]} editable={editable} errors={errors.get(k)} onInput={(v) => set(k, v)} />
  );

  return (
    <section aria-labelledby="profile-h">
      <h2 id="profile-h">EU AI Act system profile</h2>
      <p class="hint">
        The governed AI system, as its provider describes it. Every save stores a new version and a ledger entry.
        {stored && (
          <>
            {' '}
            Version {stored.version}, saved <Time iso={stored.updated_at} /> by <Person id={stored.updated_by} />.
          </>
        )}
        {missing && ' No profile yet: the Art 11 documentation needs one.'}
        {!editable && ' Read only: governance leads and admins may change it.'}
      </p>
      <form onSubmit={submit} class="profile" aria-describedby={error ? 'profile-error' : undefined}>
        <div class="row">
          {text('provider', 'Provider')}
          {text('system_name', 'System name')}
          {text('system_version', 'System version')}
        </div>
        <label for="p-purpose">Intended purpose</label>
        <textarea
          id="p-purpose"
          rows={3}
          value={form.intended_purpose}
          readOnly={!editable}
          aria-invalid={errors.has('intended_purpose') || undefined}
          aria-describedby={errors.has('intended_purpose') ? 'p-purpose-err' : undefined}
          onInput={(e) => set('intended_purpose', e.currentTarget.value)}
        />
        <FieldError id="p-purpose-err" errors={errors.get('intended_purpose')} />
        <label for="p-class">Classification</label>
        <select id="p-class" value={form.classification} disabled={!editable} onChange={(e) => set('classification', e.currentTarget.value as ProfileForm['classification'])}>
          {CLASSIFICATIONS.map((c) => (
            <option value={c.value} key={c.value}>
              {c.label}
            </option>
          ))}
        </select>
        <FieldError id="p-class-err" errors={errors.get('classification')} />
        <label for="p-forms">Deployment forms (one per line)</label>
        <textarea
          id="p-forms"
          rows={2}
          value={form.deployment_forms}
          readOnly={!editable}
          aria-describedby={errors.has('deployment_forms') ? 'p-forms-err' : undefined}
          onInput={(e) => set('deployment_forms', e.currentTarget.value)}
        />
        <FieldError id="p-forms-err" errors={errors.get('deployment_forms')} />
        <AnnexInputs form={form} errors={errors} editable={editable} onChange={setAnnex} />
        {errors.get('form') && <Alert>{errors.get('form')!.join('; ')}</Alert>}
        {error && (
          <Alert id="profile-error">
            {error}
          </Alert>
        )}
        <div role="status" aria-live="polite">
          {saved && <Alert kind="success">{saved}</Alert>}
        </div>
        {editable && (
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save the profile'}
            </button>
          </div>
        )}
      </form>
    </section>
  );
}

const REPORTS: Array<{ id: EuAiActReport; label: string }> = [
  { id: 'technical-documentation', label: 'Art 11 technical documentation' },
  { id: 'article-12', label: 'Art 12 record-keeping' },
  { id: 'article-14', label: 'Art 14 human oversight' },
];

/** The Art 11, 12 and 14 reports, fetched as Markdown and rendered as elements. */
function Reports({ api }: { api: Api }) {
  const [which, setWhich] = useState<EuAiActReport | null>(null);
  const [doc, setDoc] = useState<{ id: EuAiActReport; md: string; at: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const open = async (id: EuAiActReport) => {
    setWhich(id);
    setError(null);
    try {
      const md = await api.euAiActMarkdown(id);
      setDoc({ id, md, at: new Date().toISOString() });
    } catch (err) {
      if (!silent401(err)) setError(errText(err));
      setDoc(null);
    } finally {
      setWhich(null);
    }
  };

  return (
    <section aria-labelledby="reports-h">
      <h2 id="reports-h">EU AI Act reports</h2>
      <div class="actions" role="group" aria-label="Reports">
        {REPORTS.map((r) => (
          <button type="button" key={r.id} onClick={() => open(r.id)} aria-pressed={doc?.id === r.id} disabled={which !== null}>
            {which === r.id ? 'Loading…' : r.label}
          </button>
        ))}
      </div>
      {error && <Alert>{error}</Alert>}
      {doc && (
        <article class="report" aria-label={REPORTS.find((r) => r.id === doc.id)?.label} data-report={doc.id}>
          <p class="hint">
            Generated <Time iso={doc.at} /> from live data.
          </p>
          <Markdown source={doc.md} headingShift={2} />
        </article>
      )}
    </section>
  );
}

/** Coverage of every compliance framework, with each evidence kind's current result. */
function Coverage({ api }: { api: Api }) {
  const [cov, setCov] = useState<ComplianceCoverage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.complianceCoverage().then(setCov, (err) => !silent401(err) && setError(errText(err)));
  }, [api]);
  const pct = (p: number | null) => (p === null ? '—' : `${p} %`);
  return (
    <section aria-labelledby="coverage-h">
      <h2 id="coverage-h">Compliance framework coverage</h2>
      {error && <Alert>{error}</Alert>}
      {cov && (
        <>
          <p class="hint">
            Computed from the live system <Time iso={cov.checked_at} />. Of {cov.totals.total} controls: {cov.totals.satisfied} satisfied, {cov.totals.not_satisfied} not
            satisfied, {cov.totals.manual} manual, {cov.totals.not_applicable} not applicable; automated controls satisfied {pct(cov.totals.automated_satisfied_percent)}.
          </p>
          {/* Focusable so that a keyboard can scroll it when it is wider than a phone. */}
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Coverage per framework">
            <table class="coverage">
              <caption class="visually-hidden">Controls per status for each framework</caption>
              <thead>
                <tr>
                  <th scope="col">Framework</th>
                  <th scope="col">Satisfied</th>
                  <th scope="col">Not satisfied</th>
                  <th scope="col">Manual</th>
                  <th scope="col">Not applicable</th>
                  <th scope="col">Automated satisfied</th>
                </tr>
              </thead>
              <tbody>
                {cov.frameworks.map((f) => (
                  <tr key={f.framework_id} data-framework={f.framework_id}>
                    <th scope="row">
                      {f.name}
                      {!f.in_scope && <span class="tag">out of scope</span>}
                    </th>
                    <td>{f.coverage.satisfied}</td>
                    <td class={f.coverage.not_satisfied > 0 ? 'bad' : undefined}>{f.coverage.not_satisfied}</td>
                    <td>{f.coverage.manual}</td>
                    <td>{f.coverage.not_applicable}</td>
                    <td>{pct(f.coverage.automated_satisfied_percent)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Evidence</h3>
          <ul class="evidence">
            {cov.evidence.map((e) => (
              <li key={e.kind} class={e.holds ? 'holds' : 'fails'}>
                <strong>{e.holds ? '✔ holds' : '✖ fails'}</strong> <code>{e.kind}</code>: {e.detail}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** Screen 6 (continued): the EU AI Act profile and reports, and framework coverage. */
export function ComplianceScreen({ api, role }: { api: Api; role: string }) {
  return (
    <main id="main" tabIndex={-1}>
      <h1>Compliance</h1>
      <Profile api={api} role={role} />
      <Reports api={api} />
      <Coverage api={api} />
    </main>
  );
}
