import fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { CliError, dbOption, detailLines, EXIT_ERROR, EXIT_INVALID } from '../../cli/support.js';
import { withLedger } from '../../cli/database.js';
import { databaseUrlOption } from '../../cli/postgres.js';
import { systemClock } from '../../platform/clock.js';
import { createIdFactory } from '../../platform/ids.js';
import { compilePolicy } from './policy.compile.js';
import { evaluate } from './policy.engine.js';
import { allWarnings, loadPolicyDocument, type LoadOutcome } from './policy.loader.js';
import { type PolicyProblem } from './policy.model.js';
import { PgStateNoticeSender } from '../../platform/db/state-notices.js';
import { PolicyRepo } from './policy.repo.js';
import { PolicyService, type LoadReport } from './policy.service.js';
import { caseMisses, caseName, PolicyTestCasesSchema, type PolicyTestCase } from './policy.test-cases.js';

/** A JSON file, parsed; a CliError naming the file otherwise. */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function printProblems(label: string, problems: PolicyProblem[]): void {
  process.stdout.write(`${label}: ${problems.length} problem(s)${detailLines(problems)}\n`);
}

function printWarnings(warnings: PolicyProblem[]): void {
  for (const w of warnings) process.stdout.write(`warning: ${w.path}: ${w.message}\n`);
}

function validated(file: string): Extract<LoadOutcome, { ok: true }> | undefined {
  const outcome = loadPolicyDocument(readJson(file));
  if (outcome.ok) return outcome;
  printProblems(`policy ${file} is invalid`, outcome.problems);
  process.exitCode = EXIT_INVALID;
  return undefined;
}

function printLoad(r: LoadReport): void {
  const what = r.activated ? (r.created ? 'loaded and active' : 're-activated') : 'unchanged (already active)';
  process.stdout.write(
    `policy ${r.policyId} ${what}\n  version_hash ${r.versionHash}\n  mode ${r.mode}, ${r.termsLoaded} terms, ${r.relationsLoaded} relations\n`,
  );
  printWarnings(r.warnings);
}

async function loadPolicyCommand(opts: { policyFile: string; db?: string; databaseUrl?: string; url?: string; token?: string }): Promise<void> {
  const document = readJson(opts.policyFile);
  if (opts.url !== undefined) {
    if (opts.databaseUrl !== undefined) throw new CliError('--url loads into a running server; --database-url into a database: give one of them');
    if (opts.token === undefined) throw new CliError('--url needs --token (a session token of a governance_lead or admin)');
    await loadRemote(opts.url, opts.token, document);
    return;
  }
  if (opts.token !== undefined) throw new CliError('--token is only used with --url');
  const outcome = loadPolicyDocument(document);
  if (!outcome.ok) {
    printProblems(`policy ${opts.policyFile} is invalid`, outcome.problems);
    process.exitCode = EXIT_INVALID;
    return;
  }
  await withLedger(opts, async (ledger, port) => {
    const service = new PolicyService({
      repo: new PolicyRepo(port),
      events: ledger,
      clock: systemClock,
      ids: createIdFactory(systemClock),
      // Replicas serving the database hear of the activation at once (they re-check it in every decision anyway).
      notices: port.dialect === 'postgres' ? new PgStateNoticeSender() : undefined,
    });
    printLoad(await service.load(document, 'cli'));
  });
}

const LoadAnswerSchema = z.object({
  policy_id: z.string(),
  version_hash: z.string(),
  mode: z.enum(['strict', 'permissive', 'paranoid']),
  terms_loaded: z.number(),
  relations_loaded: z.number(),
  warnings: z.array(z.object({ path: z.string(), message: z.string() })),
  created: z.boolean(),
  activated: z.boolean(),
});

async function loadRemote(url: string, token: string, document: unknown): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL('/policies/load', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(document),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code: string; message: string; details?: unknown } }
    | undefined;
  if (res.ok) {
    const r = LoadAnswerSchema.parse(body);
    printLoad({
      policyId: r.policy_id,
      versionHash: r.version_hash,
      mode: r.mode,
      termsLoaded: r.terms_loaded,
      relationsLoaded: r.relations_loaded,
      warnings: r.warnings,
      created: r.created,
      activated: r.activated,
    });
    return;
  }
  if (body?.error?.code === 'POLICY_INVALID') {
    printProblems('policy is invalid', body.error.details as PolicyProblem[]);
    process.exitCode = EXIT_INVALID;
    return;
  }
  throw new CliError(`the server answered ${res.status}: ${body?.error ? `${body.error.code}: ${body.error.message}` : 'no details'}`);
}

function validatePolicyCommand(opts: { policyFile: string }): void {
  const outcome = validated(opts.policyFile);
  if (!outcome) return;
  const { policy, versionHash } = outcome;
  const warnings = allWarnings(outcome);
  process.stdout.write(
    `policy ${policy.policy_id} is valid\n  version_hash ${versionHash}\n  mode ${policy.mode}, ${policy.terms.length} terms, ${policy.relations.length} relations\n`,
  );
  printWarnings(warnings);
}

async function testPolicyCommand(opts: { policyFile: string; cases: string; record?: boolean; url?: string; token?: string }): Promise<void> {
  if (opts.record && (opts.url === undefined || opts.token === undefined)) {
    throw new CliError('--record needs --url and --token (a session token of a governance_lead or admin)');
  }
  const parsedCases = PolicyTestCasesSchema.safeParse(readJson(opts.cases));
  if (!parsedCases.success) {
    throw new CliError(
      `${opts.cases} is not a cases file:${detailLines(parsedCases.error.issues.map((i) => ({ path: `$.${i.path.join('.')}`, message: i.message })))}`,
    );
  }
  const outcome = validated(opts.policyFile);
  if (!outcome) return;
  const compiled = compilePolicy(outcome.policy);
  let failed = 0;
  parsedCases.data.forEach((c, i) => {
    const name = caseName(c, i);
    // As the server's dry run: without an \`at\` the case is evaluated now (attestations, conflict windows).
    const result = evaluate(compiled, { ...c.request, at: c.request.at ?? new Date().toISOString() });
    const misses = caseMisses(c, result);
    if (misses.length > 0) failed += 1;
    process.stdout.write(misses.length === 0 ? `PASS ${name}\n` : `FAIL ${name}: ${misses.join('; ')} (${result.reason})\n`);
  });
  const total = parsedCases.data.length;
  process.stdout.write(`${total - failed} passed, ${failed} failed (policy ${outcome.policy.policy_id}, version ${outcome.versionHash})\n`);
  if (failed > 0 || total === 0) process.exitCode = EXIT_INVALID;
  if (opts.record && total > 0) await recordRun(opts.url!, opts.token!, outcome.versionHash, parsedCases.data);
}

const RecordAnswerSchema = z.object({
  run_id: z.string(),
  passed: z.number(),
  failed: z.number(),
  kid: z.string(),
  ledger_seq: z.number(),
  verified: z.boolean(),
});

/** The server re-runs the cases against the same (loaded) policy version, signs the run and ledgers it. */
async function recordRun(url: string, token: string, versionHash: string, cases: PolicyTestCase[]): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL('/api/governance/eu-ai-act/test-runs', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ policy_version_hash: versionHash, cases }),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
  if (res.status === 404) throw new CliError(`the server does not have policy version ${versionHash}: load it first (lexecon load-policy --url …)`);
  if (!res.ok) throw new CliError(`the server answered ${res.status}: ${body?.error ? `${body.error.code}: ${body.error.message}` : 'no details'}`);
  const r = RecordAnswerSchema.parse(body);
  process.stdout.write(
    `recorded ${r.run_id} on the server: ${r.passed} passed, ${r.failed} failed, signed by ${r.kid}${r.verified ? ' (verified)' : ''}, ledger seq ${r.ledger_seq}\n`,
  );
}

/** `load-policy`, `validate-policy` and `test-policy`. */
export function registerPolicyCommands(program: Command): void {
  program
    .command('load-policy')
    .description(
      `Validate a policy and make it the active one, in the database (--db, or --database-url for PostgreSQL; ledgered as policy_loaded) or, with --url and --token, in a running server. Exit 0 loaded, ${EXIT_INVALID} invalid (every problem listed), ${EXIT_ERROR} error.`,
    )
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .addOption(dbOption())
    .addOption(databaseUrlOption())
    .option('--url <url>', 'load into the server at this base URL instead, e.g. http://127.0.0.1:8000')
    .option('--token <token>', 'with --url: a session token of a governance_lead or admin')
    .action(loadPolicyCommand);

  program
    .command('validate-policy')
    .description(`Check a policy without loading it: exit 0 valid (prints its version hash and warnings), ${EXIT_INVALID} invalid (every problem listed), ${EXIT_ERROR} error (e.g. an unreadable file).`)
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .action(validatePolicyCommand);

  program
    .command('test-policy')
    .description(
      `Run test cases against a policy file: each case is {name?, request: {actor, action, resource?, data_classes?, context?, risk?, session_approved_actions?}, expect: outcome | {outcome, conditions?, reason_contains?}}. Exit 0 when all pass, ${EXIT_INVALID} when any fails, ${EXIT_ERROR} on error (with --record: also when the server refuses the run, e.g. the policy version is not loaded there).`,
    )
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .requiredOption('--cases <path>', 'the cases (a JSON array, or {"cases": [...]})')
    .option('--record', 'also record a signed run on the server (--url, --token): Annex IV 2.g test reports; the policy version must be loaded there')
    .option('--url <url>', 'with --record: the server base URL, e.g. http://127.0.0.1:8000')
    .option('--token <token>', 'with --record: a session token of a governance_lead or admin')
    .action(testPolicyCommand);
}
