import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSchema } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const read = (name: string) => fs.readFileSync(path.join(REPO_ROOT, name), 'utf8');

describe('documents stay true to the code', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.app.close());

  it('SETUP.md documents every environment variable the config reads', () => {
    const setup = read('SETUP.md');
    for (const name of Object.keys(EnvSchema.shape)) expect(setup, name).toContain(`\`${name}\``);
  });

  it('API_REFERENCE.md documents every route of the OpenAPI document', async () => {
    const reference = read('API_REFERENCE.md');
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const [p, methods] of Object.entries<object>(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const heading = `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`;
        expect(reference, heading).toContain(heading);
      }
    }
  });

  it("the OpenAPI info.description names every area the API has (oversight and compliance included)", async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const description: string = doc.info.description;
    for (const area of ['policy decisions', 'capability tokens', 'ledger', 'human oversight', 'escalations', 'overrides', 'stop and resume', 'compliance', 'EU AI Act', 'evidence exports', 'legal holds']) {
      expect(description, area).toContain(area);
    }
  });

  it('no document says that keys will sign interventions and exports "later": they do now', () => {
    for (const name of ['README.md', 'SETUP.md', 'API_REFERENCE.md', 'ARCHITECTURE.md', 'DOCUMENTATION.md']) {
      expect(read(name), name).not.toMatch(/later,? interventions|\(and, later/);
    }
  });

  it("SETUP's Docker section points to the first-admin section that is above it, not below", () => {
    const setup = read('SETUP.md');
    const docker = setup.slice(setup.indexOf('## Docker'), setup.indexOf('## The CLI'));
    expect(setup.indexOf('## The first admin and other users')).toBeLessThan(setup.indexOf('## Docker'));
    expect(docker).not.toMatch(/as described below/);
    expect(docker).toContain('(#the-first-admin-and-other-users)');
  });

  it('the four documents and the README exist', () => {
    for (const name of ['README.md', 'SETUP.md', 'API_REFERENCE.md', 'ARCHITECTURE.md', 'DOCUMENTATION.md']) {
      expect(read(name).length, name).toBeGreaterThan(500);
    }
  });
});
