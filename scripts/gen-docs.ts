/**
 * Regenerates the parts of the documents that the code already knows, so that they cannot go stale:
 *
 * - SETUP.md, between `<!-- BEGIN GENERATED: env -->` and `<!-- END GENERATED: env -->`: the table of
 *   every environment variable, from `EnvSchema` in src/config.ts (its `.describe()` texts and defaults);
 * - API_REFERENCE.md, between `<!-- BEGIN GENERATED: routes -->` and `<!-- END GENERATED: routes -->`:
 *   every operation of the OpenAPI document of a built app (method, path, roles, summary, parameters,
 *   request body fields, response statuses), with an example built from the schemas for every route
 *   the hand-written part shows no example of.
 *
 * Usage: `npx tsx scripts/gen-docs.ts` (write) or `npx tsx scripts/gen-docs.ts --check` (exit 1 when
 * a generated section is stale). npm scripts: `docs:gen`, `docs:check`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { buildApp } from '../src/app.js';
import { EnvSchema, loadConfig } from '../src/config.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------------
// Markers

/** Replace the text between the `name` markers of `doc` with `body`; throws when the markers are missing. */
export function replaceGenerated(doc: string, name: string, body: string): string {
  const begin = `<!-- BEGIN GENERATED: ${name} -->`;
  const end = `<!-- END GENERATED: ${name} -->`;
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b < 0 || e < b) throw new Error(`markers ${begin} … ${end} not found`);
  return `${doc.slice(0, b + begin.length)}\n${body.trimEnd()}\n${doc.slice(e)}`;
}

/** The document without its `name` generated section (the hand-written part). */
function withoutGenerated(doc: string, name: string): string {
  const begin = `<!-- BEGIN GENERATED: ${name} -->`;
  const end = `<!-- END GENERATED: ${name} -->`;
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  return b < 0 || e < b ? doc : doc.slice(0, b) + doc.slice(e + end.length);
}

// ---------------------------------------------------------------------------------------------------
// Environment variables

interface ZodInternals {
  _zod: { def: { type: string; defaultValue?: unknown; in?: unknown; out?: unknown; innerType?: unknown } };
}

/** The default a (wrapped) zod schema declares, looked for through pipes, preprocessing and optionals. */
function schemaDefault(schema: unknown): { found: boolean; value?: unknown } {
  const def = (schema as ZodInternals)._zod.def;
  if (def.type === 'default') {
    const v = def.defaultValue;
    return { found: true, value: typeof v === 'function' ? (v as () => unknown)() : v };
  }
  for (const next of [def.in, def.out, def.innerType]) {
    if (next === undefined) continue;
    const r = schemaDefault(next);
    if (r.found) return r;
  }
  return { found: false };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

/** The Markdown table of every environment variable `EnvSchema` reads. */
export function renderEnvTable(): string {
  const rows = Object.entries(EnvSchema.shape).map(([name, schema]) => {
    const meta = (z.globalRegistry.get(schema as z.ZodType) ?? {}) as { description?: string; defaultText?: string };
    if (!meta.description) throw new Error(`${name} has no description in EnvSchema: add .describe()`);
    const d = schemaDefault(schema);
    const shown = meta.defaultText ?? (d.found ? String(d.value) : undefined);
    const dflt = shown === undefined ? 'unset' : shown === '' ? 'empty' : `\`${shown}\``;
    return `| \`${name}\` | ${dflt} | ${cell(meta.description)} |`;
  });
  return [
    '<!-- Generated from EnvSchema in src/config.ts by `npm run docs:gen`; edit the .describe() texts there, not here. -->',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Routes

type Json = Record<string, unknown>;
export interface OpenApiDoc {
  paths: Record<string, Record<string, Json>>;
  components?: { schemas?: Record<string, Json> };
}

/** The OpenAPI document of a freshly built app (temporary data directory, removed afterwards). */
export async function fetchOpenApi(): Promise<OpenApiDoc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-docs-'));
  try {
    // The keys are thrown away with the directory: a small RSA modulus keeps the start fast.
    const app = await buildApp(loadConfig({ LEXECON_DATA_DIR: dir, LEXECON_LOG_LEVEL: 'silent' }), {
      testOnlyRsaModulusLength: 1024,
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
      return res.json() as OpenApiDoc;
    } finally {
      await app.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** `GET /decide/:decision_id`, as the headings of API_REFERENCE.md spell an operation. */
export const routeHeading = (method: string, p: string) => `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`;

export function operations(doc: OpenApiDoc): Array<{ method: string; path: string; op: Json }> {
  const out: Array<{ method: string; path: string; op: Json }> = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (ops[method]) out.push({ method, path: p, op: ops[method] });
  }
  return out;
}

/** Routes whose hand-written section (`### …` naming `METHOD /path`) shows at least one code block. */
export function handWrittenExamples(reference: string): Set<string> {
  const hand = withoutGenerated(reference, 'routes');
  const found = new Set<string>();
  for (const section of hand.split(/^(?=#{2,3} )/m)) {
    const heading = section.split('\n', 1)[0] ?? '';
    if (!heading.startsWith('### ') || !section.includes('```')) continue;
    for (const m of heading.matchAll(/`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`/g)) found.add(`${m[1]} ${m[2]}`);
  }
  return found;
}

function resolve(doc: OpenApiDoc, schema: unknown): Json {
  let s = (schema ?? {}) as Json;
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const name = s.$ref.replace('#/components/schemas/', '');
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

/** A short type name for a JSON schema: `string`, `integer`, `"a" \| "b"`, `array of string`, … */
function typeName(doc: OpenApiDoc, raw: unknown, depth = 0): string {
  const s = resolve(doc, raw);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (alts && depth < 3) return [...new Set(alts.map((a) => typeName(doc, a, depth + 1)))].join(' \\| ');
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  if (s.type === 'array') return depth < 3 ? `array of ${typeName(doc, s.items, depth + 1)}` : 'array';
  if (s.type === 'string' && typeof s.format === 'string') return `string (${s.format})`;
  return typeof s.type === 'string' ? s.type : 'any';
}

const SAMPLE_TIME = '2026-11-25T10:00:00.000Z';
const ULID = '01KDVDNA00ABCDEFGHJKMNPQRS';

/** A plausible value for a JSON schema: examples, defaults, enums first, then the type's simplest value. */
export function sampleValue(doc: OpenApiDoc, raw: unknown, depth = 0, name = ''): unknown {
  const s = resolve(doc, raw);
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const alts = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (alts) {
    const pick = alts.find((a) => resolve(doc, a).type !== 'null') ?? alts[0];
    return sampleValue(doc, pick, depth, name);
  }
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') as string | undefined) : (s.type as string | undefined);
  switch (type) {
    case 'object': {
      if (depth > 4) return {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set((s.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) {
        if (required.size === 0 || required.has(k)) out[k] = sampleValue(doc, v, depth + 1, k);
      }
      return out;
    }
    case 'array':
      return depth > 4 ? [] : [sampleValue(doc, s.items, depth + 1, name)];
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? Math.max(s.minimum, 1) : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      return sampleString(s, name);
    default:
      return null;
  }
}

/** Id prefixes by field name, for fields whose schema carries no id pattern. */
const ID_FIELDS: Record<string, string> = {
  decision_id: 'dec',
  escalation_id: 'esc',
  override_id: 'ovr',
  intervention_id: 'int',
  export_id: 'evd',
  user_id: 'usr',
  key_id: 'key',
  jti: 'tok',
  session_id: 'ses',
  hold_id: 'hld',
  incident_id: 'inc',
  request_id: 'req',
};

function sampleString(s: Json, name: string): string {
  if (s.format === 'date-time' || /_at$/.test(name)) return SAMPLE_TIME;
  if (s.format === 'email' || name === 'email') return 'someone@example.com';
  if (ID_FIELDS[name]) return `${ID_FIELDS[name]}_${ULID}`;
  if (name === 'provider') return 'sso';
  if (name === 'new_password') return 'another-long-passphrase';
  if (name === 'password' || name === 'current_password') return 'a-long-passphrase-of-yours';
  if (s.format === 'uri' || s.format === 'url') return 'https://example.com/';
  const pattern = typeof s.pattern === 'string' ? s.pattern : '';
  const prefixed = /^\^([a-z]+_)\[0-9A-HJKMNP-TV-Z\]\{26\}\$$/.exec(pattern);
  if (prefixed) return `${prefixed[1]}${ULID}`;
  if (/\^\[0-9a-f\]\{64\}\$/.test(pattern)) return 'ab'.repeat(32);
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  return (name || 'text').padEnd(min, 'x');
}

function pathWithSamples(doc: OpenApiDoc, p: string, params: Json[]): string {
  return p.replace(/\{(\w+)\}/g, (_, name: string) => {
    const param = params.find((x) => x.in === 'path' && x.name === name);
    return String(sampleValue(doc, param?.schema ?? { type: 'string' }, 0, name));
  });
}

function renderOperation(doc: OpenApiDoc, method: string, p: string, op: Json, needsExample: boolean): string {
  const lines: string[] = [];
  const heading = routeHeading(method, p);
  lines.push(`### ${heading}`, '');
  if (typeof op.summary === 'string') lines.push(`${op.summary}.`.replace(/\.\.$/, '.'), '');
  const access = op['x-access'];
  const roles =
    access === 'public'
      ? 'public (no credentials)'
      : access && typeof access === 'object' && Array.isArray((access as Json).roles)
        ? ((access as Json).roles as string[]).map((r) => `\`${r}\``).join(', ')
        : 'not declared';
  lines.push(`**Roles:** ${roles}`, '');

  const params = (op.parameters ?? []) as Json[];
  if (params.length > 0) {
    lines.push('| parameter | in | type | required | description |', '|---|---|---|---|---|');
    for (const x of params) {
      lines.push(
        `| \`${String(x.name)}\` | ${String(x.in)} | ${typeName(doc, x.schema)} | ${x.required ? 'yes' : 'no'} | ${cell(String(x.description ?? ''))} |`,
      );
    }
    lines.push('');
  }

  const bodySchema = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as
    | Json
    | undefined;
  const body = bodySchema ? resolve(doc, bodySchema.schema) : undefined;
  if (body) {
    const props = (body.properties ?? {}) as Record<string, Json>;
    const required = new Set((body.required ?? []) as string[]);
    if (Object.keys(props).length > 0) {
      lines.push('| body field | type | required | description |', '|---|---|---|---|');
      for (const [name, raw] of Object.entries(props)) {
        const desc = String(resolve(doc, raw).description ?? raw.description ?? '');
        lines.push(`| \`${name}\` | ${typeName(doc, raw)} | ${required.has(name) ? 'yes' : 'no'} | ${cell(desc)} |`);
      }
      lines.push('');
    } else {
      lines.push(`Body: ${typeName(doc, bodySchema?.schema)}.`, '');
    }
  }

  const responses = (op.responses ?? {}) as Record<string, Json>;
  lines.push(`**Responses:** ${Object.keys(responses).join(', ')}`, '');

  if (needsExample) {
    const url = pathWithSamples(doc, p, params);
    const auth = access === 'public' ? '' : ' -H "$H"';
    const data = body ? ` -H 'content-type: application/json' -d '${JSON.stringify(sampleValue(doc, body))}'` : '';
    lines.push('Example (built from the schema):', '', '```sh', `curl -s${method === 'get' ? '' : ` -X ${method.toUpperCase()}`}${auth} "$BASE${url}"${data}`, '```', '');
    const ok = Object.keys(responses).find((s) => /^2/.test(s));
    const okSchema = ok ? ((responses[ok]?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema : undefined;
    if (ok && okSchema) {
      lines.push(`\`${ok}\`:`, '', '```json', JSON.stringify(sampleValue(doc, okSchema)), '```', '');
    } else if (ok) {
      lines.push(`\`${ok}\` ${String(responses[ok]?.description ?? '')}`.trimEnd(), '');
    }
  }
  return lines.join('\n');
}

/** The generated route reference for API_REFERENCE.md; `reference` is the current document (its hand-written examples count). */
export function renderRoutes(doc: OpenApiDoc, reference: string): string {
  const examples = handWrittenExamples(reference);
  const ops = operations(doc).sort((a, b) => a.path.localeCompare(b.path) || METHODS.indexOf(a.method as never) - METHODS.indexOf(b.method as never));
  const parts = [
    '<!-- Generated from the OpenAPI document (GET /openapi.json) by `npm run docs:gen`; do not edit by hand. -->',
    '',
    'Every operation, in path order: roles (the `x-access` extension), parameters, request body fields and',
    'response statuses. Routes whose hand-written section above shows no example get one here, built from',
    'their schemas (`$BASE` is e.g. `http://127.0.0.1:8000`, `$H` the authorization header).',
    '',
  ];
  for (const { method, path: p, op } of ops) {
    parts.push(renderOperation(doc, method, p, op, !examples.has(routeHeading(method, p))));
  }
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Main

export interface GeneratedFile {
  file: string;
  current: string;
  next: string;
}

/** Both documents as they are and as the generator would write them. */
export async function generate(root = REPO_ROOT, openApi?: OpenApiDoc): Promise<GeneratedFile[]> {
  const setupPath = path.join(root, 'SETUP.md');
  const refPath = path.join(root, 'API_REFERENCE.md');
  const setup = fs.readFileSync(setupPath, 'utf8');
  const reference = fs.readFileSync(refPath, 'utf8');
  const doc = openApi ?? (await fetchOpenApi());
  return [
    { file: setupPath, current: setup, next: replaceGenerated(setup, 'env', renderEnvTable()) },
    { file: refPath, current: reference, next: replaceGenerated(reference, 'routes', renderRoutes(doc, reference)) },
  ];
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const files = await generate();
  const stale = files.filter((f) => f.current !== f.next);
  if (check) {
    for (const f of stale) process.stderr.write(`${path.relative(REPO_ROOT, f.file)} is stale: run \`npm run docs:gen\`\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const f of stale) {
    fs.writeFileSync(f.file, f.next);
    process.stdout.write(`updated ${path.relative(REPO_ROOT, f.file)}\n`);
  }
  if (stale.length === 0) process.stdout.write('documents are up to date\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`gen-docs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
