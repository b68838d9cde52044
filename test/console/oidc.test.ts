/**
 * Single sign-on through the console, in Chromium, against a real OpenID Provider (panva oidc-provider
 * on 127.0.0.1): the sign-in screen shows the configured provider's button; the provider sends the
 * browser back to /console/oidc/callback, whose page hands code and state (and the browser's state
 * cookie) to the API's callback and is signed in with the mapped role.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, freePort, launchChromium, openPage, screenshot, seriousAxeViolations, startConsoleServer, type ConsoleServer } from '../helpers/browser.js';
import { startTestOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)('single sign-on in the console', () => {
  let provider: TestOidcProvider;
  let server: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/console/oidc/callback`;
    provider = await startTestOidcProvider({
      clients: [{ client_id: 'lexecon', client_secret: 'client-secret-for-tests', redirect_uris: [redirectUri] }],
      accounts: { 'olga-1': { email: 'olga@example.com', email_verified: true, preferred_username: 'olga', name: 'Olga', groups: ['reviewers'] } },
    });
    server = await startConsoleServer(
      {
        LEXECON_OIDC_ISSUER: provider.issuer,
        LEXECON_OIDC_PROVIDER: 'corp',
        LEXECON_OIDC_CLIENT_ID: 'lexecon',
        LEXECON_OIDC_CLIENT_SECRET: 'client-secret-for-tests',
        LEXECON_OIDC_REDIRECT_URI: redirectUri,
        LEXECON_OIDC_ROLE_MAP: 'reviewers=approver',
        LEXECON_OIDC_SCOPES: 'openid email profile groups',
      },
      { port },
    );
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  it('signs in through the provider and lands in the queue with the mapped role', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const { page, problems } = await openPage(context);
      await page.goto(`${server.baseUrl}/console`);
      const button = page.getByRole('link', { name: 'Sign in with corp (single sign-on)' });
      await button.waitFor();
      expect(await seriousAxeViolations(page)).toEqual([]);
      await screenshot(page, 'signin-oidc');
      await button.click();
      // The provider's login, then its consent: this test provider's "pages" take a form post, made
      // with the browser context's own cookies; the browser then follows the provider's redirect.
      for (let step = 0; step < 2; step++) {
        await page.waitForURL((u) => u.href.startsWith(`${provider.issuer}/interaction/`));
        const res = await context.request.post(page.url(), { form: { accountId: 'olga-1' }, maxRedirects: 0 });
        expect(res.status()).toBe(303);
        await page.goto(new URL(res.headers().location!, page.url()).href);
        if (page.url().startsWith(server.baseUrl)) break;
      }
      await page.getByRole('heading', { name: 'Escalation queue' }).waitFor();
      expect(await page.locator('.who').textContent()).toBe('olga (approver)');
      // The callback page replaced its URL (code and state are not left in the address bar or history).
      expect(page.url()).toBe(`${server.baseUrl}/console/escalations`);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
