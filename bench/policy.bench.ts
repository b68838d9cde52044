/**
 * Policy-engine benchmark (issue 5). Not a test: it prints figures measured in this run, each compared
 * with baselines measured in the same run on the same machine.
 *
 * For N relations (10, 100, 1,000, 10,000) it generates a deterministic (seeded) policy document, loads
 * it through `loadPolicyDocument` (so the normalized form is the real one), compiles it, generates a
 * deterministic request mix, and measures per-evaluation time of:
 *
 *   engine  `evaluate(compiled, request)`: the compiled, indexed engine;
 *   naive   `evaluateNaive(policy, request)`: the reference evaluator that scans every term and relation;
 *   cedar   `statefulIsAuthorized` of @cedar-policy/cedar-wasm on an equivalent Cedar policy set of N
 *           statements, pre-parsed once with `preparsePolicySet` (so policy parsing is excluded; the
 *           per-call cost of passing the request, context and entities into wasm is included).
 *
 * Targets, at 1,000 relations: engine median ÷ naive median ≤ 0.1; engine ÷ cedar ≤ 0.01; and engine
 * median at 10,000 ÷ at 1,000 ≤ 2 (evaluation cost should not grow with the size of the policy).
 *
 * Method: per N, the whole request mix goes through the engine, and as much of it as 0.4 s allows (at
 * least 16 requests) through cedar, whose allow/deny must agree with the engine's outcome, and through
 * naive, whose result must deep-equal the engine's; then each evaluator is warmed up for 0.3 s and
 * measured in 3 interleaved rounds (engine, naive, cedar, engine, …) so that drift hits all alike. One
 * sample is a batch of consecutive evaluations over the (cycled) request mix, sized to take ≈ 50 µs
 * (at least one evaluation), timed with `process.hrtime.bigint()`; its time ÷ batch size is one
 * per-evaluation figure. "median" and "p99" are over those samples, so p99 is the 99th percentile of
 * ≈ 50 µs batch means (GC pauses and slow requests show, but averaged over the batch), not of single
 * requests; for evaluators slower than 50 µs a batch is one evaluation and p99 is per request.
 *
 * The policy generator (terms scale with N: a policy 10× larger covers 10× more teams and actions):
 *   actors:  `ai_agent` (`ai_agent:*`), ⌈N/20⌉ teams `team_<k>` (`ai_agent:team-<k>-*`),
 *            ⌈N/40⌉ service agents `agent_<e>` (exact `ai_agent:svc-<e>`);
 *   actions: ⌈N/4⌉ exact actions `act_<j>` (`<verb>:area-<g>-item-<j>`, 9 verbs, ⌈N/100⌉ areas),
 *            ⌈N/40⌉ action globs `actg_<m>` (`<verb>:area-<g>-*`), 9 categories `cat_<verb>` (no value;
 *            reached through `implies` from exact actions);
 *   data classes: 12 fixed (`pii`, `phi` → `pii`, `pci` → `financial`, …); context: 5 requirement names,
 *            `human_approval` among them;
 *   relations: 50% permits (30% with a data-class object, 20% with conditions), 20% forbids, 15% requires,
 *            10% implies (action → category, a few data class → data class), 5% conflicts (action pairs).
 * The request mix (512 requests): 70% aimed at a random non-implies relation (its source and target
 * made concrete: a team glob becomes `ai_agent:team-<k>-<n>`, an action glob a matching action…), 15%
 * near misses (a known team, an unrelated action), 15% unknown actors and actions; data classes and
 * context flags drawn at random; conflicts requests carry the other end as an approved session action.
 *
 * Cedar translation (see `toCedar`), one Cedar statement per Lexecon relation:
 *   - request: principal `Agent::"<actor>"` (an entity with attribute `name` = the actor string), action
 *     `Action::"<action>"` (an entity whose parents are the categories the action implies: `implies` on
 *     actions is an entity hierarchy in Cedar), resource `Resource::"none"`, context `{action,
 *     data_classes, session_approved_actions, <requirement flags>}`.
 *   - actor term: exact → `principal == Agent::"<value>"`; glob → `when { principal.name like "<glob>" }`.
 *   - action term: exact → `action == Action::"<value>"`; category → `action in Action::"<term id>"`;
 *     glob → `when { context.action like "<glob>" }`.
 *   - object (data class) → `context.data_classes.containsAny([<class>, <every class implying it>])`
 *     (data-class `implies` expanded at translation time).
 *   - permits → `permit(…)`, conditions kept as an `@conditions` annotation (Cedar has no obligations, so
 *     conditional and approved are both `allow`); forbids → `forbid(…)`.
 *   - requires(X, name) → `forbid(<X>…) unless { context has name && context.name == true }`;
 *     requires(X, human_approval) is the same forbid: Cedar cannot escalate, so it denies where Lexecon
 *     escalates (compared as: Lexecon approved/conditional ⇔ Cedar allow).
 *   - conflicts(X, Y) on exact actions → `forbid(principal, action in [X, Y], resource) when { (action ==
 *     X && context.session_approved_actions.contains("Y")) || (action == Y && ….contains("X")) }`.
 *   - implies(A, B) has no policy counterpart (it is hierarchy data, above); to keep the statement count at
 *     N it becomes an inert `forbid(principal, action, resource) when { false }` that Cedar still visits.
 * Limits: Lexecon also matches a term by its id and label and strips type prefixes; the translation only
 * handles values (the request mix only uses values). Risk levels/scores, resources and paranoid/
 * permissive modes are not exercised (the policy is strict: no match denies, as in Cedar). With those
 * limits the outcomes agree; the benchmark prints the agreement over the mix for each N.
 *
 * Usage: npm run bench:policy [-- --quick] [--n=1000] [--n=100,1000] [--seconds=S] [--only=engine,cedar]
 *   --quick      0.3 s per evaluator and size instead of 2.5 s, shorter checks (≈ 10 s in all, most of
 *                it loading the 10,000-relation policy and pre-parsing its Cedar set)
 *   --n=LIST     only these sizes (comma-separated); the ratios needing a missing size print n/a
 *   --seconds=S  measuring time per evaluator and size
 *   --only=LIST  only these evaluators (engine, naive, cedar)
 * `npm run bench` runs this after the ledger benchmark, with the same arguments.
 * Env: LEXECON_BENCH_QUICK=1.
 * Exit code is 0 whether or not the targets are met (they are informational); non-zero only on a crash.
 */
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import {
  getCedarVersion,
  preparsePolicySet,
  statefulIsAuthorized,
  type StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicy } from '../src/modules/policy/policy.compile.js';
import { evaluate, evaluateNaive } from '../src/modules/policy/policy.engine.js';
import { loadPolicyDocument } from '../src/modules/policy/policy.loader.js';
import type { EvaluationRequest, NormalizedPolicy, PolicyRelation, RelationType, TermType } from '../src/modules/policy/policy.model.js';
import { argValue, positiveNumber } from './options.js';
import { prng } from '../test/helpers/prng.js';

// ---------------------------------------------------------------------------------------------------
// Options

if (process.argv.includes('--help')) {
  console.log(
    'usage: npm run bench:policy [-- --quick] [--n=10,100,1000,10000] [--seconds=S] [--only=engine,naive,cedar]\n' +
      'env:   LEXECON_BENCH_QUICK=1',
  );
  process.exit(0);
}

const DEFAULT_SIZES = [10, 100, 1_000, 10_000];
const EVALUATORS = ['engine', 'naive', 'cedar'] as const;
type EvaluatorName = (typeof EVALUATORS)[number];
const quick = process.argv.includes('--quick') || ['1', 'true', 'yes'].includes(process.env.LEXECON_BENCH_QUICK ?? '');
const nArg = argValue('n');
const opts = {
  quick,
  sizes:
    nArg === undefined
      ? DEFAULT_SIZES
      : nArg.split(',').map((s) => Math.floor(positiveNumber('n', s.replaceAll('_', ''), 1))),
  evaluators: (argValue('only')?.split(',') ?? [...EVALUATORS]).map((name) => {
    if (!(EVALUATORS as readonly string[]).includes(name)) throw new Error(`--only: unknown evaluator '${name}'`);
    return name as EvaluatorName;
  }),
  /** Measuring time per evaluator and size, split over the interleaved rounds. */
  measureMs: positiveNumber('seconds', argValue('seconds'), quick ? 0.3 : 2.5) * 1000,
  rounds: 3,
  /** Time bound of the cedar and of the naive agreement pass (also their warm-up), per size. */
  checkMs: quick ? 100 : 400,
  minChecks: quick ? 4 : 16,
  /** Warm-up per evaluator and size, after the agreement passes. */
  warmupMs: quick ? 50 : 300,
  mixSize: 512,
};

const SAMPLE_TARGET_NS = 50_000;
const NAIVE_TARGET = 0.1;
const CEDAR_TARGET = 0.01;
const SCALING_TARGET = 2;

// ---------------------------------------------------------------------------------------------------
// Deterministic generation


const VERBS = ['read', 'write', 'update', 'delete', 'export', 'send', 'execute', 'initiate', 'approve'] as const;
const DATA_CLASSES = [
  'pii',
  'phi',
  'biometric',
  'children',
  'financial',
  'pci',
  'credentials',
  'secret',
  'internal',
  'public',
  'confidential',
  'trade_secret',
] as const;
/** Data-class `implies` (specific → general); acyclic. */
const DATA_CLASS_IMPLIES: ReadonlyArray<readonly [string, string]> = [
  ['phi', 'pii'],
  ['biometric', 'pii'],
  ['children', 'pii'],
  ['pci', 'financial'],
  ['credentials', 'secret'],
  ['trade_secret', 'confidential'],
];
const REQUIREMENTS = ['mfa_verified', 'change_ticket_approved', 'kyc_verified', 'lawful_basis_documented'] as const;
const CONDITIONS = ['redact:pii_fields', 'max_recipients:50', 'purpose:support', 'log:access'] as const;

type ActorKind = 'broad' | 'team' | 'agent';
type ActionKind = 'exact' | 'glob' | 'category';

interface GenActor {
  id: string;
  kind: ActorKind;
  /** The glob or exact value. */
  value: string;
}

interface GenAction {
  id: string;
  kind: ActionKind;
  /** Exact value, glob, or null for a category. */
  value: string | null;
  verb: string;
  area: number;
}

type GenRelation = Omit<PolicyRelation, 'justification'>;

/** What the generator knows about the policy: enough to build concrete requests and the Cedar set. */
interface Generated {
  n: number;
  document: Record<string, unknown>;
  actors: Map<string, GenActor>;
  actions: Map<string, GenAction>;
  relations: GenRelation[];
  /** Exact action value → the category term ids it implies. */
  actionParents: Map<string, string[]>;
  /** Data class → itself and every data class implying it (transitively). */
  dataClassImpliedBy: Map<string, string[]>;
  counts: { actorGlobs: number; actorExact: number; actionExact: number; actionGlobs: number; categories: number };
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function generatePolicy(n: number): Generated {
  const rand = prng(0x1e7ec0 ^ n);
  const teams = Math.max(1, Math.ceil(n / 20));
  const agents = Math.max(1, Math.ceil(n / 40));
  const exactActions = Math.max(VERBS.length, Math.ceil(n / 4));
  const actionGlobs = Math.max(2, Math.ceil(n / 40));
  const areas = Math.max(1, Math.ceil(n / 100));

  const actors = new Map<string, GenActor>();
  const terms: Record<string, unknown>[] = [];
  const addActor = (a: GenActor, label: string | null): void => {
    actors.set(a.id, a);
    terms.push({ term_id: a.id, term_type: 'actor', value: a.value, ...(label === null ? {} : { label }) });
  };
  addActor({ id: 'ai_agent', kind: 'broad', value: 'ai_agent:*' }, 'Any AI agent');
  for (let k = 0; k < teams; k++) addActor({ id: `team_${k}`, kind: 'team', value: `ai_agent:team-${k}-*` }, `Team ${k} agents`);
  for (let e = 0; e < agents; e++) addActor({ id: `agent_${e}`, kind: 'agent', value: `ai_agent:svc-${e}` }, null);

  const actions = new Map<string, GenAction>();
  const addAction = (a: GenAction, label: string | null): void => {
    actions.set(a.id, a);
    terms.push({ term_id: a.id, term_type: 'action', value: a.value, ...(label === null ? {} : { label }) });
  };
  for (let j = 0; j < exactActions; j++) {
    const verb = VERBS[j % VERBS.length]!;
    const area = Math.floor(rand() * areas);
    addAction({ id: `act_${j}`, kind: 'exact', value: `${verb}:area-${area}-item-${j}`, verb, area }, null);
  }
  for (let m = 0; m < actionGlobs; m++) {
    const verb = VERBS[m % VERBS.length]!;
    const area = Math.floor(m / VERBS.length) % areas;
    addAction({ id: `actg_${m}`, kind: 'glob', value: `${verb}:area-${area}-*`, verb, area }, null);
  }
  for (const verb of VERBS) addAction({ id: `cat_${verb}`, kind: 'category', value: null, verb, area: -1 }, `All ${verb} actions`);

  for (const dc of DATA_CLASSES) terms.push({ term_id: dc, term_type: 'data_class', value: dc });
  for (const req of REQUIREMENTS) terms.push({ term_id: `ctx_${req}`, term_type: 'context', value: req });
  terms.push({ term_id: 'human_approval', term_type: 'context', description: 'A human must approve' });

  // Relation types: exact shares (50/20/15/10/5), shuffled.
  const shares: Array<[RelationType, number]> = [
    ['forbids', 0.2],
    ['requires', 0.15],
    ['implies', 0.1],
    ['conflicts', 0.05],
  ];
  const types: RelationType[] = [];
  for (const [type, share] of shares) for (let i = Math.round(n * share); i > 0; i--) types.push(type);
  while (types.length < n) types.push('permits');
  types.length = n;
  for (let i = types.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [types[i], types[j]] = [types[j]!, types[i]!];
  }

  const actorList = [...actors.values()];
  const teamList = actorList.filter((a) => a.kind === 'team');
  const agentList = actorList.filter((a) => a.kind === 'agent');
  const actionList = [...actions.values()];
  const exactList = actionList.filter((a) => a.kind === 'exact');
  const globList = actionList.filter((a) => a.kind === 'glob');
  const catList = actionList.filter((a) => a.kind === 'category');
  const byVerb = (verb: string) => exactList.filter((a) => a.verb === verb);
  const initiates = byVerb('initiate');
  const approves = byVerb('approve');
  const targetAction = (exact: number, glob: number): GenAction => {
    const r = rand();
    return r < exact ? pick(rand, exactList) : r < exact + glob ? pick(rand, globList) : pick(rand, catList);
  };
  const maybeObject = (p: number): string | null => (rand() < p ? pick(rand, DATA_CLASSES) : null);

  // Implies: exact actions (each at most once) → their category; a few data-class pairs.
  const impliesPool = exactList.map((a) => a.id);
  for (let i = impliesPool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [impliesPool[i], impliesPool[j]] = [impliesPool[j]!, impliesPool[i]!];
  }
  let impliesUsed = 0;
  let dcImpliesUsed = 0;

  const width = String(n).length;
  const relations: GenRelation[] = types.map((type, i) => {
    const relation_id = `r-${String(i).padStart(width, '0')}`;
    const base = { relation_id, relation_type: type, object: null as string | null, conditions: [] as string[] };
    switch (type) {
      case 'permits': {
        const source = rand() < 0.75 ? pick(rand, teamList) : pick(rand, agentList);
        const target = targetAction(0.75, 0.15);
        const conditions = rand() < 0.2 ? [pick(rand, CONDITIONS)] : [];
        return { ...base, source: source.id, target: target.id, object: maybeObject(0.3), conditions };
      }
      case 'forbids': {
        const source = rand() < 0.4 ? actors.get('ai_agent')! : pick(rand, teamList);
        const target = targetAction(0.5, 0.3);
        return { ...base, source: source.id, target: target.id, object: maybeObject(0.5) };
      }
      case 'requires': {
        const source = rand() < 0.8 ? (rand() < 0.75 ? pick(rand, exactList) : pick(rand, globList)) : pick(rand, teamList);
        const target = rand() < 0.25 ? 'human_approval' : `ctx_${pick(rand, REQUIREMENTS)}`;
        return { ...base, source: source.id, target, object: maybeObject(0.15) };
      }
      case 'implies': {
        if ((i % 10 < 2 || impliesUsed >= impliesPool.length) && dcImpliesUsed < DATA_CLASS_IMPLIES.length) {
          const [from, to] = DATA_CLASS_IMPLIES[dcImpliesUsed++]!;
          return { ...base, source: from, target: to };
        }
        const from = actions.get(impliesPool[impliesUsed++ % impliesPool.length]!)!;
        return { ...base, source: from.id, target: `cat_${from.verb}` };
      }
      case 'conflicts': {
        const x = pick(rand, initiates.length > 0 ? initiates : exactList);
        const y = pick(rand, approves.length > 0 ? approves : exactList);
        return { ...base, source: x.id, target: y.id };
      }
    }
  });

  const actionParents = new Map<string, string[]>();
  const dataClassImpliedBy = new Map<string, string[]>(DATA_CLASSES.map((dc) => [dc, [dc]]));
  for (const r of relations) {
    if (r.relation_type !== 'implies') continue;
    const from = actions.get(r.source);
    if (from !== undefined) {
      const list = actionParents.get(from.value!) ?? [];
      if (!list.includes(r.target)) list.push(r.target);
      actionParents.set(from.value!, list);
    } else {
      // Data-class pairs are one level deep here (no chains), so one step is the transitive closure.
      const list = dataClassImpliedBy.get(r.target)!;
      if (!list.includes(r.source)) list.push(r.source);
    }
  }

  const document = {
    policy_id: `bench-${n}`,
    name: `Benchmark policy, ${n} relations`,
    version: '1',
    mode: 'strict',
    terms,
    relations: relations.map((r) => ({
      relation_id: r.relation_id,
      relation_type: r.relation_type,
      source: r.source,
      target: r.target,
      ...(r.object === null ? {} : { object: r.object }),
      ...(r.conditions.length === 0 ? {} : { conditions: r.conditions }),
    })),
  };
  return {
    n,
    document,
    actors,
    actions,
    relations,
    actionParents,
    dataClassImpliedBy,
    counts: {
      actorGlobs: 1 + teams,
      actorExact: agents,
      actionExact: exactActions,
      actionGlobs,
      categories: catList.length,
    },
  };
}

/** The request mix: engine requests and the matching Cedar calls, built once, outside the timing. */
function generateRequests(g: Generated, policySetId: string): { requests: EvaluationRequest[]; calls: StatefulAuthorizationCall[] } {
  const rand = prng(0x5eed ^ g.n);
  const actorList = [...g.actors.values()];
  const teams = actorList.filter((a) => a.kind === 'team');
  const exactActions = [...g.actions.values()].filter((a) => a.kind === 'exact');
  const aimable = g.relations.filter((r) => r.relation_type !== 'implies');

  const concreteActor = (a: GenActor): string => {
    if (a.kind === 'agent') return a.value;
    const team = a.kind === 'team' ? a : pick(rand, teams);
    return team.value.replace('*', String(Math.floor(rand() * 100)));
  };
  const concreteAction = (a: GenAction): string => {
    if (a.kind === 'exact') return a.value!;
    if (a.kind === 'glob') {
      const matching = exactActions.filter((x) => x.verb === a.verb && x.area === a.area);
      if (matching.length > 0 && rand() < 0.5) return pick(rand, matching).value!;
      return a.value!.replace('*', `adhoc-${Math.floor(rand() * 1000)}`);
    }
    // A category: an action that implies it when there is one.
    const implying = exactActions.filter((x) => g.actionParents.get(x.value!)?.includes(a.id));
    return pick(rand, implying.length > 0 ? implying : exactActions.filter((x) => x.verb === a.verb)).value!;
  };
  const actionOf = (id: string): GenAction | undefined => g.actions.get(id);

  const requests: EvaluationRequest[] = [];
  for (let i = 0; i < opts.mixSize; i++) {
    let actor: string;
    let action: string;
    const dataClasses = new Set<string>();
    let approved: string[] = [];
    const roll = rand();
    if (roll < 0.7) {
      const r = pick(rand, aimable);
      const sourceActor = g.actors.get(r.source);
      const sourceAction = actionOf(r.source);
      if (r.relation_type === 'conflicts') {
        const [x, y] = rand() < 0.5 ? [r.source, r.target] : [r.target, r.source];
        actor = concreteActor(pick(rand, teams));
        action = concreteAction(actionOf(x)!);
        approved = [concreteAction(actionOf(y)!)];
      } else if (r.relation_type === 'requires') {
        actor = sourceActor !== undefined ? concreteActor(sourceActor) : concreteActor(pick(rand, teams));
        action = sourceAction !== undefined ? concreteAction(sourceAction) : pick(rand, exactActions).value!;
      } else {
        actor = concreteActor(sourceActor!);
        action = concreteAction(actionOf(r.target)!);
      }
      if (r.object !== null) {
        // Sometimes a class that implies the object rather than the object itself.
        dataClasses.add(pick(rand, g.dataClassImpliedBy.get(r.object)!));
      }
    } else if (roll < 0.85) {
      actor = concreteActor(pick(rand, teams));
      action = pick(rand, exactActions).value!;
    } else {
      actor = rand() < 0.5 ? `script:cron-${Math.floor(rand() * 100)}` : `ai_agent:unknown-${Math.floor(rand() * 100)}`;
      action = `noop:thing-${Math.floor(rand() * 1000)}`;
    }
    if (rand() < 0.3) dataClasses.add(pick(rand, DATA_CLASSES));
    const context: Record<string, boolean> = {};
    for (const req of REQUIREMENTS) if (rand() < 0.6) context[req] = true;
    requests.push({
      actor,
      action,
      data_classes: [...dataClasses],
      context,
      ...(approved.length > 0 ? { session_approved_actions: approved } : {}),
    });
  }

  const calls = requests.map(
    (r): StatefulAuthorizationCall => ({
      principal: { type: 'Agent', id: r.actor },
      action: { type: 'Action', id: r.action },
      resource: { type: 'Resource', id: 'none' },
      context: {
        action: r.action,
        data_classes: [...(r.data_classes ?? [])],
        session_approved_actions: [...(r.session_approved_actions ?? [])],
        ...(r.context as Record<string, boolean>),
      },
      entities: [
        { uid: { type: 'Agent', id: r.actor }, attrs: { name: r.actor }, parents: [] },
        {
          uid: { type: 'Action', id: r.action },
          attrs: {},
          parents: (g.actionParents.get(r.action) ?? []).map((id) => ({ type: 'Action', id })),
        },
      ],
      preparsedPolicySetId: policySetId,
    }),
  );
  return { requests, calls };
}

// ---------------------------------------------------------------------------------------------------
// Cedar translation (documented in the header)

const cedarString = (s: string): string => JSON.stringify(s);

function toCedar(g: Generated): Record<string, string> {
  const actorPart = (id: string): { scope: string; when: string[] } => {
    const a = g.actors.get(id)!;
    return a.kind === 'agent'
      ? { scope: `principal == Agent::${cedarString(a.value)}`, when: [] }
      : { scope: 'principal', when: [`principal.name like ${cedarString(a.value)}`] };
  };
  const actionPart = (id: string): { scope: string; when: string[] } => {
    const a = g.actions.get(id)!;
    if (a.kind === 'exact') return { scope: `action == Action::${cedarString(a.value!)}`, when: [] };
    if (a.kind === 'category') return { scope: `action in Action::${cedarString(a.id)}`, when: [] };
    return { scope: 'action', when: [`context.action like ${cedarString(a.value!)}`] };
  };
  const objectPart = (object: string | null): string[] =>
    object === null
      ? []
      : [`context.data_classes.containsAny([${g.dataClassImpliedBy.get(object)!.map(cedarString).join(', ')}])`];
  const statement = (effect: 'permit' | 'forbid', principal: string, action: string, when: string[], unless?: string): string =>
    `${effect}(${principal}, ${action}, resource)` +
    (when.length > 0 ? ` when { ${when.join(' && ')} }` : '') +
    (unless !== undefined ? ` unless { ${unless} }` : '') +
    ';';

  const out: Record<string, string> = {};
  for (const r of g.relations) {
    let text: string;
    switch (r.relation_type) {
      case 'permits':
      case 'forbids': {
        const p = actorPart(r.source);
        const a = actionPart(r.target);
        const annotation = r.conditions.length > 0 ? `@conditions(${cedarString(r.conditions.join(','))}) ` : '';
        const effect = r.relation_type === 'permits' ? 'permit' : 'forbid';
        text = annotation + statement(effect, p.scope, a.scope, [...p.when, ...a.when, ...objectPart(r.object)]);
        break;
      }
      case 'requires': {
        const name = r.target === 'human_approval' ? 'human_approval' : r.target.slice('ctx_'.length);
        const src = g.actors.has(r.source) ? { p: actorPart(r.source), a: null } : { p: null, a: actionPart(r.source) };
        const when = [...(src.p?.when ?? []), ...(src.a?.when ?? []), ...objectPart(r.object)];
        text = statement('forbid', src.p?.scope ?? 'principal', src.a?.scope ?? 'action', when, `context has ${name} && context.${name} == true`);
        break;
      }
      case 'conflicts': {
        const x = cedarString(g.actions.get(r.source)!.value!);
        const y = cedarString(g.actions.get(r.target)!.value!);
        const when =
          `(action == Action::${x} && context.session_approved_actions.contains(${y})) || ` +
          `(action == Action::${y} && context.session_approved_actions.contains(${x}))`;
        text = statement('forbid', 'principal', `action in [Action::${x}, Action::${y}]`, [when]);
        break;
      }
      case 'implies':
        text = `@implies(${cedarString(`${r.source} -> ${r.target}`)}) forbid(principal, action, resource) when { false };`;
        break;
    }
    out[r.relation_id] = text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Measurement

interface Stats {
  medianNs: number;
  p99Ns: number;
  samples: number;
  batch: number;
}

/** A function running evaluations `from .. from+count-1` of the mix; returns something to keep alive. */
type Runner = (from: number, count: number) => number;

let sink = 0;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Run evaluations for `ms` milliseconds (JIT and wasm tier-up), at least two. */
function warmUp(run: Runner, ms: number): void {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  for (let i = 0; i < 2 || process.hrtime.bigint() < deadline; i++) sink ^= run(i, 1);
}

/**
 * Batch size for ≈ SAMPLE_TARGET_NS per sample: chunks of doubling size until one takes ≥ 1 ms, then up
 * to 9 such chunks (or 20 ms), and the median chunk's time per evaluation (so one GC pause cannot skew it).
 */
function calibrate(run: Runner): number {
  const perEval: number[] = [];
  const started = process.hrtime.bigint();
  let count = 1;
  let from = 0;
  while (perEval.length < 9 && (perEval.length === 0 || process.hrtime.bigint() - started < 20_000_000n)) {
    const t0 = process.hrtime.bigint();
    sink ^= run(from, count);
    const ns = Number(process.hrtime.bigint() - t0);
    from += count;
    if (ns < 1e6 && count < 1e6) count *= 2;
    else perEval.push(ns / count);
  }
  const median = percentile(perEval.sort((a, b) => a - b), 50);
  return Math.max(1, Math.min(100_000, Math.round(SAMPLE_TARGET_NS / median)));
}

class Cell {
  readonly perEvalNs: number[] = [];
  cursor = 0;
  constructor(
    readonly run: Runner,
    readonly batch: number,
  ) {}

  /** Take samples for `ms` milliseconds (at least 3). */
  measure(ms: number): void {
    const deadline = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    for (let taken = 0; taken < 3 || process.hrtime.bigint() < deadline; taken++) {
      const t0 = process.hrtime.bigint();
      sink ^= this.run(this.cursor, this.batch);
      const t1 = process.hrtime.bigint();
      this.perEvalNs.push(Number(t1 - t0) / this.batch);
      this.cursor += this.batch;
    }
  }

  stats(): Stats {
    const sorted = [...this.perEvalNs].sort((a, b) => a - b);
    return {
      medianNs: percentile(sorted, 50),
      p99Ns: percentile(sorted, 99),
      samples: sorted.length,
      batch: this.batch,
    };
  }
}

interface SizeResult {
  n: number;
  stats: Partial<Record<EvaluatorName, Stats>>;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
function fmtMicros(ns: number): string {
  const us = ns / 1000;
  if (us < 10) return us.toFixed(2);
  if (us < 1000) return us.toFixed(1);
  return fmtInt(us);
}
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function benchSize(n: number): SizeResult {
  const t0 = nowMs();
  const g = generatePolicy(n);
  const loaded = loadPolicyDocument(g.document);
  if (!loaded.ok) throw new Error(`N=${n}: generated policy rejected: ${JSON.stringify(loaded.problems.slice(0, 5))}`);
  if (loaded.warnings.length > 0) throw new Error(`N=${n}: unexpected implicit terms: ${JSON.stringify(loaded.warnings.slice(0, 5))}`);
  const policy: NormalizedPolicy = loaded.policy;
  const tLoad = nowMs();
  const compiled = compilePolicy(policy);
  const tCompile = nowMs();

  const cedarPolicies = toCedar(g);
  const statements = Object.keys(cedarPolicies).length;
  if (statements !== policy.relations.length) throw new Error(`N=${n}: ${statements} Cedar statements for ${policy.relations.length} relations`);
  const policySetId = `lexecon-bench-${n}`;
  const parsed = preparsePolicySet(policySetId, { staticPolicies: cedarPolicies });
  if (parsed.type !== 'success') throw new Error(`N=${n}: Cedar rejected the policy set: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  const tCedar = nowMs();

  const { requests, calls } = generateRequests(g, policySetId);
  const mix = requests.length;

  // Warm-up and agreement: the whole mix through the engine; as much of it as time allows (at least 16, 4
  // with --quick) through cedar, which must agree on allow/deny, and through naive, which must deep-equal it.
  const outcomes = new Map<string, number>();
  let defaults = 0;
  const results = requests.map((r) => evaluate(compiled, r));
  for (const result of results) {
    outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
    if (result.default_applied) defaults++;
  }
  // What the engine's work grows with, per request (read from the compiled indexes, outside the timing):
  // the glob candidates it tests (those starting with `*`, and those whose literal prefix starts the
  // value, found by walking the trie) and the relations it visits (permits/forbids under a matched pair,
  // requires under a matched source, conflicts under a matched term when the session has approvals).
  const globCandidates = (type: TermType, value: string | undefined) => {
    const index = compiled.types.get(type);
    if (!index || value === undefined) return 0;
    let n = index.globs.length;
    let node: typeof index.globTrie | undefined = index.globTrie;
    for (let i = 0; i < value.length && node !== undefined; i++) {
      node = node.next.get(value.charCodeAt(i));
      n += node?.globs.length ?? 0;
    }
    return n;
  };
  let globsScanned = 0;
  let relationsVisited = 0;
  requests.forEach((r, i) => {
    globsScanned += globCandidates('actor', r.actor) + globCandidates('action', r.action);
    for (const dc of r.data_classes ?? []) globsScanned += globCandidates('data_class', dc);
    const matched = results[i]!.matched_terms;
    for (const s of matched) {
      relationsVisited += compiled.bySource.get(s)?.length ?? 0;
      const byTarget = compiled.byPair.get(s);
      if (byTarget) for (const t of matched) relationsVisited += byTarget.get(t)?.length ?? 0;
      if ((r.session_approved_actions?.length ?? 0) > 0) relationsVisited += compiled.conflictsByTerm.get(s)?.length ?? 0;
    }
  });

  let agree = 0;
  let cedarChecked = 0;
  const disagreements: string[] = [];
  const cedarDeadline = nowMs() + opts.checkMs;
  for (; cedarChecked < mix && (cedarChecked < opts.minChecks || nowMs() < cedarDeadline); cedarChecked++) {
    const i = cedarChecked;
    const result = results[i]!;
    const answer = statefulIsAuthorized(calls[i]!);
    if (answer.type !== 'success') throw new Error(`N=${n}: Cedar failed: ${JSON.stringify(answer.errors)}`);
    if (answer.response.diagnostics.errors.length > 0) {
      throw new Error(`N=${n}: Cedar policy errors: ${JSON.stringify(answer.response.diagnostics.errors.slice(0, 3))}`);
    }
    const lexeconAllows = result.outcome === 'approved' || result.outcome === 'conditional';
    if (lexeconAllows === (answer.response.decision === 'allow')) agree++;
    else if (disagreements.length < 3) disagreements.push(`${JSON.stringify(requests[i])} → ${result.outcome} vs ${answer.response.decision}`);
  }
  const naiveDeadline = nowMs() + opts.checkMs;
  let naiveChecked = 0;
  for (; naiveChecked < mix && (naiveChecked < opts.minChecks || nowMs() < naiveDeadline); naiveChecked++) {
    const r = requests[naiveChecked]!;
    if (!isDeepStrictEqual(evaluateNaive(policy, r), results[naiveChecked])) {
      throw new Error(`N=${n}: evaluateNaive and evaluate differ on ${JSON.stringify(r)}`);
    }
  }

  const runners: Record<EvaluatorName, Runner> = {
    engine: (from, count) => {
      let x = 0;
      for (let i = 0; i < count; i++) x += evaluate(compiled, requests[(from + i) % mix]!).matched.length;
      return x;
    },
    naive: (from, count) => {
      let x = 0;
      for (let i = 0; i < count; i++) x += evaluateNaive(policy, requests[(from + i) % mix]!).matched.length;
      return x;
    },
    cedar: (from, count) => {
      let x = 0;
      for (let i = 0; i < count; i++) x += statefulIsAuthorized(calls[(from + i) % mix]!).type.length;
      return x;
    },
  };
  const cells: Partial<Record<EvaluatorName, Cell>> = {};
  for (const name of opts.evaluators) {
    warmUp(runners[name], opts.warmupMs);
    cells[name] = new Cell(runners[name], calibrate(runners[name]));
  }
  for (let round = 0; round < opts.rounds; round++) {
    for (const name of opts.evaluators) cells[name]!.measure(opts.measureMs / opts.rounds);
  }

  const dist = ['approved', 'conditional', 'denied', 'escalated'].map((o) => `${o} ${outcomes.get(o) ?? 0}`).join(', ');
  const c = g.counts;
  console.log(
    `  N=${fmtInt(n)}: ${fmtInt(policy.terms.length)} terms (actor globs ${c.actorGlobs}, exact actors ${c.actorExact}, ` +
      `exact actions ${c.actionExact}, action globs ${c.actionGlobs}, categories ${c.categories}); ` +
      `load ${(tLoad - t0).toFixed(0)} ms, compile ${(tCompile - tLoad).toFixed(0)} ms, cedar preparse ${(tCedar - tCompile).toFixed(0)} ms`,
  );
  console.log(
    `    mix of ${mix}: ${dist} (default applied ${defaults}); cedar agrees with the engine on ${agree}/${cedarChecked}; naive = engine on ${naiveChecked}/${mix}`,
  );
  console.log(
    `    engine work per request (mean): ${(globsScanned / mix).toFixed(1)} glob candidates tested, ` +
      `${(relationsVisited / mix).toFixed(1)} indexed relations visited`,
  );
  for (const d of disagreements) console.log(`    DISAGREEMENT ${d}`);
  return {
    n,
    stats: Object.fromEntries(opts.evaluators.map((name) => [name, cells[name]!.stats()])),
  };
}

/**
 * What one statefulIsAuthorized call costs with a single-statement policy set and the benchmark's request
 * shape (two entities, a five-field context): the fixed cost of crossing into wasm and back, which every
 * Cedar figure below includes.
 */
function cedarFloor(): Stats {
  const id = 'lexecon-bench-floor';
  const parsed = preparsePolicySet(id, {
    staticPolicies: { only: 'permit(principal == Agent::"ai_agent:svc-0", action == Action::"read:area-0-item-0", resource);' },
  });
  if (parsed.type !== 'success') throw new Error(`Cedar rejected the floor policy: ${JSON.stringify(parsed.errors)}`);
  const call: StatefulAuthorizationCall = {
    principal: { type: 'Agent', id: 'ai_agent:svc-0' },
    action: { type: 'Action', id: 'read:area-0-item-0' },
    resource: { type: 'Resource', id: 'none' },
    context: { action: 'read:area-0-item-0', data_classes: ['pii'], session_approved_actions: [], mfa_verified: true },
    entities: [
      { uid: { type: 'Agent', id: 'ai_agent:svc-0' }, attrs: { name: 'ai_agent:svc-0' }, parents: [] },
      { uid: { type: 'Action', id: 'read:area-0-item-0' }, attrs: {}, parents: [{ type: 'Action', id: 'cat_read' }] },
    ],
    preparsedPolicySetId: id,
  };
  const run: Runner = (_from, count) => {
    let x = 0;
    for (let i = 0; i < count; i++) x += statefulIsAuthorized(call).type.length;
    return x;
  };
  warmUp(run, opts.warmupMs);
  const cell = new Cell(run, calibrate(run));
  cell.measure(opts.quick ? 100 : 300);
  return cell.stats();
}

// ---------------------------------------------------------------------------------------------------
// Report

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

function main(): void {
  const started = nowMs();
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(`Lexecon policy-engine bench${opts.quick ? ' (quick)' : ''}`);
  console.log(`  node ${process.version}, ${os.cpus().length}× ${cpu.trim()}, ${os.platform()} ${os.release()}`);
  console.log(`  cedar-wasm ${getCedarVersion()} (statefulIsAuthorized on a preparsed policy set)`);
  console.log(
    `  sizes ${opts.sizes.map(fmtInt).join(', ')}; evaluators ${opts.evaluators.join(', ')}; request mix of ${opts.mixSize}; ${opts.rounds} interleaved rounds, ` +
      `${(opts.measureMs / 1000).toFixed(1)} s per evaluator and size; samples of ≈ ${SAMPLE_TARGET_NS / 1000} µs`,
  );
  console.log('');

  if (opts.evaluators.includes('cedar')) {
    const floor = cedarFloor();
    console.log(
      `  cedar-wasm per-call floor (1 statement, same request shape): median ${fmtMicros(floor.medianNs)} µs, ` +
        `p99 ${fmtMicros(floor.p99Ns)} µs`,
    );
  }
  console.log('');

  const results: SizeResult[] = [];
  for (const n of opts.sizes) results.push(benchSize(n));
  console.log('');

  const rows: string[][] = [['relations', 'evaluator', 'median µs', 'p99 µs', 'evals/s', 'samples', 'batch']];
  for (const r of results) {
    for (const name of opts.evaluators) {
      const s = r.stats[name]!;
      rows.push([fmtInt(r.n), name, fmtMicros(s.medianNs), fmtMicros(s.p99Ns), fmtInt(1e9 / s.medianNs), fmtInt(s.samples), fmtInt(s.batch)]);
    }
  }
  console.log(table(rows));
  console.log('');

  const median = (n: number, name: EvaluatorName) => results.find((r) => r.n === n)?.stats[name]?.medianNs;
  const ratioLine = (label: string, a: number | undefined, b: number | undefined, target: number, needs: string) => {
    if (a === undefined || b === undefined) {
      console.log(`${label} n/a (needs ${needs})`);
      return;
    }
    const ratio = a / b;
    const verdict = ratio <= target ? 'ok' : `MISSED (${(ratio / target).toFixed(1)}× over)`;
    console.log(`${label} ${fmtMicros(a)} µs / ${fmtMicros(b)} µs = ${ratio.toFixed(4)} (target ≤ ${target}) ${verdict}`);
  };
  ratioLine('engine ÷ naive  @ 1,000:', median(1_000, 'engine'), median(1_000, 'naive'), NAIVE_TARGET, 'engine and naive at N=1,000');
  ratioLine('engine ÷ cedar  @ 1,000:', median(1_000, 'engine'), median(1_000, 'cedar'), CEDAR_TARGET, 'engine and cedar at N=1,000');
  ratioLine(
    'engine 10,000 ÷ 1,000:  ',
    median(10_000, 'engine'),
    median(1_000, 'engine'),
    SCALING_TARGET,
    'engine at N=1,000 and N=10,000',
  );
  console.log(`(total ${((nowMs() - started) / 1000).toFixed(1)} s; sink ${sink & 1})`);
}

process.stdout.on('error', () => process.exit(0));

try {
  main();
} catch (err: unknown) {
  console.error(err);
  process.exitCode = 1;
}
