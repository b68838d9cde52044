/**
 * Browser tests of the oversight console: Debian's Chromium driven by playwright-core (never a browser
 * download), against a real Lexecon server listening on 127.0.0.1 (an in-process app on a port the OS
 * chose, running on the real clock so TOTP codes and SLA countdowns are real), serving a console built
 * for the test by scripts/build-console.ts.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { generateSync } from 'otplib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../scripts/build-console.js';
import { buildAppWithServices, type AppServices } from '../../src/app.js';
import type { UserPrincipal } from '../../src/modules/auth/auth.guard.js';
import type { HumanRole } from '../../src/modules/auth/roles.js';
import { verifyTokenOffline, type TokenVerifyResult } from '../../src/modules/tokens/token.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { FAST_HASHER, GOOD_PASSWORD, tempDir, testConfig } from './build-test-app.js';
import { REPO_ROOT } from './paths.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-output', 'console');
/** The seed policy the browser tests load (policies/seed-example.json). */
export const SEED_POLICY = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));

/**
 * Whether the browser tests can run. Without Chromium they are skipped with the reason printed, except
 * under CI=true, where a missing browser fails the run (`.ci/run` installs Debian's `chromium`).
 */
export function browserSkipReason(): string | undefined {
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `${CHROMIUM_PATH} is missing (install Debian's chromium package)`;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run under CI=true: ${reason}`);
  process.stdout.write(`\n[console] the browser tests are SKIPPED: ${reason}\n`);
  return reason;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface ConsoleServer {
  baseUrl: string;
  app: FastifyInstance;
  services: AppServices;
  build: ConsoleBuild;
  close(): Promise<void>;
}

/**
 * A port the OS picks as free now (a listener on port 0, closed at once), for a server whose own
 * configuration must name its URL before it listens (an OIDC redirect URI).
 */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Build the console into a temporary directory and start a server for it on 127.0.0.1:<free port>. */
export async function startConsoleServer(env: Record<string, string> = {}, opts: { port?: number } = {}): Promise<ConsoleServer> {
  const build = await buildConsole({ outDir: path.join(tempDir('lexecon-console-'), 'console') });
  const { app, services } = await buildAppWithServices(testConfig({ LEXECON_SLA_CHECK_INTERVAL_S: '0', ...env }), {
    db: openDatabase(':memory:'),
    passwordHasher: FAST_HASHER,
    testOnlyRsaModulusLength: 1024,
    testOnlyDetectSelfWait: true,
    consoleDir: build.outDir,
  });
  await app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { baseUrl: `http://127.0.0.1:${address.port}`, app, services, build, close: () => app.close() };
}

export interface ConsoleUser {
  userId: string;
  username: string;
  password: string;
  role: HumanRole;
  /** A session opened for the test's own API calls (the browser signs in by itself). */
  token: string;
  totpSecret?: string;
}

/** The current TOTP code of a secret (otplib, as an authenticator app computes it). */
export function totpNow(secret: string, atMs = Date.now()): string {
  return generateSync({ secret, epoch: Math.floor(atMs / 1000) });
}

/**
 * A user through the service. `mfa: true` enrols TOTP, confirming with the previous step's code (the
 * API accepts one step of drift), so that the current step's code is still unused for the browser's
 * sign-in (the API refuses a step it has seen).
 */
export async function createConsoleUser(services: AppServices, username: string, role: HumanRole, opts: { mfa?: boolean } = {}): Promise<ConsoleUser> {
  const { auth } = services;
  const user = await auth.createUser({ username, password: GOOD_PASSWORD, role }, 'system', 'cli');
  const grant = await auth.openSession(user, 'password');
  const result: ConsoleUser = { userId: user.userId, username, password: GOOD_PASSWORD, role, token: grant.token };
  if (opts.mfa) {
    const principal = (await auth.authenticate(grant.token)) as UserPrincipal;
    const { secret } = await auth.enrollMfa(principal);
    await auth.confirmMfa(principal, totpNow(secret, Date.now() - 30_000));
    result.totpSecret = secret;
  }
  return result;
}

/** A JSON call to the server over real HTTP. */
export async function call(baseUrl: string, method: string, url: string, credential?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Verify a capability token offline with the server's published keys (GET /api/governance/keys). */
export async function verifyOffline(baseUrl: string, token: string): Promise<TokenVerifyResult> {
  const { json } = await call(baseUrl, 'GET', '/api/governance/keys');
  const keys = new Map<string, string>((json.keys as Array<{ kid: string; public_key_pem: string }>).map((k) => [k.kid, k.public_key_pem]));
  return verifyTokenOffline(token, (kid) => {
    const pem = keys.get(kid);
    return pem ? createPublicKey(pem) : undefined;
  });
}

/** A page that records what the browser refused or failed on (CSP violations, script errors). */
export async function openPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // API refusals the test provokes (401, 403, 409) are answers, not problems; nor is a favicon the
    // OpenID Provider's test pages do not have.
    if (msg.type() !== 'error' || /status of 40[139]/.test(msg.text()) || msg.location().url.endsWith('/favicon.ico')) return;
    problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  return { page, problems };
}

const AXE_SOURCE = fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Run axe-core in the page; answers the serious and critical violations. axe is evaluated through the
 * DevTools protocol (page.evaluate), which the page's CSP does not govern; page.addScriptTag({content})
 * inserts an inline <script> element, which the console's CSP refuses (checked in the tests).
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(`(() => { ${AXE_SOURCE}; return typeof axe; })()`);
  if (loaded !== 'object') {
    // Some builds attach axe to window only: look there.
    const onWindow = await page.evaluate('typeof window.axe');
    if (onWindow !== 'object') throw new Error(`axe-core did not load (typeof axe: ${String(loaded)})`);
  }
  const results = (await page.evaluate(`(async () => {
    const a = typeof axe === 'object' ? axe : window.axe;
    const r = await a.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  })()`)) as AxeViolation[];
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Save a screenshot of the page under test-output/console/ (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * The browser of one test file and the contexts its tests open: `launch()` in beforeAll, `close()` in
 * afterAll (every context, then the browser). Pages come from `newPage`, with the file's own time zone.
 */
export class BrowserPages {
  private browser: Browser | undefined;
  private readonly contexts: BrowserContext[] = [];

  constructor(private readonly defaults: { timezoneId: string; acceptDownloads?: boolean }) {}

  async launch(): Promise<void> {
    this.browser = await launchChromium();
  }

  /** A page in a fresh context (its own cookies and storage) at this viewport. */
  async newPage(viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[]; context: BrowserContext }> {
    if (!this.browser) throw new Error('BrowserPages.launch() was not called');
    const context = await this.browser.newContext({ viewport, locale: 'en-GB', ...this.defaults });
    this.contexts.push(context);
    return { ...(await openPage(context)), context };
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close();
  }
}

/** Fails the test with the serious and critical axe-core violations of the page, named by `screen`. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${screen}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

export interface SignInOptions {
  /** 'nav' (default): wait for the main navigation of a signed-in user; 'none': return after the form. */
  landing?: 'nav' | 'none';
  /** Run on the TOTP step, before the code is typed (an accessibility check, a screenshot). */
  onTotpStep?: () => Promise<void>;
}

/** Sign in through the console's form, with the TOTP step when the user has a secret. */
export async function signInWithForm(page: Page, user: { username: string; password: string; totpSecret?: string }, opts: SignInOptions = {}): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (user.totpSecret) {
    const field = page.getByLabel('Authentication code');
    await field.waitFor();
    await opts.onTotpStep?.();
    await field.fill(totpNow(user.totpSecret));
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
  }
  if ((opts.landing ?? 'nav') === 'nav') await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** `signInWithForm`, answering the session token the page got from a successful POST /auth/login. */
export async function signInForToken(page: Page, user: { username: string; password: string; totpSecret?: string }, opts: SignInOptions = {}): Promise<string> {
  const login = page.waitForResponse((r) => r.url().endsWith('/auth/login') && r.status() === 200);
  await signInWithForm(page, user, opts);
  return ((await (await login).json()) as { token: string }).token;
}

/** Client-side navigation to a console screen (a reload would end the in-memory session, by design). */
export async function goTo(page: Page, screen: string): Promise<void> {
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(`/console${screen}`)}); dispatchEvent(new PopStateEvent('popstate'))`);
}

/** A request sent from the page with a bearer of the test's choice, as a forged one from the browser's console would be. */
export function forgeFromPage(page: Page, method: string, url: string, bearer: string, body?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ method, url, bearer, body }) => {
      const res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: await res.json() };
    },
    { method, url, bearer, body },
  );
}

/** Press Tab until the focused element satisfies `test` (a JS expression on `el`); fails after `max` presses. */
export async function tabTo(page: Page, test: string, what: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`(() => { const el = document.activeElement; return !!el && (${test}); })()`)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

/** The focused element's outline: visible focus means a real outline, not `none`. */
export function focusOutline(page: Page): Promise<string> {
  return page.evaluate(`(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; })()`) as Promise<string>;
}

/**
 * The seed policy (policies/seed-example.json) loaded by a governance lead created for it, and an agent
 * key for `ai_agent:*`: what the screens' decisions come from.
 */
export async function seedServer(server: ConsoleServer, leadUsername: string): Promise<{ lead: ConsoleUser; agentKey: string }> {
  const lead = await createConsoleUser(server.services, leadUsername, 'governance_lead');
  expect((await call(server.baseUrl, 'POST', '/policies/load', lead.token, SEED_POLICY)).status).toBe(201);
  const agentKey = (await server.services.auth.createApiKey({ name: 'console-agent', actorPattern: 'ai_agent:*' }, 'system')).secret;
  return { lead, agentKey };
}

/** Print the console bundle's size (raw and gzipped) that the server serves. */
export function reportBundleSize(server: ConsoleServer): void {
  process.stdout.write(
    `\n[console] bundle ${server.build.js}: ${(server.build.jsBytes / 1024).toFixed(1)} KB raw, ${(server.build.jsGzipBytes / 1024).toFixed(1)} KB gzipped\n`,
  );
}
