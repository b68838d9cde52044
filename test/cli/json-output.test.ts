import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli.js';
import { snakeCase } from '../../src/cli/support.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { bearer, buildTestApp, createAgentKey, seedSession, tempDir } from '../helpers/build-test-app.js';
import { lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { freshDatabase, postgresForTests, type FreshDatabase } from '../helpers/postgres.js';

const SNAKE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

/** Every key of every object in a JSON document that is not snake_case, with its path (walked iteratively). */
function nonSnakeKeys(doc: unknown): string[] {
  const bad: string[] = [];
  const stack: Array<[string, unknown]> = [['$', doc]];
  while (stack.length > 0) {
    const [where, value] = stack.pop()!;
    if (Array.isArray(value)) value.forEach((v, i) => stack.push([`${where}[${i}]`, v]));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (!SNAKE.test(k)) bad.push(`${where}.${k}`);
        stack.push([`${where}.${k}`, v]);
      }
    }
  }
  return bad;
}

/** Every command (subcommands as `keys list`) that has a --json option. */
function commandsWithJson(cmd: Command, prefix = ''): string[] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return [...(c.options.some((o) => o.long === '--json') ? [name] : []), ...commandsWithJson(c, `${name} `)];
  });
}

describe('every --json output is snake_case, as the API is', () => {
  /** The arguments for each --json command, against a database with decisions, a token and an export. */
  let runs: Record<string, string[][]>;
  /** migrate-to-postgres's target (an empty database), when the run has PostgreSQL. */
  let target: FreshDatabase | undefined;
  afterAll(async () => {
    await target?.drop();
  });

  beforeAll(async () => {
    const dir = tempDir();
    const db = path.join(dir, 'lexecon.db');
    const t = await buildTestApp({ db: openDatabase(db), env: { LEXECON_DATA_DIR: dir } });
    const lead = await seedSession(t, 'governance_lead');
    const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/quick-start.json'), 'utf8'));
    expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy })).statusCode).toBe(201);
    const agent = (await createAgentKey(t)).secret;
    const decide = (action: string) =>
      t.app.inject({ method: 'POST', url: '/decide', headers: bearer(agent), payload: { actor: 'ai_agent:assistant', proposed_action: action, tool: 'crm' } });
    const conditional = (await decide('email_customer')).json();
    expect(conditional.outcome).toBe('conditional');
    const keysJson = path.join(dir, 'keys.json');
    fs.writeFileSync(keysJson, (await t.app.inject({ method: 'GET', url: '/api/governance/keys' })).body);
    // A receipt of that decision: a checkpoint of the integrated tree covers it.
    const auditor = await seedSession(t, 'auditor');
    await t.services.treeIntegrator.integrate();
    expect((await t.app.inject({ method: 'POST', url: '/ledger/checkpoints', headers: bearer(auditor) })).statusCode).toBe(201);
    const receipt = path.join(dir, 'receipt.json');
    const served = await t.app.inject({ method: 'GET', url: `/decide/${conditional.decision_id}/receipt`, headers: bearer(auditor) });
    expect(served.statusCode).toBe(200);
    fs.writeFileSync(receipt, served.body);
    await t.app.close();
    t.db.close();

    const tar = path.join(dir, 'export.tar');
    const exported = await lexeconAsync(
      ['export-evidence', '--db', db, '--keys-dir', t.config.keysDir, '--from', '2026-11-25T00:00:00Z', '--to', '2026-11-26T00:00:00Z', '--out', tar, '--no-progress'],
    );
    expect(exported.code, exported.stderr).toBe(0);
    const broken = path.join(dir, 'broken.tar');
    fs.writeFileSync(broken, 'not a tar');

    runs = {
      'verify-ledger': [['--db', db, '--json', '--no-progress']],
      'verify-token': [
        ['--public-key', keysJson, '--json', conditional.capability_token],
        ['--public-key', keysJson, '--json', '--action', 'delete_records', conditional.capability_token],
      ],
      'keys list': [['--keys-dir', t.config.keysDir, '--json']],
      'verify-export': [
        [tar, '--public-key', keysJson, '--json', '--no-progress'],
        [broken, '--json', '--no-progress'],
      ],
      'retention-run': [['--db', db, '--json', '--no-progress']],
      'verify-receipt': [
        [receipt, '--json'],
        [receipt, '--public-key', keysJson, '--json'],
      ],
      'migrate-to-postgres': [],
    };
    const postgres = postgresForTests();
    if (postgres.url === null) {
      console.warn(`[postgres] SKIPPED migrate-to-postgres --json: ${postgres.reason}`);
    } else {
      target = await freshDatabase('lexecon_json_output');
      runs['migrate-to-postgres'] = [['--from', db, '--to', target.url, '--json', '--no-progress']];
    }
  }, 60_000);

  it('covers every command that has --json', () => {
    expect(commandsWithJson(buildCli()).sort()).toEqual(Object.keys(runs).sort());
  });

  it('each command prints one JSON document whose keys are all snake_case', async () => {
    const jobs = Object.entries(runs).flatMap(([command, argLists]) =>
      argLists.map(async (args) => {
        // lexeconAsync passes no environment: commands here name their database and keys explicitly.
        const r = await lexeconAsync([...command.split(' '), ...args]);
        const doc = JSON.parse(r.stdout) as unknown;
        return { command: `${command} ${args.join(' ')}`, doc, stderr: r.stderr };
      }),
    );
    const results = await Promise.all(jobs);
    for (const { command, doc, stderr } of results) {
      expect(doc, `${command}: ${stderr}`).toBeTypeOf('object');
      expect(nonSnakeKeys(doc), command).toEqual([]);
    }
    // The export report carries what verification found, under snake_case names.
    const exportReport = results.find((r) => r.command.startsWith('verify-export') && !r.command.includes('broken'))!.doc;
    expect(exportReport).toMatchObject({ valid: true, export_id: expect.stringMatching(/^evd_/), ledger: { entries_checked: expect.any(Number) } });
    const receiptReport = results.find((r) => r.command.startsWith('verify-receipt') && r.command.includes('--public-key'))!.doc;
    expect(receiptReport).toMatchObject({ valid: true, key_source: 'trusted', tree_size: expect.any(Number) });
  });

  it('snakeCase turns camelCase keys into snake_case and leaves snake_case alone', () => {
    expect(['exportId', 'entriesChecked', 'head_seq', 'valid', 'publicKeyPem'].map(snakeCase)).toEqual([
      'export_id',
      'entries_checked',
      'head_seq',
      'valid',
      'public_key_pem',
    ]);
  });
});
