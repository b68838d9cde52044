/**
 * How the server serves the console (no browser): index.html for /console and every screen path, the
 * hashed assets cached for good, the console's own CSP (the API's unchanged), the OIDC provider named in
 * the page when configured, and a clear 503 when the console was not built.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../scripts/build-console.js';
import { buildApp } from '../../src/app.js';
import { SECURITY_HEADERS } from '../../src/platform/http-security-headers.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { FAST_HASHER, tempDir, testConfig } from '../helpers/build-test-app.js';

const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const API_CSP = SECURITY_HEADERS.find(([name]) => name === 'Content-Security-Policy')![1];

function appFor(consoleDir: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  return buildApp(testConfig(env), { db: openDatabase(':memory:'), passwordHasher: FAST_HASHER, testOnlyRsaModulusLength: 1024, consoleDir });
}

describe('the console routes', () => {
  let build: ConsoleBuild;
  let app: FastifyInstance;
  beforeAll(async () => {
    build = await buildConsole({ outDir: path.join(tempDir('lexecon-console-'), 'console') });
    app = await appFor(build.outDir);
  });
  afterAll(() => app.close());

  it('builds one hashed JS and one hashed CSS file within the size goal', () => {
    expect(build.js).toMatch(/^assets\/main-[A-Z0-9]{8}\.js$/);
    expect(build.css).toMatch(/^assets\/styles-[A-Z0-9]{8}\.css$/);
    expect(build.jsGzipBytes).toBeLessThan(150 * 1024);
    expect(build.jsGzipBytes).toBeLessThan(build.jsBytes);
  });

  it.each(['/console', '/console/', '/console/escalations', '/console/escalations/esc_01ABC', '/console/oidc/callback?code=x&state=y'])(
    '%s answers the app shell under the console CSP',
    async (url) => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain(`<script type="module" src="/console/${build.js}"></script>`);
      expect(res.body).toContain('<meta name="lexecon-oidc-provider" content="" />');
      // No inline script or style in the shell.
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(res.body).not.toMatch(/<style|style="/);
    },
  );

  it('answers the hashed assets, immutable, and 404 for any other asset', async () => {
    for (const [file, type] of [
      [build.js, 'text/javascript; charset=utf-8'],
      [build.css, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/console/${file}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.rawPayload.length).toBe(file === build.js ? build.jsBytes : build.cssBytes);
    }
    const head = await app.inject({ method: 'HEAD', url: `/console/${build.js}` });
    expect(head.statusCode).toBe(200);
    for (const url of ['/console/assets/missing.js', '/console/assets/%2e%2e%2findex.html', '/console/assets/']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });

  it('keeps the API policy on every other route', async () => {
    for (const url of ['/health', '/consolex', '/api/governance/status']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.headers['content-security-policy'], url).toBe(API_CSP);
    }
  });

  it('names the configured OIDC provider in the page, so the sign-in screen shows its button', async () => {
    const withOidc = await appFor(build.outDir, {
      LEXECON_OIDC_ISSUER: 'http://127.0.0.1:9/',
      LEXECON_OIDC_PROVIDER: 'corp-sso',
      LEXECON_OIDC_CLIENT_ID: 'lexecon',
      LEXECON_OIDC_REDIRECT_URI: 'http://127.0.0.1:8000/console/oidc/callback',
      LEXECON_OIDC_DEFAULT_ROLE: 'auditor',
    });
    try {
      const res = await withOidc.inject({ method: 'GET', url: '/console' });
      expect(res.body).toContain('<meta name="lexecon-oidc-provider" content="corp-sso" />');
    } finally {
      await withOidc.close();
    }
  });
});

describe('a server whose console was not built', () => {
  it('starts, and answers 503 CONSOLE_NOT_BUILT saying how to build it', async () => {
    const app = await appFor(path.join(tempDir('lexecon-console-'), 'nothing-here'));
    try {
      for (const url of ['/console', '/console/escalations', '/console/assets/main-ABC.js']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(503);
        expect(res.json().error).toMatchObject({ code: 'CONSOLE_NOT_BUILT', message: expect.stringContaining('npm run build') });
      }
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
