import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** Every `lexecon <command> …` (or `dist/cli.js <command> …`) written in code in a document, as tokens. */
function cliExamples(text: string): Array<{ line: string; tokens: string[] }> {
  const out: Array<{ line: string; tokens: string[] }> = [];
  for (const re of [/(?:^|`|npx |\| `)lexecon ([^`\n#]*)/gm, /dist\/cli\.js ([^`\n#]*)/g]) {
    for (const m of text.matchAll(re)) {
      const tokens = m[1]!
        .replace(/\\\|/g, '|')
        .split(/\s+/)
        .map((t) => t.replace(/^\[|\]$|,$/g, '').replace(/\]$/, ''))
        .filter((t) => t !== '' && t !== '…' && t !== '|');
      if (tokens.length === 0 || !/^[a-z]/.test(tokens[0]!)) continue;
      out.push({ line: m[0], tokens });
    }
  }
  return out;
}

function longOptions(cmd: Command): string[] {
  return [...cmd.options.map((o) => o.long!).filter(Boolean), '--help'];
}

describe('every CLI command the documents show exists, with the options they give it', () => {
  const cli = buildCli();
  for (const name of ['README.md', 'SETUP.md', 'DOCUMENTATION.md', 'examples/README.md']) {
    it(name, () => {
      const examples = cliExamples(fs.readFileSync(path.join(REPO_ROOT, name), 'utf8'));
      expect(examples.length, name).toBeGreaterThan(0);
      for (const { line, tokens } of examples) {
        let cmd = cli.commands.find((c) => c.name() === tokens[0]);
        expect(cmd, `${name}: ${line}: no command ${tokens[0]}`).toBeDefined();
        let rest = tokens.slice(1);
        const sub = cmd!.commands.find((c) => c.name() === rest[0]);
        if (sub) {
          cmd = sub;
          rest = rest.slice(1);
        }
        for (const t of rest.filter((x) => x.startsWith('--'))) {
          const option = t.split('=')[0]!;
          expect(longOptions(cmd!), `${name}: ${line}: ${option}`).toContain(option);
        }
      }
    });
  }
});
