import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type Api, type SessionGrant } from '../api.js';
import { Alert } from '../components.js';
import { qrModules, qrPath } from '../lib/qr.js';
import { checkPassword, checkSecondFactor, checkTotpCode, checkUsername, normalizeCode } from '../lib/validate.js';

/** The configured OIDC provider's name, from the page's meta tag (the server fills it in; empty: none). */
export function oidcProvider(): string | null {
  const v = document.querySelector<HTMLMetaElement>('meta[name="lexecon-oidc-provider"]')?.content.trim() ?? '';
  return v.length > 0 ? v : null;
}

function message(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'INVALID_CREDENTIALS') return 'Wrong username or password.';
    if (err.code === 'INVALID_MFA_CODE') return 'That code is wrong, expired or already used. Wait for the next code and try again.';
    if (err.code === 'ACCOUNT_LOCKED') return `Too many failed attempts: this account is locked for now. ${err.message}`;
    return err.message;
  }
  return 'Something went wrong. Try again.';
}

/**
 * Sign in: username and password, then (when the API answers `MFA_REQUIRED`) a TOTP or recovery code.
 * `notice` explains why the user is here again (an ended session), `initialUsername` refills the form.
 */
export function SignIn({ api, onSignedIn, notice, initialUsername }: { api: Api; onSignedIn: (g: SessionGrant) => void; notice: string | null; initialUsername: string }) {
  const [username, setUsername] = useState(initialUsername);
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const totpRef = useRef<HTMLInputElement>(null);
  const firstRef = useRef<HTMLInputElement>(null);
  const provider = oidcProvider();

  useEffect(() => {
    (needTotp ? totpRef : firstRef).current?.focus();
  }, [needTotp]);

  async function submit(e: Event) {
    e.preventDefault();
    const check = [checkUsername(username), checkPassword(password), ...(needTotp ? [checkSecondFactor(totp)] : [])].find((c) => !c.ok);
    if (check && !check.ok) {
      setError(check.message);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.login(username.trim(), password, needTotp ? normalizeCode(totp) : undefined));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'MFA_REQUIRED') {
        setNeedTotp(true);
      } else {
        setError(message(err));
        if (needTotp) setTotp('');
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="signin" tabIndex={-1}>
      <h1>Sign in to the oversight console</h1>
      {notice && <Alert kind="info">{notice}</Alert>}
      <form onSubmit={submit} noValidate aria-describedby={error ? 'signin-error' : undefined}>
        <label for="username">Username</label>
        <input id="username" ref={firstRef} name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} disabled={needTotp} required />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} disabled={needTotp} required />
        {needTotp && (
          <>
            <label for="totp">Authentication code</label>
            <p class="hint" id="totp-hint">
              The 6-digit code from your authenticator app, or one of your recovery codes.
            </p>
            <input id="totp" ref={totpRef} name="totp" inputMode="numeric" autocomplete="one-time-code" aria-describedby="totp-hint" value={totp} onInput={(e) => setTotp(e.currentTarget.value)} required />
          </>
        )}
        {error && (
          <Alert id="signin-error">{error}</Alert>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {needTotp ? 'Verify and sign in' : 'Sign in'}
          </button>
          {needTotp && (
            <button
              type="button"
              onClick={() => {
                setNeedTotp(false);
                setTotp('');
                setPassword('');
                setError(null);
              }}
            >
              Start over
            </button>
          )}
        </div>
      </form>
      {provider && (
        <p class="oidc">
          <a class="button" href={`/auth/oidc/${encodeURIComponent(provider)}/login`}>
            Sign in with {provider} (single sign-on)
          </a>
        </p>
      )}
    </main>
  );
}

/**
 * MFA enrolment: a fresh secret from the API, its otpauth URI drawn as a QR code here (no external
 * service sees the secret), the secret as text for manual entry, a current code to confirm, then the
 * recovery codes, shown this once.
 */
export function EnrolMfa({ api, required, onDone }: { api: Api; required: boolean; onDone: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    api.enrollMfa().then(setEnrol, (err: unknown) => setError(err instanceof ApiError ? err.message : 'Could not start the enrolment.'));
  }, [api]);

  const qr = useMemo(() => {
    if (!enrol) return null;
    const modules = qrModules(enrol.otpauth_uri);
    return { size: modules.length + 8, d: qrPath(modules) };
  }, [enrol]);

  async function confirm(e: Event) {
    e.preventDefault();
    const c = checkTotpCode(code);
    if (!c.ok) {
      setError(c.message);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setCodes((await api.confirmMfa(normalizeCode(code))).recovery_codes);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Could not confirm the code.');
    } finally {
      setBusy(false);
    }
  }

  if (codes) {
    return (
      <main id="main" tabIndex={-1}>
        <h1>Two-factor authentication is on</h1>
        <Alert kind="success">Save these recovery codes somewhere safe now. Each works once if you lose your device. They are not shown again.</Alert>
        <ol class="recovery-codes" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ol>
        <button type="button" class="primary" onClick={onDone}>
          I have saved my recovery codes
        </button>
      </main>
    );
  }

  return (
    <main id="main" tabIndex={-1}>
      <h1>Set up two-factor authentication</h1>
      {required && <Alert kind="info">Your role requires two-factor authentication. Set it up to continue.</Alert>}
      <ol class="steps">
        <li>Scan this QR code with an authenticator app, or type the secret below into it.</li>
        <li>Enter the 6-digit code the app shows.</li>
      </ol>
      {enrol && qr ? (
        <>
          <svg class="qr" role="img" aria-label="QR code of your authenticator secret" viewBox={`0 0 ${qr.size} ${qr.size}`} width="232" height="232">
            <rect width={qr.size} height={qr.size} fill="#fff" />
            <path d={qr.d} fill="#000" />
          </svg>
          <p>
            Secret (for manual entry): <code class="secret" data-testid="totp-secret">{enrol.secret}</code>
          </p>
          <form onSubmit={confirm} noValidate>
            <label for="enrol-code">Code from your app</label>
            <input id="enrol-code" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} required />
            {error && <Alert>{error}</Alert>}
            <div class="actions">
              <button type="submit" class="primary" disabled={busy}>
                Turn on two-factor authentication
              </button>
            </div>
          </form>
        </>
      ) : (
        error ? <Alert>{error}</Alert> : <p>Preparing…</p>
      )}
    </main>
  );
}

/**
 * The OIDC callback page: the provider sends the browser here (LEXECON_OIDC_REDIRECT_URI pointing to
 * /console/oidc/callback); the page hands the query to the API's callback, which checks the state
 * cookie, the code and the ID token and answers a session like the password login.
 */
export function OidcCallback({ api, onSignedIn, onFailed }: { api: Api; onSignedIn: (g: SessionGrant) => void; onFailed: (message: string) => void }) {
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const provider = oidcProvider();
    if (!provider) {
      onFailed('Single sign-on is not configured on this server.');
      return;
    }
    api.oidcCallback(provider, location.search).then(onSignedIn, (err: unknown) => onFailed(err instanceof ApiError ? err.message : 'Single sign-on failed.'));
  }, [api]);
  return (
    <main id="main" tabIndex={-1}>
      <p>Finishing single sign-on…</p>
    </main>
  );
}
