import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lexecon } from '../helpers/cli.js';
import { TEST_EXPORT_ID, testPackage } from '../helpers/evidence.js';

const EXPORT_ID = TEST_EXPORT_ID;

/** A small signed package in a fresh directory, and its keys' kids. */
const aPackage = () => testPackage(5);

/** The indented command lines of the section of VERIFY.md whose heading starts with `heading`. */
function commands(md: string, heading: string): string[] {
  const start = md.indexOf(`\n${heading}`);
  const end = md.indexOf('\n## ', start + 1);
  return md
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('    '))
    .map((l) => l.slice(4));
}

describe("VERIFY.md in every evidence package: an auditor's instructions that work", () => {
  it('leads with standard tools (no Lexecon needed); its commands, run as written, verify the package and print the kids', async () => {
    const { dir, kids, verifyMd } = await aPackage();
    const headings = verifyMd.split('\n').filter((l) => l.startsWith('## '));
    expect(headings[0]).toBe('## 1. With standard tools');
    expect(headings[1]).toBe('## 2. With the Lexecon CLI, from a checkout of its repository');
    const script = commands(verifyMd, '## 1. With standard tools');
    expect(script.slice(0, 2)).toEqual([`tar -xf ${EXPORT_ID}.tar`, `cd ${EXPORT_ID}`]);
    expect(script.join('\n')).not.toMatch(/lexecon|node /);
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script.join('\n')], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/: OK\n/);
    expect(run.stdout).not.toMatch(/FAILED/);
    expect(run.stdout).toContain('Signature Verified Successfully');
    expect(run.stdout).toContain('Verified OK');
    expect(run.stdout.trim().split('\n').slice(-2)).toEqual(kids);
  });

  it('a tampered file fails the standard-tools check', async () => {
    const { dir, verifyMd } = await aPackage();
    const script = commands(verifyMd, '## 1. With standard tools');
    const [untar, cd, ...checks] = script;
    spawnSync('bash', ['-c', untar!], { cwd: dir });
    const ledger = path.join(dir, EXPORT_ID, 'data', 'ledger.jsonl');
    fs.writeFileSync(ledger, fs.readFileSync(ledger, 'utf8').replace('"n\\":1', '"n\\":7'));
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', [cd, ...checks].join('\n')], { cwd: dir, encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('data/ledger.jsonl: FAILED');
  });

  it('does not tell auditors to run an installed `lexecon` (the package is private); the CLI form it shows works', async () => {
    const { tar, verifyMd, edPem } = await aPackage();
    expect(verifyMd).not.toMatch(/^ {4}lexecon /m);
    const cli = commands(verifyMd, '## 2. With the Lexecon CLI');
    expect(cli[0]).toBe('npm ci && npm run build');
    const verify = cli[1]!.split(' ');
    expect(verify.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'verify-export']);
    // The same arguments through this checkout's CLI (tsx instead of the build).
    const args = verify.slice(2).map((a) => (a.endsWith(`${EXPORT_ID}.tar`) ? tar : a === '<trusted-key.pem>' ? edPem : a));
    const r = lexecon(args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid: /);
    expect(r.stdout).toContain('trusted key');
  });
});
