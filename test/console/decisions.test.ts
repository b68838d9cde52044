/**
 * The oversight console's decisions, override and stop / resume screens in a real browser (issue 18,
 * screens 3–5): the decisions list filters and pages through more than one page; a decision's page shows
 * its token status; an executive's override with a short justification is refused with the rule's
 * message, then a valid one takes effect and revokes the token; with the two-person rule on, a second
 * executive confirms (the requester is refused by the server); an operator stops through the guarded
 * control, the banner reaches a second signed-in user, an agent's POST /decide is denied `halted`, an
 * operator cannot resume, an executive resumes, and a token issued before the stop reads "invalid by
 * stop" as the server's verification says. axe-core on every new screen; screenshots to test-output/.
 */
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrowserPages,
  browserSkipReason,
  call,
  createConsoleUser,
  expectAccessible,
  forgeFromPage,
  goTo as go,
  reportBundleSize,
  screenshot,
  seedServer,
  signInForToken,
  startConsoleServer,
  type ConsoleServer,
  type ConsoleUser,
} from '../helpers/browser.js';

const skip = browserSkipReason();
/** Approved by the seed policy (with a capability token). */
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const SHORT = 'too short';
const VALID = 'Customer complaint reviewed by legal; access must stop now.';

describe.skipIf(skip !== undefined)('console: decisions, overrides, stop / resume in Chromium', () => {
  let server: ConsoleServer;
  let twoPerson: ConsoleServer;
  let agentKey: string;
  let auditor: ConsoleUser;
  let exec1: ConsoleUser;
  let execResume: ConsoleUser;
  let operator: ConsoleUser;
  const pages = new BrowserPages({ timezoneId: 'America/New_York' });
  const newPage = (viewport?: { width: number; height: number }) => pages.newPage(viewport);
  /** Sign in through the form (with TOTP when the user has it); answers the session token the page got. */
  const signIn = (page: Page, user: ConsoleUser) => signInForToken(page, user);

  async function decide(s: ConsoleServer, key: string, body: Record<string, unknown> = READ): Promise<any> {
    const res = await call(s.baseUrl, 'POST', '/decide', key, body);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json;
  }

  /** A fresh server with the seed policy and an agent key. */
  async function seeded(env: Record<string, string> = {}): Promise<{ s: ConsoleServer; key: string }> {
    const s = await startConsoleServer(env);
    const { agentKey: key } = await seedServer(s, 'lead-1');
    return { s, key };
  }

  /** POST from the page with the page's own session, as a forged request from the browser console would. */
  const forge = (page: Page, url: string, bearer: string, body: unknown) => forgeFromPage(page, 'POST', url, bearer, body);

  beforeAll(async () => {
    ({ s: server, key: agentKey } = await seeded());
    await pages.launch();
    auditor = await createConsoleUser(server.services, 'auditor-cy', 'auditor');
    exec1 = await createConsoleUser(server.services, 'exec-dee', 'executive', { mfa: true });
    execResume = await createConsoleUser(server.services, 'exec-flo', 'executive', { mfa: true });
    operator = await createConsoleUser(server.services, 'operator-eve', 'operator');
    reportBundleSize(server);
  }, 60_000);

  afterAll(async () => {
    await pages.close();
    await server?.close();
    await twoPerson?.close();
  });

  it('the decisions list filters by actor and outcome and pages through more than one page; an auditor sees no override control', async () => {
    // 53 decisions of one actor (50 approved, 3 denied), newest first: more than the console's page of 50.
    for (let i = 0; i < 50; i++) await decide(server, agentKey, { ...READ, actor: 'ai_agent:pager' });
    for (let i = 0; i < 3; i++) await decide(server, agentKey, { ...READ, actor: 'ai_agent:pager', proposed_action: 'delete_records' });
    await decide(server, agentKey); // another actor

    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console/decisions`);
    await signIn(page, auditor);
    await page.getByRole('heading', { name: 'Decisions' }).waitFor();
    // Role: every human role reads decisions; only executives and admins get the override controls, only
    // operators, executives and admins the stop / resume screen.
    expect(await page.getByRole('link', { name: 'Stop / resume' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Overrides (read only)' }).waitFor();
    const rows = page.locator('tr[data-decision-id]');
    const status = page.getByRole('status').filter({ hasText: /^Page / });

    await page.getByLabel('Actor (exact)').fill('ai_agent:pager');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await status.filter({ hasText: 'Page 1: 50 decisions, older ones on the next page.' }).waitFor();
    expect(await rows.count()).toBe(50);
    // Newest first: the three denials come first.
    expect(await rows.nth(0).textContent()).toContain('Denied');
    expect(await rows.nth(3).textContent()).toContain('Approved');
    await expectAccessible(page, 'decisions list');
    await screenshot(page, 'decisions');
    const firstPage = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-decision-id')));

    await page.getByRole('button', { name: 'Older page' }).click();
    await status.filter({ hasText: 'Page 2: 3 decisions.' }).waitFor();
    const secondPage = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-decision-id')));
    expect(secondPage).toHaveLength(3);
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    expect(await page.getByRole('button', { name: 'Older page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer page' }).click();
    await status.filter({ hasText: 'Page 1: 50 decisions' }).waitFor();

    await page.getByLabel('Outcome').selectOption('denied');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await status.filter({ hasText: 'Page 1: 3 decisions.' }).waitFor();
    for (const text of await rows.allTextContents()) expect(text).toContain('ai_agent:pager');

    // A window that is empty: "Before" not after "From" is refused before any request.
    await page.getByLabel('From (your time)').fill('2030-01-02T10:00');
    await page.getByLabel('Before (your time)').fill('2030-01-01T10:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('alert').filter({ hasText: '"Before" must be later than "From".' }).waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await status.filter({ hasText: 'Page 1: 50 decisions' }).waitFor();

    // Phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, 'decisions list (phone)');
    await screenshot(page, 'decisions-phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    // A decision's page, read only: its token is valid, its ledger entry shown as the API answers it.
    await rows.filter({ hasText: 'ai_agent:assistant' }).first().getByRole('link').click();
    await page.getByRole('heading', { name: /^Decision dec_/ }).waitFor();
    await page.locator('[data-token-status="valid"]').waitFor();
    expect(await page.getByRole('heading', { name: 'Override this decision' }).count()).toBe(0);
    expect(await page.locator('textarea, select').count()).toBe(0);
    await page.getByRole('button', { name: 'Show the ledger entry JSON' }).click();
    const json = JSON.parse((await page.locator('#ledger-json').textContent()) ?? '');
    expect(json).toMatchObject({ event_type: 'decision', data: { actor: 'ai_agent:assistant' } });
    await expectAccessible(page, 'decision (auditor)');
    await screenshot(page, 'decision-auditor');
    expect(problems).toEqual([]);
  }, 120_000);

  it('an executive overrides: a short justification is refused with the rule shown, a valid one takes effect and revokes the token', async () => {
    const d = await decide(server, agentKey);
    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console/decisions/${d.decision_id}`);
    await signIn(page, exec1);
    await page.getByRole('heading', { name: 'Override this decision' }).waitFor();
    await page.locator('[data-token-status="valid"]').waitFor();

    await page.getByLabel('New outcome').selectOption('denied');
    const field = page.getByLabel('Justification (at least 20 characters)');
    await field.fill(SHORT);
    // The rule, counted as you type (trimmed, as the server counts).
    await page.getByText('9 of at least 20 characters: 11 more needed.').waitFor();
    await page.getByRole('button', { name: 'Submit override' }).click();
    await page.getByRole('alert').filter({ hasText: 'The justification is too short: 9 of at least 20 characters' }).waitFor();
    expect((await call(server.baseUrl, 'GET', `/api/governance/override?decision_id=${d.decision_id}`, auditor.token)).json.items).toEqual([]);
    // The server holds the same rule (the console's check is a courtesy).
    const direct = await call(server.baseUrl, 'POST', '/api/governance/override', exec1.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: SHORT });
    expect(direct.status).toBe(400);
    await expectAccessible(page, 'decision with override form (refused)');
    await screenshot(page, 'override-refused');

    await field.fill(VALID);
    await page.getByText(`${VALID.length} characters: enough (at least 20).`).waitFor();
    await page.getByRole('button', { name: 'Submit override' }).click();
    await page.getByRole('status').filter({ hasText: 'is active: the effective outcome is now denied' }).waitFor();
    await page.locator('[data-token-status="revoked"]').waitFor();
    expect(await page.getByTestId('effective-outcome').textContent()).toContain('Denied');
    await page.locator('[data-override-status="active"]').waitFor();
    await screenshot(page, 'override-active');

    const after = await call(server.baseUrl, 'GET', `/decide/${d.decision_id}`, auditor.token);
    expect(after.json).toMatchObject({ outcome: 'approved', effective_outcome: 'denied', token: { revoked: true } });
    expect(after.json.overrides[0]).toMatchObject({ status: 'active', authorized_by: exec1.userId });
    const verified = await call(server.baseUrl, 'POST', '/decide/verify', agentKey, { token: d.capability_token });
    expect(verified.json).toMatchObject({ valid: false, reason: 'revoked' });
    expect(problems).toEqual([]);
  }, 60_000);

  it('with the two-person rule on, a second executive confirms; the server refuses the requester', async () => {
    const seededTwo = await seeded({ LEXECON_OVERRIDE_TWO_PERSON: 'true' });
    twoPerson = seededTwo.s;
    const asker = await createConsoleUser(twoPerson.services, 'exec-ada', 'executive', { mfa: true });
    const second = await createConsoleUser(twoPerson.services, 'exec-bo', 'executive', { mfa: true });
    const d = await decide(twoPerson, seededTwo.key);

    const { page } = await newPage();
    await page.goto(`${twoPerson.baseUrl}/console/decisions/${d.decision_id}`);
    const askerToken = await signIn(page, asker);
    await page.getByLabel('New outcome').selectOption('denied');
    await page.getByLabel('Justification (at least 20 characters)').fill(VALID);
    await page.getByRole('button', { name: 'Submit override' }).click();
    await page.getByRole('status').filter({ hasText: 'waits for a second executive or admin' }).waitFor();
    await page.locator('[data-override-status="pending_confirmation"]').waitFor();
    // Nothing changed yet.
    await page.locator('[data-token-status="valid"]').waitFor();
    expect(await page.getByTestId('effective-outcome').textContent()).toContain('Approved');

    // The queue, for the requester: no confirm button, a withdraw; forged, the server refuses.
    await page.getByRole('link', { name: 'Override confirmations' }).click();
    const item = page.locator('li.pending');
    await item.waitFor();
    expect(await item.getByRole('button', { name: 'Confirm override' }).count()).toBe(0);
    await item.getByRole('button', { name: 'Withdraw override' }).waitFor();
    const overrideId = await item.getAttribute('data-override-id');
    const forged = await forge(page, `/api/governance/override/${overrideId}/confirm`, askerToken, { justification: 'confirming my own override, forged' });
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'SAME_PERSON' } } });
    await expectAccessible(page, 'override confirmations (requester)');

    // A second pending override, which its requester will withdraw behind the second executive's back.
    const d2 = await decide(twoPerson, seededTwo.key);
    const other = await call(twoPerson.baseUrl, 'POST', '/api/governance/override', askerToken, { decision_id: d2.decision_id, new_outcome: 'denied', justification: VALID });
    expect(other.json).toMatchObject({ status: 'pending_confirmation' });

    // A second executive, in another browser context, confirms.
    const { page: page2, problems } = await newPage();
    await page2.goto(`${twoPerson.baseUrl}/console/overrides`);
    await signIn(page2, second);

    // The server's refusal is shown as it comes: the queue's re-reads are held, the requester withdraws,
    // and the confirmation meets 409 NOT_PENDING.
    const stale = page2.locator(`li.pending[data-override-id="${other.json.override_id}"]`);
    await stale.waitFor();
    const held: Route[] = [];
    let hold = true;
    await page2.route('**/api/governance/override?*', (route) => {
      if (hold) held.push(route);
      else void route.continue();
    });
    const withdrawn = await call(twoPerson.baseUrl, 'POST', `/api/governance/override/${other.json.override_id}/reject`, askerToken, { justification: 'withdrawn: asked on the wrong decision' });
    expect(withdrawn.status).toBe(201);
    await stale.getByLabel('Your justification').fill('Checked with legal: the complaint stands.');
    await stale.getByRole('button', { name: 'Confirm override' }).click();
    await stale.getByRole('alert').filter({ hasText: '(NOT_PENDING)' }).waitFor();
    hold = false;
    for (const r of held) await r.continue();
    await stale.waitFor({ state: 'detached' });
    const item2 = page2.locator(`li.pending[data-override-id="${overrideId}"]`);
    await item2.waitFor();
    await item2.getByLabel('Your justification').fill('Checked with legal: the complaint stands.');
    await expectAccessible(page2, 'override confirmations');
    await screenshot(page2, 'override-confirmations');
    await item2.getByRole('button', { name: 'Confirm override' }).click();
    await page2.getByText('No override waits for confirmation.').waitFor();

    const after = await call(twoPerson.baseUrl, 'GET', `/api/governance/override/${overrideId}`, asker.token);
    expect(after.json).toMatchObject({ status: 'active', two_person: true, authorized_by: asker.userId, confirmed_by: second.userId, effective_outcome: 'denied' });
    // The requester's page shows it on the decision: in effect, confirmed by the second executive, token revoked.
    await go(page, `/decisions/${d.decision_id}`);
    await page.locator('[data-override-status="active"]').waitFor();
    await page.locator('[data-token-status="revoked"]').waitFor();
    expect(await page.locator('li[data-override-id]').textContent()).toContain(`confirmed by ${second.userId}`);
    expect(problems).toEqual([]);
  }, 90_000);

  it('an operator stops through the guarded control; the banner reaches another user; POST /decide is denied halted; an executive resumes', async () => {
    // Decided before the stop: its token is invalidated by it for good.
    const before = await decide(server, agentKey);
    const banner = (p: Page) => p.getByRole('alert').filter({ hasText: 'Decisions are halted' });

    // A second signed-in user, elsewhere in the console.
    const { page: watcher } = await newPage({ width: 390, height: 844 });
    await watcher.goto(`${server.baseUrl}/console/decisions`);
    await signIn(watcher, auditor);
    expect(await banner(watcher).count()).toBe(0);

    const { page, problems } = await newPage();
    await page.goto(`${server.baseUrl}/console`);
    const operatorToken = await signIn(page, operator);
    await page.getByRole('link', { name: 'Stop / resume' }).click();
    await page.getByRole('heading', { name: 'Stop all decisions' }).waitFor();
    // The guard: a reason first, then a confirmation step.
    await page.getByRole('button', { name: 'Stop decisions…' }).click();
    await page.getByRole('alert').filter({ hasText: 'A reason is required' }).waitFor();
    await page.getByLabel('Reason (required, signed and ledgered)').fill('console test: runaway agent suspected');
    await page.getByRole('button', { name: 'Stop decisions…' }).click();
    await page.getByText('Really stop every decision now?').waitFor();
    await expectAccessible(page, 'stop (confirmation step)');
    await screenshot(page, 'halt-confirm');
    // Cancel keeps everything as it was.
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await call(server.baseUrl, 'GET', '/api/governance/status', auditor.token)).json.halted).toBe(false);
    await page.getByRole('button', { name: 'Stop decisions…' }).click();
    await page.getByRole('button', { name: 'Yes, stop decisions' }).click();
    await page.getByRole('status').filter({ hasText: 'Decisions are stopped.' }).waitFor();
    await banner(page).waitFor();
    // The operator may not resume: no control, and the API refuses it forged from the page.
    await page.getByText('Only an executive or an admin may resume decisions.').waitFor();
    expect(await page.getByRole('button', { name: /Resume/ }).count()).toBe(0);
    expect(await forge(page, '/api/governance/resume', operatorToken, { reason: 'forged resume' })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    await expectAccessible(page, 'stop / resume (halted, operator)');
    await screenshot(page, 'halt-operator');

    // The other user's console shows the banner within its poll.
    await banner(watcher).waitFor({ timeout: 15_000 });
    expect(await banner(watcher).textContent()).toContain('runaway agent suspected');
    // An agent's decision is denied, halted.
    const halted = await decide(server, agentKey);
    expect(halted).toMatchObject({ outcome: 'denied', reason: 'halted', capability_token: null });

    // An executive resumes, through the same guard.
    const { page: execPage } = await newPage();
    await execPage.goto(`${server.baseUrl}/console/halt`);
    await signIn(execPage, execResume);
    await execPage.getByRole('heading', { name: 'Resume decisions', exact: true }).waitFor();
    // By keyboard only: type the reason, Tab to the control, Enter; the confirmation step takes the focus.
    await execPage.getByLabel('Reason (required, signed and ledgered)').focus();
    await execPage.keyboard.type('console test: all clear');
    await execPage.keyboard.press('Tab');
    expect(await execPage.evaluate('document.activeElement.textContent')).toBe('Resume decisions…');
    await execPage.keyboard.press('Enter');
    await execPage.getByRole('button', { name: 'Yes, resume decisions' }).waitFor();
    await expect.poll(() => execPage.evaluate('document.activeElement.id')).toBe('halt-confirm');
    await execPage.keyboard.press('Enter');
    await execPage.getByRole('status').filter({ hasText: 'Decisions are resumed.' }).waitFor();
    await expect.poll(() => execPage.evaluate('document.activeElement.id')).toBe('halt-result');
    await expectAccessible(execPage, 'stop / resume (executive, running)');
    await screenshot(execPage, 'halt-resumed');
    await banner(watcher).waitFor({ state: 'detached', timeout: 15_000 });
    expect((await decide(server, agentKey)).outcome).toBe('approved');

    // The token issued before the stop: invalid by stop, on the page and by the server's verification.
    await go(watcher, `/decisions/${before.decision_id}`);
    await watcher.locator('[data-token-status="invalid_by_stop"]').waitFor();
    await screenshot(watcher, 'decision-invalid-by-stop-phone');
    const verified = await call(server.baseUrl, 'POST', '/decide/verify', agentKey, { token: before.capability_token });
    expect(verified.json).toMatchObject({ valid: false, reason: 'revoked_by_stop' });
    expect(problems).toEqual([]);
  }, 120_000);
});
