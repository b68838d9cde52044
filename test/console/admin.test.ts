/**
 * The console's Administration and Policies screens in a real browser (issue 18: "does each role's job
 * without curl"). The bootstrap admin (LEXECON_BOOTSTRAP_ADMIN) signs in, enrols in MFA as the role
 * requires, creates an approver (a common password refused with the server's own words first) and an
 * agent key (its secret shown once: a POST /decide with it works), sees 409 LAST_ADMIN when disabling
 * itself, revokes the key (the next POST /decide with it is 401). The approver it created signs in,
 * never sees Administration, and a POST /auth/users forged from its page gets 403. A governance lead
 * loads a policy file in the console and the server decides with it; a malformed policy lists the
 * server's problems; a dry run shows outcome, reason and matched relations. People by username for an
 * admin, ids for an auditor. axe-core on each new screen; screenshots to test-output/console/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import {
  BrowserPages,
  browserSkipReason,
  call,
  createConsoleUser,
  expectAccessible,
  forgeFromPage as forge,
  goTo as go,
  screenshot,
  SEED_POLICY as SEED,
  signInForToken,
  startConsoleServer,
  totpNow,
  type ConsoleServer,
  type ConsoleUser,
} from '../helpers/browser.js';

const skip = browserSkipReason();
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const ADMIN = { username: 'root-admin', password: 'violet-harbour-42-trombone' };
const APPROVER_PASSWORD = 'amber-meadow-71-lantern';
/** The seed policy with read_customer forbidden: what the governance lead loads from a file. */
const STRICTER = {
  policy_id: 'console-stricter',
  name: 'Stricter: no customer reads',
  mode: 'strict',
  terms: SEED.terms,
  relations: [
    { type: 'forbids', source: 'ai_agent', target: 'read_customer', justification: 'customer reads paused by the DPO' },
    ...SEED.relations.filter((r: { target: string }) => r.target !== 'read_customer'),
  ],
};

describe.skipIf(skip !== undefined)('console: administration and policies in Chromium', () => {
  let server: ConsoleServer;
  let lead: ConsoleUser;
  let auditor: ConsoleUser;
  const pages = new BrowserPages({ timezoneId: 'Europe/Berlin' });
  const newPage = (viewport?: { width: number; height: number }) => pages.newPage(viewport);
  /** Sign in through the form (the landing screen is the test's to wait for); answers the session token. */
  const signIn = (page: Page, username: string, password: string, totpSecret?: string) =>
    signInForToken(page, { username, password, totpSecret }, { landing: 'none' });

  /** Nothing sticks out sideways at this width (the offending elements named when something does). */
  async function fitsWidth(page: Page): Promise<void> {
    const r = (await page.evaluate(`(() => {
      const client = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > client + 1 && !(el.parentElement && el.parentElement.closest('.table-wrap, pre')))
        .slice(0, 5)
        .map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right));
      return { scroll: document.documentElement.scrollWidth, client, wide };
    })()`)) as { scroll: number; client: number; wide: string[] };
    expect(r.scroll, `horizontal overflow: ${r.wide.join(', ')}`).toBeLessThanOrEqual(r.client);
  }

  beforeAll(async () => {
    server = await startConsoleServer({ LEXECON_BOOTSTRAP_ADMIN: `${ADMIN.username}:${ADMIN.password}` });
    await pages.launch();
    lead = await createConsoleUser(server.services, 'lead-lou', 'governance_lead');
    auditor = await createConsoleUser(server.services, 'auditor-cy', 'auditor');
    expect((await call(server.baseUrl, 'POST', '/policies/load', lead.token, SEED)).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await pages.close();
    await server?.close();
  });

  let approverCreated = false;

  it('the bootstrap admin enrols in MFA, creates an approver and an agent key in the console (secret once, it works), meets LAST_ADMIN, revokes the key (then 401)', async () => {
    const { page, problems, context } = await newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
    await page.goto(`${server.baseUrl}/console`);
    await signIn(page, ADMIN.username, ADMIN.password);
    // Admins must enrol (LEXECON_MFA_REQUIRED_ROLES default): the console's own enrolment.
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    await page.getByLabel('Code from your app').fill(totpNow(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await page.getByRole('button', { name: 'I have saved my recovery codes' }).click();
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
    const rows = page.locator('tr[data-username]');
    await rows.filter({ hasText: 'lead-lou' }).waitFor();
    expect(await rows.count()).toBe(3); // the bootstrap admin, the lead, the auditor
    await expectAccessible(page, 'administration');

    // Create an approver: the rule is shown; the browser's own checks first, then the server's word.
    await expect.poll(() => page.locator('#new-password-rule').textContent()).toContain('At least 12 characters');
    await page.getByLabel('Username').fill('appr-ann');
    await page.getByLabel('Email (optional)').fill('ann@example.com');
    await page.getByLabel('Role').selectOption('approver');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.locator('#new-password-problems').getByText('The password must be at least 12 characters.').waitFor();
    await page.getByLabel('Password', { exact: true }).fill('password1234'); // long enough, but common: only the server knows
    expect(await page.locator('#new-password-problems li').count()).toBe(0);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.locator('#new-password-problems').getByText('The password is a commonly used password.').waitFor();
    await page.getByRole('alert').filter({ hasText: 'The password does not meet the password rule' }).waitFor();
    await screenshot(page, 'admin-create-user-refused');
    await page.getByLabel('Password', { exact: true }).fill(APPROVER_PASSWORD);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').filter({ hasText: 'User appr-ann created as approver' }).waitFor();
    await rows.filter({ hasText: 'appr-ann' }).waitFor();
    const created = await call(server.baseUrl, 'POST', '/auth/login', undefined, { username: 'appr-ann', password: APPROVER_PASSWORD });
    expect(created.status).toBe(200);
    expect(created.json.user.role).toBe('approver');
    approverCreated = true;
    // The same username again: 409 USERNAME_TAKEN beside the field.
    await page.getByLabel('Username').fill('APPR-ANN');
    await page.getByLabel('Password', { exact: true }).fill(APPROVER_PASSWORD);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').filter({ hasText: 'USERNAME_TAKEN' }).waitFor();
    await page.getByLabel('Username').fill('');
    await page.getByLabel('Password', { exact: true }).fill('');

    // The last admin cannot disable itself: the confirmation step, then the server's 409.
    await page.getByRole('button', { name: `Manage ${ADMIN.username}` }).click();
    await page.getByRole('button', { name: 'Disable…' }).click();
    await page.getByText(`Disable ${ADMIN.username}? They cannot sign in`).waitFor();
    // The keyboard meets the question: the dialog's effect moves the focus to its answer (after the paint
    // that shows the text, so wait for it, bounded; a focus that never arrives fails here).
    await page.waitForFunction("document.activeElement?.textContent === 'Yes, change it'", undefined, { timeout: 5_000 });
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'LAST_ADMIN' }).waitFor();
    expect((await call(server.baseUrl, 'GET', '/auth/me', (await call(server.baseUrl, 'POST', '/auth/login', undefined, { username: 'appr-ann', password: APPROVER_PASSWORD })).json.token)).status).toBe(200);
    await page.getByRole('button', { name: 'Close' }).click();

    // An agent key: the secret once, with a copy button.
    await page.getByLabel('Name (the agent or system that uses it)').fill('sales-bot');
    await page.getByLabel('Actor pattern').fill('ai_agent:*');
    await page.getByLabel('Try an actor against the pattern (optional, not sent)').fill('human:bob');
    await page.getByText('✗ human:bob does not match: refused.').waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('It will not be shown again.').waitFor();
    const key = await page.locator('#key-secret').inputValue();
    expect(key).toMatch(/^lxk_/);
    await page.getByRole('button', { name: 'Copy the key' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(key);
    await expectAccessible(page, 'administration: key shown once');
    await screenshot(page, 'admin-key-once');
    const approved = await call(server.baseUrl, 'POST', '/decide', key, READ);
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    expect(approved.json.outcome).toBe('approved');
    await page.getByRole('button', { name: 'Done: I stored it' }).click();
    expect(await page.locator('#key-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(key); // gone from the page
    const keyRow = page.locator('tr[data-key-name="sales-bot"]');
    expect(await keyRow.getAttribute('data-status')).toBe('active');
    expect(await keyRow.textContent()).toContain('by you');

    // Revoke, confirmed; the next POST /decide with the key is refused.
    await page.getByRole('button', { name: 'Revoke sales-bot' }).click();
    await page.getByRole('button', { name: 'Yes, revoke the key' }).click();
    await page.getByRole('status').filter({ hasText: 'is revoked' }).waitFor();
    await expect.poll(() => keyRow.getAttribute('data-status')).toBe('revoked');
    expect(await keyRow.textContent()).toContain('○ revoked');
    expect((await call(server.baseUrl, 'POST', '/decide', key, READ)).status).toBe(401);
    await expectAccessible(page, 'administration: key revoked');
    await screenshot(page, 'admin');

    // Phone width: the screen fits.
    await page.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(page);
    await screenshot(page, 'admin-phone');
    // The refused password is the only non-answer the browser logged (a 400 the test provoked).
    expect(problems.filter((p) => !/status of 400 .*\/auth\/users\)$/.test(p))).toEqual([]);
  }, 90_000);

  it('the approver the admin created signs in, never sees Administration, and a POST /auth/users forged from its page gets 403', async () => {
    expect(approverCreated).toBe(true);
    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console`);
    const token = await signIn(page, 'appr-ann', APPROVER_PASSWORD);
    await page.getByRole('heading', { name: 'Escalation queue' }).waitFor();
    expect(await page.getByRole('link', { name: 'Administration' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: /^Policies/ }).count()).toBe(0);
    await go(page, '/admin');
    await page.getByText('Only an admin manages users and API keys.').waitFor();
    expect(await page.getByRole('button', { name: 'Create user' }).count()).toBe(0);
    const forged = await forge(page, 'POST', '/auth/users', token, { username: 'mallory', password: APPROVER_PASSWORD, role: 'admin' });
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('FORBIDDEN');
    expect((await forge(page, 'POST', '/auth/api-keys', token, { name: 'x', actor_pattern: '*' })).status).toBe(403);
    expect(problems).toEqual([]);
  }, 60_000);

  it('a governance lead loads a policy file (the server decides with it), sees a malformed one refused with the server’s problems, and dry-runs', async () => {
    const agentKey = (await server.services.auth.createApiKey({ name: 'policy-agent', actorPattern: 'ai_agent:*' }, 'system')).secret;
    expect((await call(server.baseUrl, 'POST', '/decide', agentKey, READ)).json.outcome).toBe('approved');
    const file = path.join(tempDir('lexecon-policy-'), 'stricter.json');
    fs.writeFileSync(file, JSON.stringify(STRICTER, null, 2));

    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console/policies`);
    await signIn(page, lead.username, lead.password);
    await page.getByRole('heading', { name: 'Policies', level: 1 }).waitFor();
    await page.locator('tr[data-policy-id="seed-example"]').filter({ hasText: '★ active' }).waitFor();
    await page.locator('pre.json').filter({ hasText: '"read_customer"' }).waitFor();
    await expectAccessible(page, 'policies');

    await page.getByLabel('Policy file (JSON)').setInputFiles(file);
    await expect.poll(() => page.getByLabel(/^Or paste the document/).inputValue()).toContain('console-stricter');
    await page.getByRole('button', { name: 'Load and activate…' }).click();
    await page.getByText('Load console-stricter and make it the active policy?').waitFor();
    await page.getByRole('button', { name: 'Yes, load and activate' }).click();
    await page.getByText('console-stricter is now the active policy.').waitFor();
    await page.locator('tr[data-policy-id="console-stricter"]').filter({ hasText: '★ active' }).waitFor();
    expect(await page.locator('tr[data-policy-id="seed-example"]').textContent()).toContain('inactive');
    const denied = await call(server.baseUrl, 'POST', '/decide', agentKey, READ);
    expect(denied.status).toBe(200);
    expect(denied.json.outcome).toBe('denied');
    await screenshot(page, 'policies-loaded');

    // A malformed policy: the server's problems, each with its path; the active policy unchanged.
    const bad = { policy_id: 'broken', mode: 'lenient-ish', terms: [{ id: 'x', type: 'nonsense' }], relations: [{ type: 'permits', source: 'x' }] };
    await page.getByLabel(/^Or paste the document/).fill(JSON.stringify(bad));
    await page.getByRole('button', { name: 'Load and activate…' }).click();
    await page.getByRole('button', { name: 'Yes, load and activate' }).click();
    const list = page.locator('#policy-problems');
    await list.waitFor();
    expect(await list.textContent()).toContain('$.mode');
    expect(await list.locator('li').count()).toBeGreaterThanOrEqual(2);
    expect((await call(server.baseUrl, 'POST', '/decide', agentKey, READ)).json.outcome).toBe('denied');
    await expectAccessible(page, 'policies: problems');
    await screenshot(page, 'policies-problems');
    // Not JSON at all: the browser says so and sends nothing.
    await page.getByLabel(/^Or paste the document/).fill('{"terms": [');
    await page.getByRole('button', { name: 'Load and activate…' }).click();
    await page.getByRole('alert').filter({ hasText: 'This is not valid JSON' }).waitFor();

    // Dry run: the outcome, the reason and the matched relation.
    await page.getByLabel('Actor').fill('ai_agent:assistant');
    await page.getByLabel('Action').fill('read_customer');
    await page.getByLabel('Data classes (optional, separated by commas)').fill('pii');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const result = page.locator('.dry-result');
    await result.waitFor();
    expect(await result.getAttribute('data-outcome')).toBe('denied');
    expect(await result.textContent()).toContain('forbids:ai_agent->read_customer');
    await expectAccessible(page, 'policies: dry run');
    await screenshot(page, 'policies');
    await page.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(page);
    expect(problems.filter((p) => !/status of 400 .*\/policies\/load\)$/.test(p))).toEqual([]); // the malformed policy, refused
  }, 90_000);

  it('people by username for an admin, ids for an auditor; the auditor reads policies without controls', async () => {
    const { page: auditorPage, problems } = await newPage();
    await auditorPage.goto(`${server.baseUrl}/console/policies`);
    await signIn(auditorPage, auditor.username, auditor.password);
    await auditorPage.getByRole('link', { name: 'Policies (read only)' }).waitFor();
    const loadedBy = auditorPage.locator('tr[data-version-hash]').first();
    await loadedBy.waitFor();
    expect(await loadedBy.textContent()).toContain(lead.userId);
    expect(await auditorPage.getByRole('button', { name: 'Load and activate…' }).count()).toBe(0);
    expect(await auditorPage.getByRole('button', { name: 'Evaluate' }).count()).toBe(0);
    expect(await auditorPage.getByRole('link', { name: 'Administration' }).count()).toBe(0);
    await expectAccessible(auditorPage, 'policies (auditor)');

    // The admin's console names the lead (GET /auth/users/:id, cached), the id on hover.
    const { page } = await newPage();
    await page.goto(`${server.baseUrl}/console/policies`);
    expect((await call(server.baseUrl, 'GET', '/auth/users?limit=200', lead.token)).status).toBe(403); // a lead may not read users either
    // A second admin (enrolled in MFA by the helper) signs in here.
    const admin2 = await createConsoleUser(server.services, 'admin-two', 'admin', { mfa: true });
    await signIn(page, admin2.username, admin2.password, admin2.totpSecret);
    const person = page.locator(`tr[data-version-hash] .person[data-user-id="${lead.userId}"]`).first();
    await person.waitFor();
    expect(await person.textContent()).toBe('lead-lou');
    expect(await person.getAttribute('title')).toBe(lead.userId);
    expect(problems).toEqual([]);
  }, 60_000);

  it('an admin changes a user (the panel and each confirmation reached by keyboard): role, MFA reset, password reset, disable and enable, each confirmed; the server ends their sessions', async () => {
    const admin = await createConsoleUser(server.services, 'admin-three', 'admin', { mfa: true });
    const olga = await createConsoleUser(server.services, 'ops-olga', 'operator', { mfa: true });
    const login = (password: string, totp?: string) => call(server.baseUrl, 'POST', '/auth/login', undefined, { username: olga.username, password, ...(totp ? { totp } : {}) });
    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console/admin`);
    await signIn(page, admin.username, admin.password, admin.totpSecret);
    const manage = page.getByRole('button', { name: 'Manage ops-olga' });
    await manage.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Manage ops-olga' }).waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('h-manage'); // the keyboard lands on the panel

    // Role: operator → auditor. Olga's session ends at once.
    await page.locator('#manage-role').selectOption('auditor');
    await page.getByRole('button', { name: 'Change role…' }).click();
    await page.getByText("Change ops-olga's role from operator to auditor?").waitFor();
    await page.keyboard.press('Enter'); // "Yes" has the focus
    await page.getByRole('status').filter({ hasText: 'role auditor' }).waitFor();
    expect((await call(server.baseUrl, 'GET', '/auth/me', olga.token)).status).toBe(401);
    await page.locator('tr[data-username="ops-olga"]').filter({ hasText: 'auditor' }).waitFor();

    // MFA reset: then a password alone signs in.
    expect((await login(olga.password)).json.error.code).toBe('MFA_REQUIRED');
    await page.getByRole('button', { name: 'Reset two-factor…' }).click();
    await page.getByRole('button', { name: 'Yes, change it' }).click();
    await page.getByRole('status').filter({ hasText: 'two-factor authentication reset' }).waitFor();
    expect((await login(olga.password)).status).toBe(200);
    expect(await page.getByRole('button', { name: 'Reset two-factor…' }).isDisabled()).toBe(true);

    // Password reset: the rule checked as typed, then the new one works and the old one does not.
    const field = page.getByLabel('New password');
    await field.fill('ops-olga-password'); // contains the username
    await page.locator('#reset-password-problems').getByText('The password must not contain the username.').waitFor();
    await field.fill('granite-willow-19-compass');
    await page.getByRole('button', { name: 'Reset password…' }).click();
    await page.getByRole('button', { name: 'Yes, change it' }).click();
    await page.getByRole('status').filter({ hasText: 'password reset' }).waitFor();
    expect((await login('granite-willow-19-compass')).status).toBe(200);
    expect((await login(olga.password)).status).toBe(401);

    // Disable, then enable.
    await page.getByRole('button', { name: 'Disable…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click(); // nothing happens without the confirmation
    expect((await login('granite-willow-19-compass')).status).toBe(200);
    await page.getByRole('button', { name: 'Disable…' }).click();
    await page.getByRole('button', { name: 'Yes, change it' }).click();
    await page.locator('tr[data-username="ops-olga"]').filter({ hasText: 'disabled' }).waitFor();
    expect((await login('granite-willow-19-compass')).status).toBe(401);
    await page.getByRole('button', { name: 'Enable…' }).click();
    await page.getByRole('button', { name: 'Yes, change it' }).click();
    await page.locator('tr[data-username="ops-olga"]').filter({ hasText: 'active' }).waitFor();
    expect((await login('granite-willow-19-compass')).status).toBe(200);
    await expectAccessible(page, 'administration: manage a user');
    await screenshot(page, 'admin-manage-user');
    expect(problems).toEqual([]);
  }, 90_000);
});
