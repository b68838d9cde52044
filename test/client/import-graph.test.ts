/**
 * `lexecon/client` pulls in no server code: its import graph is `node:*` and src/client/* only, and
 * `lexecon/verify` imports `node:crypto` alone (besides src/client/http.ts, which imports nothing).
 * Checked two ways: walking the import statements, and compiling src/client/index.ts by itself with tsc
 * (declarations on) and listing what was emitted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const CLIENT_DIR = path.join(REPO_ROOT, 'src/client');

/** Module specifiers of a file's import / export-from statements (line-oriented, no backtracking). */
function specifiers(file: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:import|export)\b[^'"]*\bfrom ['"]([^'"]+)['"]|^import ['"]([^'"]+)['"]/.exec(line);
    if (m) out.push((m[1] ?? m[2])!);
    else if (/^\s*[\w{},* ]*\}?\s*from ['"]/.test(line)) out.push(/from ['"]([^'"]+)['"]/.exec(line)![1]!);
  }
  const dynamic = fs.readFileSync(file, 'utf8').match(/\bimport\(|\brequire\(/g);
  if (dynamic) out.push('<dynamic import>');
  return out;
}

/** Every file reachable from `entry` and the external specifiers it reaches. */
function walk(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = [];
  const external = new Set<string>();
  const stack = [entry];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    files.push(path.relative(REPO_ROOT, file));
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) stack.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.add(spec);
    }
  }
  return { files: files.sort(), external };
}

describe('the client’s import graph', () => {
  it('lexecon/client: node:* and src/client/* only', () => {
    const { files, external } = walk(path.join(CLIENT_DIR, 'index.ts'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect(f.startsWith('src/client/')).toBe(true);
    for (const spec of external) expect(spec).toMatch(/^node:/);
  });

  it('lexecon/verify: node:crypto alone (and src/client/http.ts, which imports nothing)', () => {
    const { files, external } = walk(path.join(CLIENT_DIR, 'verify.ts'));
    expect(files).toEqual(['src/client/http.ts', 'src/client/verify.ts']);
    expect([...external]).toEqual(['node:crypto']);
  });

  it('compiled alone, it emits only src/client files and declarations that reference nothing else', () => {
    const out = tempDir('lexecon-client-build-');
    execFileSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '--ignoreConfig', '--outDir', out, '--rootDir', path.join(REPO_ROOT, 'src'), '--declaration',
        '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--lib', 'es2023',
        '--types', 'node', '--strict', '--skipLibCheck', '--verbatimModuleSyntax',
        path.join(CLIENT_DIR, 'index.ts'),
      ],
      { cwd: REPO_ROOT, stdio: 'pipe' },
    );
    const emitted = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(out, path.join(e.parentPath, e.name))).sort();
    const sources = fs.readdirSync(CLIENT_DIR).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    expect(emitted).toEqual(sources.flatMap((f) => [`client/${f}.d.ts`, `client/${f}.js`]).sort());
    for (const f of emitted.filter((e) => e.endsWith('.d.ts'))) {
      const text = fs.readFileSync(path.join(out, f), 'utf8');
      for (const m of text.matchAll(/from ['"]([^'"]+)['"]/g)) expect(m[1]).toMatch(/^(node:|\.\/)/);
    }
  });
});
