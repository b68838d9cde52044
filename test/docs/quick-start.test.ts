import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, seedSession, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const read = (name: string) => fs.readFileSync(path.join(REPO_ROOT, name), 'utf8');

/** One `curl` of a shell block (continuation lines joined) and the `# → …` comment that follows it, if any. */
interface Curl {
  method: string;
  url: string;
  auth: string | undefined;
  body: string | undefined;
  expects: string | undefined;
}

/** The `curl` commands of the first ```sh block under `heading` in a Markdown document. */
function curls(markdown: string, heading: string): Curl[] {
  const section = markdown.slice(markdown.indexOf(heading));
  const blocks = section.split('```sh\n').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  const block = blocks.find((b) => b.includes('curl -s -X '))!;
  const lines = block.split('\n');
  const out: Curl[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (!line.startsWith('curl ')) {
      if (line.startsWith('# → ') && out.length > 0 && out[out.length - 1]!.expects === undefined) out[out.length - 1]!.expects = line.slice(4);
      continue;
    }
    while (line.endsWith('\\')) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const url = /(https?:\/\/127\.0\.0\.1:8000\S*)/.exec(line)![1]!;
    const body = /-d @(\S+)/.exec(line)?.[1];
    const inline = /-d '([^']*)'/.exec(line)?.[1];
    out.push({
      method: /-X (\w+)/.exec(line)?.[1] ?? 'GET',
      url: new URL(url).pathname,
      auth: /authorization: Bearer \$(\w+)/.exec(line)?.[1],
      body: body !== undefined ? read(body) : inline,
      expects: undefined,
    });
  }
  return out;
}

describe("README's quick start, run as written", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.app.close());

  it('loads the quick-start policy and reaches all four outcomes, each as its comment says', async () => {
    const steps = curls(read('README.md'), '## Quick start');
    const vars: Record<string, string> = { TOKEN: await seedSession(t, 'admin') };
    const outcomes: string[] = [];
    for (const step of steps) {
      const res = await t.app.inject({
        method: step.method as 'GET' | 'POST' | 'PUT',
        url: step.url,
        headers: { ...(step.auth ? bearer(vars[step.auth]!) : {}), ...(step.body ? { 'content-type': 'application/json' } : {}) },
        ...(step.body ? { payload: step.body } : {}),
      });
      expect(res.statusCode, `${step.method} ${step.url}: ${res.body}`).toBeLessThan(300);
      const json = res.json();
      if (step.url === '/auth/api-keys') vars.AGENT_KEY = json.api_key;
      if (step.url === '/policies/load') expect(json).toMatchObject({ policy_id: 'quick-start', activated: true, warnings: [] });
      if (step.url !== '/decide') continue;
      const expected = /"outcome":"(\w+)"/.exec(step.expects ?? '')?.[1];
      expect(json.outcome, step.body).toBe(expected);
      outcomes.push(json.outcome);
      // The rest of the comment is true too: tokens, conditions, the escalation.
      if (json.outcome === 'approved') expect(json.capability_token).toMatch(/^cap_/);
      if (json.outcome === 'conditional') {
        expect(step.expects).toContain(`"conditions":${JSON.stringify(json.conditions)}`);
        expect(json.capability_token).toMatch(/^cap_/);
      }
      if (json.outcome === 'denied') expect(json.capability_token).toBeNull();
      if (json.outcome === 'escalated') expect(json.escalation_id).toMatch(/^esc_/);
    }
    expect(outcomes.sort()).toEqual(['approved', 'conditional', 'denied', 'escalated']);
    expect(steps.at(-1)).toMatchObject({ url: '/ledger/verify' });
  });

  it('names the anonymous routes of DESIGN §7 that the server actually leaves open', async () => {
    const readme = read('README.md');
    for (const route of ['`/health`', '`/ready`', '`/docs`', '`/openapi.json`', '`/auth/login`', '`GET /api/governance/keys`', '`/metrics`']) {
      expect(readme).toContain(route);
    }
    for (const url of ['/health', '/ready', '/openapi.json', '/api/governance/keys']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    expect((await t.app.inject({ method: 'GET', url: '/policies' })).statusCode).toBe(401);
    expect(readme).not.toMatch(/follow in the next issues/);
  });
});

describe('API_REFERENCE examples that write', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.app.close());

  it('the system-profile PUT example runs as written (no placeholder hash)', async () => {
    const [step] = curls(read('API_REFERENCE.md'), '### `PUT /api/governance/eu-ai-act/system-profile`');
    expect(step).toMatchObject({ method: 'PUT', url: '/api/governance/eu-ai-act/system-profile' });
    expect(step!.body).not.toContain('…');
    const res = await t.app.inject({
      method: 'PUT',
      url: step!.url,
      headers: { ...bearer(await seedSession(t, 'governance_lead')), 'content-type': 'application/json' },
      payload: step!.body!,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().annex_iv_inputs['8'].document_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
