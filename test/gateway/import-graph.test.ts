/**
 * The gateway is a separate program that talks to Lexecon like any agent: src/gateway imports only
 * itself, the client (src/client), the MCP SDK, node:*, zod and commander (and the package version).
 * Never server code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const ALLOWED = [/^\.\/gateway\.[a-z]+\.js$/, /^\.\.\/client\/index\.js$/, /^\.\.\/platform\/version\.js$/, /^node:/, /^@modelcontextprotocol\/sdk\//, /^zod$/, /^commander$/];

describe('src/gateway imports no server code', () => {
  const dir = path.join(REPO_ROOT, 'src/gateway');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  it.each(files)('%s', (file) => {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)[^'"]*from '([^']+)';$/gm)].map((m) => m[1]!);
    for (const s of specifiers) expect(ALLOWED.some((re) => re.test(s)), `${file} imports ${s}`).toBe(true);
  });
});
