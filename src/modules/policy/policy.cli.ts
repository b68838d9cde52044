import fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { CliError, dbOption, detailLines, EXIT_ERROR, EXIT_INVALID, withLocalLedger } from '../../cli/support.js';
import { systemClock } from '../../platform/clock.js';
import { createIdFactory } from '../../platform/ids.js';
import { compilePolicy, evaluate } from './policy.engine.js';
import { loadPolicyDocument, type LoadOutcome } from './policy.loader.js';
import { OUTCOMES, type PolicyProblem } from './policy.model.js';
import { SqlitePolicyRepo } from './policy.repo.js';
import { EvaluateBodySchema } from './policy.schemas.js';
import { PolicyService, type LoadReport } from './policy.service.js';

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

async function loadPolicyCommand(opts: { policyFile: string; db?: string; url?: string; token?: string }): Promise<void> {
  const document = readJson(opts.policyFile);
  if (opts.url !== undefined) {
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
  await withLocalLedger(opts.db, async (db, ledger) => {
    const service = new PolicyService({ repo: new SqlitePolicyRepo(db), events: ledger, clock: systemClock, ids: createIdFactory(systemClock) });
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
  const { policy, versionHash, warnings } = outcome;
  process.stdout.write(
    `policy ${policy.policy_id} is valid\n  version_hash ${versionHash}\n  mode ${policy.mode}, ${policy.terms.length} terms, ${policy.relations.length} relations\n`,
  );
  printWarnings(warnings);
}

/** One case of `test-policy`: a request and what the policy must answer. */
const CaseSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  request: EvaluateBodySchema.omit({ version_hash: true }),
  expect: z.union([
    z.enum(OUTCOMES),
    z
      .object({
        outcome: z.enum(OUTCOMES),
        conditions: z.array(z.string()).optional(),
        reason_contains: z.string().optional(),
      })
      .strict(),
  ]),
});
const CasesSchema = z.union([z.array(CaseSchema), z.object({ cases: z.array(CaseSchema) }).transform((c) => c.cases)]);

function testPolicyCommand(opts: { policyFile: string; cases: string }): void {
  const parsedCases = CasesSchema.safeParse(readJson(opts.cases));
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
    const name = c.name ?? `case ${i + 1}`;
    const expected = typeof c.expect === 'string' ? { outcome: c.expect } : c.expect;
    const result = evaluate(compiled, c.request);
    const misses: string[] = [];
    if (result.outcome !== expected.outcome) misses.push(`expected ${expected.outcome}, got ${result.outcome}`);
    if (expected.conditions && JSON.stringify([...expected.conditions].sort()) !== JSON.stringify(result.conditions)) {
      misses.push(`expected conditions ${JSON.stringify(expected.conditions)}, got ${JSON.stringify(result.conditions)}`);
    }
    if (expected.reason_contains && !result.reason.includes(expected.reason_contains)) {
      misses.push(`expected the reason to contain ${JSON.stringify(expected.reason_contains)}`);
    }
    if (misses.length > 0) failed += 1;
    process.stdout.write(misses.length === 0 ? `PASS ${name}\n` : `FAIL ${name}: ${misses.join('; ')} (${result.reason})\n`);
  });
  const total = parsedCases.data.length;
  process.stdout.write(`${total - failed} passed, ${failed} failed (policy ${outcome.policy.policy_id}, version ${outcome.versionHash})\n`);
  if (failed > 0 || total === 0) process.exitCode = EXIT_INVALID;
}

/** `load-policy`, `validate-policy` and `test-policy`. */
export function registerPolicyCommands(program: Command): void {
  program
    .command('load-policy')
    .description(
      `Validate a policy and make it the active one, in the local database (ledgered as policy_loaded) or, with --url and --token, in a running server. Exit 0 loaded, ${EXIT_INVALID} invalid (every problem listed), ${EXIT_ERROR} error.`,
    )
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .addOption(dbOption())
    .option('--url <url>', 'load into the server at this base URL instead, e.g. http://127.0.0.1:8000')
    .option('--token <token>', 'with --url: a session token of a governance_lead or admin')
    .action(loadPolicyCommand);

  program
    .command('validate-policy')
    .description(`Check a policy without loading it: exit 0 valid (prints its version hash and warnings), ${EXIT_INVALID} invalid.`)
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .action(validatePolicyCommand);

  program
    .command('test-policy')
    .description(
      `Run test cases against a policy file: each case is {name?, request: {actor, action, resource?, data_classes?, context?, risk?, session_approved_actions?}, expect: outcome | {outcome, conditions?, reason_contains?}}. Exit 0 when all pass, ${EXIT_INVALID} when any fails.`,
    )
    .requiredOption('--policy-file <path>', 'the policy document (JSON)')
    .requiredOption('--cases <path>', 'the cases (a JSON array, or {"cases": [...]})')
    .action(testPolicyCommand);
}
