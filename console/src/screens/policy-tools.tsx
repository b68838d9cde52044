import { useState } from 'preact/hooks';
import { ApiError, type Api, type PolicyEvaluation, type PolicyLoadReport } from '../api.js';
import { Alert, Facts } from '../components.js';
import { parseDataClasses, policyProblems, readPolicyText, type FieldProblem } from '../lib/admin.js';
import { Confirm } from './confirm.js';

const refusal = (err: unknown) => (err instanceof ApiError ? `${err.message} (${err.code})` : 'That failed. Try again.');

function Problems({ id, title, items }: { id: string; title: string; items: FieldProblem[] }) {
  return (
    <div id={id} class="alert alert-error" role="alert">
      <strong>{title}</strong>
      <ul class="policy-problems">
        {items.map((p, i) => (
          <li key={i}>
            {p.field ? <code>{p.field}</code> : null}
            {p.field ? ': ' : ''}
            {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** What the server said of a load: active or not, the version, the counts, its warnings. */
function LoadReportView({ report }: { report: PolicyLoadReport }) {
  return (
    <div class="alert alert-success" role="status">
      <strong>{report.activated ? `${report.policy_id} is now the active policy.` : `${report.policy_id}: this version was already active; nothing changed.`}</strong>
      <Facts
        rows={[
          ['Version hash', <code>{report.version_hash}</code>],
          ['Mode', report.mode],
          ['Terms, relations', `${report.terms_loaded}, ${report.relations_loaded}`],
          ['New version stored', report.created ? 'yes' : 'no (loaded before)'],
        ]}
      />
      {report.warnings.length > 0 && (
        <>
          <p>Warnings:</p>
          <ul>
            {report.warnings.map((w, i) => (
              <li key={i}>
                <code>{w.path}</code>: {w.message}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/**
 * Load a policy (POST /policies/load: governance_lead, admin) from a file chosen here or from pasted
 * text. The browser only checks it is a JSON object within the size limit; the server validates the
 * whole document and its problems are listed as it answers them (400 POLICY_INVALID, every one).
 */
export function LoadPolicy({ api, onLoaded }: { api: Api; onLoaded: (r: PolicyLoadReport) => void }) {
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [report, setReport] = useState<PolicyLoadReport | null>(null);
  const [busy, setBusy] = useState(false);

  async function choose(e: Event) {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    setReport(null);
    setProblems([]);
    setError(null);
    if (!file) return;
    setFileName(file.name);
    setText(await file.text());
  }

  const ask = (e: Event) => {
    e.preventDefault();
    setReport(null);
    setProblems([]);
    const r = readPolicyText(text);
    if (!r.ok) {
      setError(r.message);
      document.getElementById('policy-text')?.focus();
      return;
    }
    setError(null);
    setConfirming(r.document);
  };

  async function commit() {
    if (!confirming) return;
    setBusy(true);
    try {
      const r = await api.loadPolicy(confirming);
      setReport(r);
      onLoaded(r);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'POLICY_INVALID') {
        setProblems(policyProblems(err.details));
        setError(err.message);
      } else if (err instanceof ApiError && err.status === 400) {
        setProblems(policyProblems(err.details));
        setError(refusal(err));
      } else if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
      setConfirming(null);
      setTimeout(() => document.getElementById('load-result')?.focus(), 0);
    }
  }

  return (
    <section aria-labelledby="h-load" class="resolve">
      <h2 id="h-load">Load a policy</h2>
      <p class="hint">
        The server validates the whole document, stores the version and makes it the active policy: the next decision uses it. An invalid document changes nothing.
      </p>
      <form class="stack" onSubmit={ask} noValidate>
        <label for="policy-file">Policy file (JSON)</label>
        <input id="policy-file" type="file" accept="application/json,.json" onChange={choose} disabled={busy} />
        <label for="policy-text">Or paste the document{fileName ? ` (now: the contents of ${fileName})` : ''}</label>
        <textarea id="policy-text" class="mono" rows={10} spellcheck={false} value={text} disabled={confirming !== null} onInput={(e) => (setText(e.currentTarget.value), setFileName(null))} />
        {!confirming && (
          <div class="actions">
            <button type="submit" class="primary">
              Load and activate…
            </button>
          </div>
        )}
      </form>
      {confirming && (
        <Confirm
          id="load-confirm"
          question={`Load ${typeof confirming.policy_id === 'string' ? confirming.policy_id : typeof confirming.name === 'string' ? confirming.name : 'this policy'} and make it the active policy? Every decision from now on is evaluated with it.`}
          yes="Yes, load and activate"
          busy={busy}
          onYes={commit}
          onCancel={() => setConfirming(null)}
        />
      )}
      <div id="load-result" tabIndex={-1}>
        {problems.length > 0 ? <Problems id="policy-problems" title={error ?? 'The policy is invalid'} items={problems} /> : error && <Alert>{error}</Alert>}
        {report && <LoadReportView report={report} />}
      </div>
    </section>
  );
}

/** A dry run's answer: outcome (a word and a colour), reason, policy, conditions, matched relations. */
function DryRunResult({ result }: { result: PolicyEvaluation }) {
  return (
    <div class="dry-result" role="status" data-outcome={result.outcome}>
      <Facts
        rows={[
          ['Outcome', <strong class={`outcome outcome-${result.outcome}`}>{result.outcome}</strong>],
          ['Reason', result.reason],
          ['Policy', <>{result.policy_id} <code title={result.version_hash}>{result.version_hash.slice(0, 12)}…</code> ({result.mode})</>],
          ['Conditions', result.conditions.length > 0 ? result.conditions.join('; ') : 'none'],
          ['Escalation triggers', result.escalation_triggers.length > 0 ? result.escalation_triggers.join(', ') : 'none'],
          ['Default applied', result.default_applied ? 'yes (no relation decided)' : 'no'],
        ]}
      />
      <h3>Matched relations</h3>
      {result.matched.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul class="matched">
          {result.matched.map((m) => (
            <li key={m.relation_id}>
              <code>{m.relation_id}</code> ({m.relation_type}, {m.effect}){m.justification ? `: ${m.justification}` : ''}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A dry run (POST /policies/evaluate: governance_lead, admin): no ledger entry, no token. */
export function DryRun({ api }: { api: Api }) {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [classes, setClasses] = useState('');
  const [result, setResult] = useState<PolicyEvaluation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setResult(null);
    setProblems([]);
    if (actor.trim() === '' || action.trim() === '') {
      setError('Enter an actor and an action.');
      document.getElementById(actor.trim() === '' ? 'eval-actor' : 'eval-action')?.focus();
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const dataClasses = parseDataClasses(classes);
      setResult(await api.evaluatePolicy({ actor: actor.trim(), action: action.trim(), ...(dataClasses.length > 0 ? { data_classes: dataClasses } : {}) }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) setProblems(policyProblems(err.details));
      if (!(err instanceof ApiError && err.status === 401)) setError(refusal(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="h-dry" class="resolve">
      <h2 id="h-dry">Dry run</h2>
      <p class="hint">Evaluates a request against the active policy as a decision would, without recording anything or issuing a token.</p>
      <form class="stack" onSubmit={submit} noValidate>
        <label for="eval-actor">Actor</label>
        <input id="eval-actor" autoComplete="off" placeholder="ai_agent:assistant" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
        <label for="eval-action">Action</label>
        <input id="eval-action" autoComplete="off" placeholder="read_customer" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        <label for="eval-classes">Data classes (optional, separated by commas)</label>
        <input id="eval-classes" autoComplete="off" placeholder="pii, financial" value={classes} onInput={(e) => setClasses(e.currentTarget.value)} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Evaluate
          </button>
        </div>
      </form>
      {problems.length > 0 ? <Problems id="eval-problems" title={error ?? 'The request is invalid'} items={problems} /> : error && <Alert>{error}</Alert>}
      {result && <DryRunResult result={result} />}
    </section>
  );
}
