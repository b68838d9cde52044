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
