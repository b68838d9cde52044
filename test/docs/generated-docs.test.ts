import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fetchOpenApi,
  generate,
  handWrittenExamples,
  operations,
  renderEnvTable,
  replaceGenerated,
  routeHeading,
  type GeneratedFile,
  type OpenApiDoc,
} from '../../scripts/gen-docs.js';
import { EnvSchema } from '../../src/config.js';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** The generator in check mode: each document as it is against what `npm run docs:gen` would write. */
describe('generated documents are up to date (npm run docs:gen)', () => {
  let files: GeneratedFile[];
  let doc: OpenApiDoc;
  beforeAll(async () => {
    doc = await fetchOpenApi();
    files = await generate(REPO_ROOT, doc);
  }, 60_000);

  it('SETUP.md: the environment table matches EnvSchema', () => {
    const f = files.find((x) => x.file.endsWith('SETUP.md'))!;
    expect(f.current, 'SETUP.md is stale: run `npm run docs:gen`').toBe(f.next);
  });

  it('API_REFERENCE.md: the route reference matches the OpenAPI document', () => {
    const f = files.find((x) => x.file.endsWith('API_REFERENCE.md'))!;
    expect(f.current, 'API_REFERENCE.md is stale: run `npm run docs:gen`').toBe(f.next);
  });

  it('check mode notices a stale section', async () => {
    const dir = tempDir();
    const setup = fs.readFileSync(path.join(REPO_ROOT, 'SETUP.md'), 'utf8');
    fs.writeFileSync(path.join(dir, 'SETUP.md'), setup.replace(/\| `LEXECON_PORT` \| `8000` \|/, '| `LEXECON_PORT` | `8080` |'));
    const reference = fs.readFileSync(path.join(REPO_ROOT, 'API_REFERENCE.md'), 'utf8');
    fs.writeFileSync(path.join(dir, 'API_REFERENCE.md'), reference.replace(/^### GET \/health\n/m, '### GET /healthz\n'));
    const stale = await generate(dir, doc);
    expect(stale.map((f) => f.current === f.next)).toEqual([false, false]);
  });

  it('every route has an example: hand-written, or generated from its schemas', () => {
    const reference = fs.readFileSync(path.join(REPO_ROOT, 'API_REFERENCE.md'), 'utf8');
    const generated = reference.slice(reference.indexOf('<!-- BEGIN GENERATED: routes -->'));
    const hand = handWrittenExamples(reference);
    for (const { method, path: p } of operations(doc)) {
      const heading = routeHeading(method, p);
      if (hand.has(heading)) continue;
      const section = generated.split(/^(?=### )/m).find((s) => s.startsWith(`### ${heading}\n`));
      expect(section, heading).toBeDefined();
      expect(section, heading).toContain('```sh\ncurl ');
    }
  });
});

describe('the generator', () => {
  it('lists every variable of EnvSchema with a description and its default', () => {
    const table = renderEnvTable();
    for (const name of Object.keys(EnvSchema.shape)) expect(table).toMatch(new RegExp(`^\\| \`${name}\` \\| .+ \\| .{10,} \\|$`, 'm'));
    expect(table).toContain('| `LEXECON_PORT` | `8000` |');
    expect(table).toContain('| `LEXECON_DB_PATH` | `<data dir>/lexecon.db` |');
    expect(table).toContain('| `LEXECON_METRICS_TOKEN` | unset |');
  });

  it('replaces only the text between its markers, and refuses a document without them', () => {
    const doc = 'a\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nb\n';
    expect(replaceGenerated(doc, 'x', 'new')).toBe('a\n<!-- BEGIN GENERATED: x -->\nnew\n<!-- END GENERATED: x -->\nb\n');
    expect(() => replaceGenerated('no markers', 'x', 'new')).toThrow(/markers/);
  });
});
