import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalize } from '../../platform/crypto/canonical-json.js';
import { sha256Hex } from '../../platform/crypto/sha256.js';
import { POLICY_ID_PATTERN, POLICY_LIMITS, PolicyDocumentSchema } from './policy.document.schema.js';
import { loadPolicyDocument, policyVersionHash, type LoadOutcome } from './policy.loader.js';
import { DEFAULT_FACTOR_TABLE, FACTOR_TABLE_LIMITS, factorTableToJson, parseFactorTable } from '../risk/risk.engine.js';
import { compilePolicy } from './policy.compile.js';
import { evaluate } from './policy.engine.js';
import type { NormalizedPolicy, PolicyProblem } from './policy.model.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

type Doc = Record<string, unknown>;

function loaded(doc: unknown): Extract<LoadOutcome, { ok: true }> {
  const outcome = loadPolicyDocument(doc);
  if (!outcome.ok) throw new Error(`expected the policy to load, got ${JSON.stringify(outcome.problems, null, 2)}`);
  return outcome;
}

function problemsOf(doc: unknown): PolicyProblem[] {
  const outcome = loadPolicyDocument(doc);
  if (outcome.ok) throw new Error('expected the policy to be rejected, it loaded');
  return outcome.problems;
}

function hashOf(doc: unknown): string {
  return loaded(doc).versionHash;
}

/** A minimal valid document with the given terms and relations (and header overrides). */
function doc(terms: unknown[], relations: unknown[], header: Doc = {}): Doc {
  return { policy_id: 'p', ...header, terms, relations };
}

const actor = (id: string, extra: Doc = {}) => ({ term_id: id, term_type: 'actor', ...extra });
const action = (id: string, extra: Doc = {}) => ({ term_id: id, term_type: 'action', ...extra });
const dataClass = (id: string, extra: Doc = {}) => ({ term_id: id, term_type: 'data_class', ...extra });
const rel = (type: string, source: string, target: string, extra: Doc = {}) => ({
  relation_type: type,
  source,
  target,
  ...extra,
});

/** A valid document with one term, one relation: one bad field is added per test. */
function withTerm(extra: Doc): Doc {
  return doc([{ ...actor('a'), ...extra }, action('b')], [rel('permits', 'a', 'b')]);
}
function withRelation(extra: Doc): Doc {
  return doc([actor('a'), action('b'), dataClass('d')], [{ ...rel('permits', 'a', 'b'), ...extra }]);
}

function term(id: string, type: string, extra: Doc = {}) {
  return { term_id: id, term_type: type, value: null, label: null, description: null, metadata: {}, implicit: false, ...extra };
}
function implicitTerm(id: string, type: string) {
  return term(id, type, { implicit: true });
}
function normRel(id: string, type: string, source: string, target: string, extra: Doc = {}) {
  return { relation_id: id, relation_type: type, source, target, object: null, conditions: [], justification: null, ...extra };
}

// ---------------------------------------------------------------------------------------------------------
// The seed example (DESIGN §4)
// ---------------------------------------------------------------------------------------------------------

const SEED: Doc = {
  policy_id: 'seed-example',
  name: 'Seed example',
  version: '1.0',
  mode: 'strict',
  terms: [
    { term_id: 'ai_agent', term_type: 'actor', value: 'ai_agent:*' },
    { term_id: 'read_customer', term_type: 'action' },
    { term_id: 'delete_records', term_type: 'action' },
    { term_id: 'bulk_export', term_type: 'action' },
  ],
  relations: [
    { relation_type: 'permits', source: 'ai_agent', target: 'read_customer' },
    { relation_type: 'forbids', source: 'ai_agent', target: 'delete_records' },
    { relation_type: 'requires', source: 'bulk_export', target: 'human_approval' },
  ],
};

describe('the seed example', () => {
  it('loads with the expected normalized policy, no problems, one warning', () => {
    const out = loaded(SEED);
    expect(out.policy).toEqual({
      policy_id: 'seed-example',
      name: 'Seed example',
      version: '1.0',
      mode: 'strict',
      terms: [
        term('ai_agent', 'actor', { value: 'ai_agent:*' }),
        term('bulk_export', 'action'),
        term('delete_records', 'action'),
        implicitTerm('human_approval', 'context'),
        term('read_customer', 'action'),
      ],
      relations: [
        normRel('forbids:ai_agent->delete_records', 'forbids', 'ai_agent', 'delete_records'),
        normRel('permits:ai_agent->read_customer', 'permits', 'ai_agent', 'read_customer'),
        normRel('requires:bulk_export->human_approval', 'requires', 'bulk_export', 'human_approval'),
      ],
    });
    expect(out.warnings).toEqual([
      {
        path: '$.relations[2].target',
        message: 'term "human_approval" is not defined; treated as an implicit context term',
      },
    ]);
    expect(out.versionHash).toMatch(/^[0-9a-f]{64}$/);
    expect(out.versionHash).toBe(sha256Hex(canonicalize(out.policy)));
  });

  it('is deterministic and does not touch its input', () => {
    const input = structuredClone(SEED);
    const a = loaded(input);
    const b = loaded(input);
    expect(input).toEqual(SEED);
    expect(b.versionHash).toBe(a.versionHash);
    expect(b.policy).toEqual(a.policy);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The original Lexecon's JSON shapes
// ---------------------------------------------------------------------------------------------------------

describe("the original Lexecon's shapes", () => {
  it("loads the full to_dict export shape, relation metadata ignored", () => {
    const out = loaded({
      mode: 'strict',
      policy_id: 'acme-export',
      terms: [
        { term_id: 'actor:sorter', term_type: 'actor', label: 'Parcel Sorter', description: 'Conveyor sorting robot', metadata: {} },
        { term_id: 'action:weigh', term_type: 'action', label: 'Weigh', description: 'Put a parcel on the scale', metadata: {} },
        { term_id: 'data:sender_phone', term_type: 'data_class', label: 'Sender Phone', description: 'Phone number of the sender', metadata: {} },
      ],
      relations: [
        {
          relation_id: 'permits:actor:sorter:action:weigh',
          relation_type: 'permits',
          source: 'actor:sorter',
          target: 'action:weigh',
          conditions: [],
          metadata: {},
        },
      ],
    });
    expect(out.warnings).toEqual([]);
    expect(out.policy.terms.map((t) => [t.term_id, t.term_type, t.label])).toEqual([
      ['action:weigh', 'action', 'Weigh'],
      ['actor:sorter', 'actor', 'Parcel Sorter'],
      ['data:sender_phone', 'data_class', 'Sender Phone'],
    ]);
    expect(out.policy.relations).toEqual([
      normRel('permits:actor:sorter:action:weigh', 'permits', 'actor:sorter', 'action:weigh'),
    ]);
  });

  it('loads the simplified shape: id/type/name terms, type/subject/action/object relations', () => {
    const out = loaded({
      name: 'Acme Freight Routing Policy',
      version: '4.1.0',
      description: 'Which planners may read which lane data',
      mode: 'strict',
      terms: [
        { id: 'actor:lane_planner', type: 'actor', name: 'lane_planner', description: 'Automated lane planner' },
        { id: 'action:read_lanes', type: 'action', name: 'read_lanes', description: 'Read the lane table' },
        { id: 'data:open_lanes', type: 'data_class', name: 'open_lanes', description: 'Lanes open to every carrier' },
      ],
      relations: [
        {
          type: 'permits',
          subject: 'actor:lane_planner',
          action: 'action:read_lanes',
          object: 'data:open_lanes',
          justification: 'Open lanes are shared with all carriers anyway',
        },
      ],
      metadata: { owner: 'Acme routing desk', reviewed: '2025-09-30' },
    });
    expect(out.warnings).toEqual([]);
    expect(out.policy.policy_id).toBe('acme-freight-routing-policy');
    expect(out.policy.name).toBe('Acme Freight Routing Policy');
    expect(out.policy.version).toBe('4.1.0');
    expect(out.policy.terms).toEqual([
      term('action:read_lanes', 'action', { label: 'read_lanes', description: 'Read the lane table' }),
      term('actor:lane_planner', 'actor', { label: 'lane_planner', description: 'Automated lane planner' }),
      term('data:open_lanes', 'data_class', { label: 'open_lanes', description: 'Lanes open to every carrier' }),
    ]);
    expect(out.policy.relations).toEqual([
      normRel('permits:actor:lane_planner->action:read_lanes:data:open_lanes', 'permits', 'actor:lane_planner', 'action:read_lanes', {
        object: 'data:open_lanes',
        justification: 'Open lanes are shared with all carriers anyway',
      }),
    ]);
  });

  it('loads source_term_id/target_term_id relations', () => {
    const out = loaded(
      doc(
        [actor('t1', { value: 'ai_agent:*' }), action('t2', { value: 'read:data' })],
        [{ relation_type: 'permits', source_term_id: 't1', target_term_id: 't2' }],
      ),
    );
    expect(out.policy.relations).toEqual([normRel('permits:t1->t2', 'permits', 't1', 't2')]);
  });

  it('gives every alias spelling the same policy and hash as the canonical one', () => {
    const canonical = doc(
      [{ term_id: 'a', term_type: 'actor', label: 'A' }, { term_id: 'b', term_type: 'action' }],
      [{ relation_id: 'r1', relation_type: 'permits', source: 'a', target: 'b' }],
    );
    const variants = [
      doc([{ id: 'a', type: 'actor', name: 'A' }, { id: 'b', type: 'action' }], [{ id: 'r1', type: 'permits', subject: 'a', action: 'b' }]),
      doc(
        [{ term_id: 'a', id: 'a', term_type: 'ACTOR', label: 'A', name: 'A' }, { id: 'b', term_type: 'Action' }],
        [{ relation_id: 'r1', type: 'permit', source_term_id: 'a', target_term_id: 'b' }],
      ),
      doc([{ id: 'a', type: 'actor', name: 'A' }, { id: 'b', type: 'action' }], [{ id: 'r1', type: 'PERMITS', source: 'a', subject: 'a', target: 'b', action: 'b' }]),
    ];
    const expected = loaded(canonical);
    for (const v of variants) {
      const out = loaded(v);
      expect(out.policy).toEqual(expected.policy);
      expect(out.versionHash).toBe(expected.versionHash);
    }
  });

  it('accepts the original nulls for optional fields', () => {
    const out = loaded(
      doc(
        [{ term_id: 'a', term_type: 'actor', value: null, label: null, description: null, metadata: null }, action('b')],
        [{ relation_id: null, relation_type: 'permits', source: 'a', target: 'b', object: null, conditions: null, justification: null, metadata: null }],
        { name: null, version: null, mode: null },
      ),
    );
    expect(out.policy).toEqual({
      policy_id: 'p',
      name: 'p',
      version: null,
      mode: 'strict',
      terms: [term('a', 'actor'), term('b', 'action')],
      relations: [normRel('permits:a->b', 'permits', 'a', 'b')],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Whole documents in the shapes of the original Lexecon's JSON, which must load unchanged. The documents are
// our own (a fictional Acme logistics company): only their shapes follow the original's.
// ---------------------------------------------------------------------------------------------------------

/** Policy-file shape: id/type/name terms, subject/action/object relations, extra keys, a one-ended requires. */
const LEGACY_SHAPES_WAREHOUSE: Doc = {
  name: 'Acme Logistics Warehouse Robots Policy',
  version: '2.3.0',
  description: 'Which warehouse robots and staff may do what on the Acme yard',
  mode: 'strict',
  compliance_frameworks: ['ACME-OPS-12', 'ACME-SAFETY-3'],
  terms: [
    { id: 'actor:forklift_bot', type: 'actor', name: 'forklift_bot', description: 'Autonomous forklift on the warehouse floor' },
    { id: 'actor:picker_bot', type: 'actor', name: 'picker_bot', description: 'Shelf-picking robot arm' },
    { id: 'actor:shift_lead', type: 'actor', name: 'shift_lead', description: 'Human lead of the current shift' },
    { id: 'action:move_pallet', type: 'action', name: 'move_pallet', description: 'Move a pallet between bays' },
    { id: 'action:scan_label', type: 'action', name: 'scan_label', description: 'Read a parcel label' },
    { id: 'action:open_cage', type: 'action', name: 'open_cage', description: 'Open the locked high-value cage' },
    { id: 'action:reroute_truck', type: 'action', name: 'reroute_truck', description: 'Send an outbound truck to another dock' },
    { id: 'action:print_manifest', type: 'action', name: 'print_manifest', description: 'Print a loading manifest' },
    { id: 'data:parcel_labels', type: 'data_class', name: 'parcel_labels', description: 'Barcodes and addresses on parcels', sensitivity: 'medium' },
    { id: 'data:cage_inventory', type: 'data_class', name: 'cage_inventory', description: 'Contents of the high-value cage', sensitivity: 'high', requires_badge: true },
    { id: 'data:dock_schedule', type: 'data_class', name: 'dock_schedule', description: 'Truck arrival and departure slots', sensitivity: 'low' },
  ],
  relations: [
    { type: 'permits', subject: 'actor:forklift_bot', action: 'action:move_pallet', justification: 'Moving pallets is what forklifts are for' },
    { type: 'permits', subject: 'actor:picker_bot', action: 'action:scan_label', object: 'data:parcel_labels', justification: 'Picking needs the label' },
    { type: 'permits', subject: 'actor:picker_bot', action: 'action:scan_label', object: 'data:returns_labels', justification: 'Returns are picked the same way' },
    { type: 'forbids', subject: 'actor:picker_bot', action: 'action:open_cage', object: 'data:cage_inventory', justification: 'Only people open the cage' },
    { type: 'forbids', subject: 'actor:forklift_bot', action: 'action:reroute_truck', conditions: ['after_cutoff'], justification: 'Late changes confuse drivers' },
    { type: 'permits', subject: 'actor:shift_lead', action: 'action:reroute_truck', object: 'data:dock_schedule', conditions: ['radio_confirmed'], justification: 'Leads may move trucks once the driver confirms' },
    { type: 'requires', action: 'action:print_manifest', condition: 'weighbridge_reading_recorded', justification: 'A manifest states the measured weight' },
  ],
  constraints: [{ name: 'night_shift', condition: 'hour >= 22', action: 'lead_confirms', justification: 'Fewer people on the floor at night' }],
  audit_requirements: { log_every_decision: true, keep_days: 90 },
  metadata: { owner: 'Acme yard operations', reviewed: '2025-11-04' },
};

/** Policy-file shape: actions and data classes named only by relations (typed by prefix), three one-ended requires. */
const LEGACY_SHAPES_BILLING: Doc = {
  name: 'Acme Logistics Freight Billing Policy',
  version: '2.3.0',
  description: 'Invoices, refunds and carrier payouts',
  mode: 'strict',
  compliance_frameworks: ['ACME-FIN-2'],
  terms: [
    { id: 'actor:invoice_bot', type: 'actor', name: 'invoice_bot', description: 'Drafts and sends invoices' },
    { id: 'actor:rate_estimator', type: 'actor', name: 'rate_estimator', description: 'Quotes freight rates' },
    { id: 'actor:payout_bot', type: 'actor', name: 'payout_bot', description: 'Pays carriers for delivered loads' },
    { id: 'actor:billing_clerk', type: 'actor', name: 'billing_clerk', description: 'Human billing clerk' },
    { id: 'action:issue_invoice', type: 'action', name: 'issue_invoice', description: 'Send an invoice to a shipper' },
    { id: 'action:read_rate_card', type: 'action', name: 'read_rate_card', description: 'Read the carrier rate card' },
    { id: 'action:adjust_invoice', type: 'action', name: 'adjust_invoice', description: 'Change the amount of a sent invoice' },
    { id: 'action:pay_carrier', type: 'action', name: 'pay_carrier', description: 'Transfer a payout to a carrier' },
    { id: 'action:refund_shipper', type: 'action', name: 'refund_shipper', description: 'Refund a shipper' },
    { id: 'data:carrier_bank_details', type: 'data_class', name: 'carrier_bank_details', description: 'Bank accounts of carriers', sensitivity: 'high', requires_masking: true },
    { id: 'data:invoice_ledger', type: 'data_class', name: 'invoice_ledger', description: 'Every invoice ever sent', sensitivity: 'high', append_only: true },
    { id: 'data:rate_cards', type: 'data_class', name: 'rate_cards', description: 'Published carrier rates', sensitivity: 'low' },
  ],
  relations: [
    { type: 'forbids', subject: 'actor:invoice_bot', action: 'action:adjust_invoice', conditions: ['amount_over_limit', 'disputed'], justification: 'Large or disputed changes go to a clerk' },
    { type: 'forbids', subject: 'actor:rate_estimator', action: 'action:refund_shipper', justification: 'Quoting is not refunding' },
    { type: 'forbids', subject: 'actor:payout_bot', action: 'action:export_bank_details', object: 'data:carrier_bank_details', justification: 'Bank details never leave the payout system' },
    { type: 'permits', subject: 'actor:rate_estimator', action: 'action:compare_lanes', object: 'data:rate_cards', justification: 'Comparing public rates is harmless' },
    { type: 'permits', subject: 'actor:invoice_bot', action: 'action:draft_credit_note', object: 'data:invoice_drafts', justification: 'Drafts are reviewed before sending' },
    { type: 'requires', action: 'action:pay_carrier', condition: 'two_person_signoff', justification: 'Payouts need two people' },
    { type: 'requires', action: 'action:export_bank_details', condition: 'ticket_reference_present', justification: 'Every export is tied to a ticket' },
    { type: 'requires', action: 'action:adjust_invoice', condition: 'ledger_entry_written', justification: 'The ledger shows every change' },
  ],
  constraints: [{ name: 'payout_ceiling', condition: 'amount > 50000', action: 'clerk_approves', justification: 'Large payouts are checked by hand' }],
  audit_requirements: { log_every_decision: true, keep_days: 3650 },
  vendor_reviews: { review_carriers_every_days: 180 },
  metadata: { owner: 'Acme finance desk', reviewed: '2025-10-12' },
};

/** Policy-file shape: `requires_consent` and other extra term keys, a one-ended requires with an object. */
const LEGACY_SHAPES_CUSTOMS: Doc = {
  name: 'Acme Logistics Customs Clearance Policy',
  version: '2.3.0',
  description: 'What the clearance agent may do with consignment data',
  mode: 'strict',
  compliance_frameworks: ['ACME-CUSTOMS-1'],
  terms: [
    { id: 'actor:clearance_bot', type: 'actor', name: 'clearance_bot', description: 'Prepares customs declarations' },
    { id: 'actor:customs_broker', type: 'actor', name: 'customs_broker', description: 'Licensed human broker' },
    { id: 'action:read', type: 'action', name: 'read', description: 'Read consignment data' },
    { id: 'action:file', type: 'action', name: 'file', description: 'File a declaration' },
    { id: 'action:classify', type: 'action', name: 'classify', description: 'Pick a tariff code for goods' },
    { id: 'action:release', type: 'action', name: 'release', description: 'Release goods from the bonded store' },
    { id: 'action:void', type: 'action', name: 'void', description: 'Void a declaration' },
    { id: 'data:consignee_identity', type: 'data_class', name: 'consignee_identity', description: 'Names and tax numbers of consignees', sensitivity: 'high', hold_days: 400, requires_consent: true },
    { id: 'data:dual_use_goods', type: 'data_class', name: 'dual_use_goods', description: 'Goods under export control', sensitivity: 'critical', hold_days: 800, requires_licence: true },
    { id: 'data:tariff_codes', type: 'data_class', name: 'tariff_codes', description: 'The tariff nomenclature', sensitivity: 'low', requires_consent: false },
    { id: 'data:published_rates', type: 'data_class', name: 'published_rates', description: 'Duty rates anyone can look up', sensitivity: 'low', requires_consent: false },
  ],
  relations: [
    { type: 'permits', subject: 'actor:clearance_bot', action: 'action:read', object: 'data:published_rates', justification: 'Public rates' },
    { type: 'permits', subject: 'actor:clearance_bot', action: 'action:read', object: 'data:tariff_codes', justification: 'Public nomenclature' },
    { type: 'permits', subject: 'actor:clearance_bot', action: 'action:classify', object: 'data:tariff_codes', justification: 'Classifying is its job' },
    { type: 'forbids', subject: 'actor:clearance_bot', action: 'action:read', object: 'data:consignee_identity', justification: 'Identities stay with the broker' },
    { type: 'forbids', subject: 'actor:clearance_bot', action: 'action:file', object: 'data:consignee_identity', justification: 'Only the broker files in a consignee\'s name' },
    { type: 'forbids', subject: 'actor:clearance_bot', action: 'action:classify', object: 'data:dual_use_goods', justification: 'Export-controlled goods are classified by hand' },
    { type: 'forbids', subject: 'actor:clearance_bot', action: 'action:release', object: 'data:consignee_identity', justification: 'Release is a broker decision' },
    { type: 'permits', subject: 'actor:customs_broker', action: 'action:void', object: 'data:consignee_identity', justification: 'Brokers correct their own filings' },
    { type: 'requires', action: 'action:classify', object: 'data:consignee_identity', condition: 'declaration_lodged', justification: 'Classify only what has been declared' },
    { type: 'requires', action: 'action:release', condition: 'duty_paid', justification: 'No release before duty is paid' },
  ],
  constraints: [{ name: 'same_port', condition: 'release.port == arrival.port', action: 'deny_if_moved', justification: 'Goods are released where they landed' }],
  audit_requirements: { log_every_decision: true, keep_days: 2000 },
  metadata: { owner: 'Acme customs team', reviewed: '2025-08-19' },
};

/** Policy-file shape: paranoid mode, one-ended and two-ended requires side by side, another extra top-level key. */
const LEGACY_SHAPES_DISPATCH: Doc = {
  name: 'Acme Logistics Driver Dispatch Policy',
  version: '2.3.0',
  description: 'Routes, live locations and incidents of Acme drivers',
  mode: 'paranoid',
  compliance_frameworks: ['ACME-FLEET-5'],
  terms: [
    { id: 'actor:dispatch_bot', type: 'actor', name: 'dispatch_bot', description: 'Assigns loads to drivers' },
    { id: 'actor:dispatcher', type: 'actor', name: 'dispatcher', description: 'Human dispatcher' },
    { id: 'actor:driver', type: 'actor', name: 'driver', description: 'Driver looking at their own route' },
    { id: 'action:view_route', type: 'action', name: 'view_route', description: 'See a route and where the truck is' },
    { id: 'action:change_route', type: 'action', name: 'change_route', description: 'Change the stops of a route' },
    { id: 'action:share_location', type: 'action', name: 'share_location', description: 'Send a truck position to a customer' },
    { id: 'action:assign_load', type: 'action', name: 'assign_load', description: 'Give a load to a driver' },
    { id: 'action:log_incident', type: 'action', name: 'log_incident', description: 'Write up a road incident' },
    { id: 'data:live_location', type: 'data_class', name: 'live_location', description: 'Current truck positions', sensitivity: 'critical', encrypt_at_rest: true, encrypt_in_transit: true },
    { id: 'data:driver_medical', type: 'data_class', name: 'driver_medical', description: 'Fitness-to-drive certificates', sensitivity: 'critical', requires_driver_signature: true },
    { id: 'data:aggregated_routes', type: 'data_class', name: 'aggregated_routes', description: 'Route statistics without drivers', sensitivity: 'low' },
    { id: 'data:hazmat_manifest', type: 'data_class', name: 'hazmat_manifest', description: 'Dangerous goods on board', sensitivity: 'medium', requires_permit: true },
  ],
  relations: [
    { type: 'forbids', subject: 'actor:dispatch_bot', action: 'action:view_route', object: 'data:live_location', justification: 'The bot plans on aggregates only' },
    { type: 'forbids', subject: 'actor:dispatch_bot', action: 'action:change_route', object: 'data:live_location', justification: 'Route changes are made by people' },
    { type: 'forbids', subject: 'actor:dispatch_bot', action: 'action:share_location', object: 'data:live_location', justification: 'Customers get positions from a person' },
    { type: 'permits', subject: 'actor:dispatch_bot', action: 'action:assign_load', object: 'data:aggregated_routes', justification: 'Assigning on statistics is fine' },
    { type: 'permits', subject: 'actor:dispatcher', action: 'action:view_route', object: 'data:live_location', conditions: ['on_shift', 'route_assigned'], justification: 'Dispatchers follow their own trucks' },
    { type: 'permits', subject: 'actor:driver', action: 'action:view_route', object: 'data:live_location', conditions: ['own_route_only'], justification: 'Drivers see their own route' },
    { type: 'requires', action: 'action:view_route', condition: 'access_logged', justification: 'Every look at a position is logged' },
    { type: 'requires', action: 'action:share_location', condition: 'encrypted_channel', justification: 'Positions travel encrypted' },
    { type: 'requires', subject: 'actor:dispatch_bot', action: 'action:log_incident', condition: 'dispatcher_countersigns', justification: 'A person signs every incident report' },
  ],
  constraints: [{ name: 'driving_hours', condition: 'hours_today > 9', action: 'deny_and_alert', justification: 'Rest rules' }],
  audit_requirements: { log_every_decision: true, keep_days: 1000 },
  radio_controls: { channel: 'ops-2', push_to_talk: true },
  metadata: { owner: 'Acme fleet office', reviewed: '2025-12-01' },
};

/** The `to_dict` export shape: full field names, `metadata: {}` on terms and relations, nulls, ids as exported. */
const LEGACY_SHAPES_EXPORT: Doc = {
  mode: 'strict',
  terms: [
    { term_id: 'actor:dispatcher', term_type: 'actor', label: 'Dispatcher', description: 'Person in the dispatch office', metadata: {} },
    { term_id: 'actor:route_planner', term_type: 'actor', label: 'Route Planner', description: 'Automated route planning agent', value: null, metadata: {} },
    { term_id: 'action:plan', term_type: 'action', label: 'Plan Route', description: 'Draft a delivery route', metadata: {} },
    { term_id: 'action:publish', term_type: 'action', label: 'Publish Route', description: 'Send a route to the drivers', metadata: {} },
    { term_id: 'action:lookup', term_type: 'action', label: 'Look Up Address', description: 'Geocode a delivery address', metadata: {} },
    { term_id: 'data:home_address', term_type: 'data_class', label: 'Home Address', description: 'Where recipients live', value: null, metadata: {} },
  ],
  relations: [
    { relation_id: 'permits:actor:dispatcher:action:plan', relation_type: 'permits', source: 'actor:dispatcher', target: 'action:plan', conditions: [], metadata: {} },
    { relation_id: 'permits:actor:dispatcher:action:publish', relation_type: 'permits', source: 'actor:dispatcher', target: 'action:publish', conditions: [], metadata: {} },
    { relation_id: 'permits:actor:route_planner:action:lookup', relation_type: 'permits', source: 'actor:route_planner', target: 'action:lookup', object: null, conditions: [], justification: null, metadata: {} },
    { relation_id: 'forbids:actor:route_planner:action:publish', relation_type: 'forbids', source: 'actor:route_planner', target: 'action:publish', conditions: [], metadata: {} },
  ],
};

describe("whole documents in the original Lexecon's shapes", () => {
  const ignored = (path: string, what = 'term') => ({
    path,
    message: `is not a ${what === 'top' ? 'policy document' : what} field; ignored`,
  });
  const implicitWarning = (path: string, id: string, type: string) => ({
    path,
    message: `term "${id}" is not defined; treated as an implicit ${type} term`,
  });
  const TOP = ['$.audit_requirements', '$.compliance_frameworks', '$.constraints'];

  it.each([
    ['warehouse', LEGACY_SHAPES_WAREHOUSE, 'acme-logistics-warehouse-robots-policy', 'strict', 11, 7],
    ['billing', LEGACY_SHAPES_BILLING, 'acme-logistics-freight-billing-policy', 'strict', 12, 8],
    ['customs', LEGACY_SHAPES_CUSTOMS, 'acme-logistics-customs-clearance-policy', 'strict', 11, 10],
    ['dispatch', LEGACY_SHAPES_DISPATCH, 'acme-logistics-driver-dispatch-policy', 'paranoid', 12, 9],
  ])('the %s document loads with no problems, every term and relation kept', (_, input, policyId, mode, terms, relations) => {
    const outcome = loadPolicyDocument(input);
    expect(outcome.ok ? [] : outcome.problems).toEqual([]);
    const out = loaded(input);
    expect(out.policy).toMatchObject({ policy_id: policyId, name: input['name'], version: '2.3.0', mode });
    expect(out.policy.terms.filter((t) => !t.implicit)).toHaveLength(terms);
    expect(out.policy.relations).toHaveLength(relations);
    // Every warning is an ignored key, an implicit term or a three-field requires; nothing ignored reaches the policy.
    for (const w of out.warnings) {
      expect(w.message).toMatch(/; ignored$|^term ".*" is not defined; treated as an implicit |^requires with subject and action: /);
    }
    const json = canonicalize(out.policy);
    for (const key of ['sensitivity', 'compliance_frameworks', 'constraints', 'audit_requirements', 'requires_', 'hold_days', 'keep_days']) {
      expect(json).not.toContain(key);
    }
    expect(loaded(structuredClone(input)).versionHash).toBe(out.versionHash);
  });

  it('warehouse: warnings, and the one-ended requires with its singular condition as the requirement', () => {
    const out = loaded(LEGACY_SHAPES_WAREHOUSE);
    expect(out.warnings).toEqual([
      ...TOP.map((p) => ignored(p, 'top')),
      implicitWarning('$.relations[2].object', 'data:returns_labels', 'data_class'),
      implicitWarning('$.relations[6].condition', 'weighbridge_reading_recorded', 'context'),
      ignored('$.terms[8].sensitivity'),
      ignored('$.terms[9].requires_badge'),
      ignored('$.terms[9].sensitivity'),
      ignored('$.terms[10].sensitivity'),
    ]);
    expect(out.policy.relations.find((r) => r.relation_type === 'requires')).toEqual(
      normRel(
        'requires:action:print_manifest->weighbridge_reading_recorded',
        'requires',
        'action:print_manifest',
        'weighbridge_reading_recorded',
        { justification: 'A manifest states the measured weight' },
      ),
    );
    expect(out.policy.terms.find((t) => t.term_id === 'weighbridge_reading_recorded')).toEqual(
      implicitTerm('weighbridge_reading_recorded', 'context'),
    );
    expect(out.policy.relations.find((r) => r.relation_id === 'forbids:actor:forklift_bot->action:reroute_truck')?.conditions).toEqual([
      'after_cutoff',
    ]);
  });

  it('billing: implicit actions typed by prefix, three one-ended requires', () => {
    const out = loaded(LEGACY_SHAPES_BILLING);
    expect(out.warnings.filter((w) => !w.message.endsWith('; ignored'))).toEqual([
      implicitWarning('$.relations[2].action', 'action:export_bank_details', 'action'),
      implicitWarning('$.relations[3].action', 'action:compare_lanes', 'action'),
      implicitWarning('$.relations[4].action', 'action:draft_credit_note', 'action'),
      implicitWarning('$.relations[4].object', 'data:invoice_drafts', 'data_class'),
      implicitWarning('$.relations[5].condition', 'two_person_signoff', 'context'),
      implicitWarning('$.relations[6].condition', 'ticket_reference_present', 'context'),
      implicitWarning('$.relations[7].condition', 'ledger_entry_written', 'context'),
    ]);
    expect(out.warnings.filter((w) => w.message.endsWith('; ignored')).map((w) => w.path)).toEqual([
      ...TOP,
      '$.terms[9].requires_masking',
      '$.terms[9].sensitivity',
      '$.terms[10].append_only',
      '$.terms[10].sensitivity',
      '$.terms[11].sensitivity',
      '$.vendor_reviews',
    ]);
    expect(
      out.policy.relations.filter((r) => r.relation_type === 'requires').map((r) => [r.source, r.target, r.conditions]),
    ).toEqual([
      ['action:adjust_invoice', 'ledger_entry_written', []],
      ['action:export_bank_details', 'ticket_reference_present', []],
      ['action:pay_carrier', 'two_person_signoff', []],
    ]);
  });

  it('customs: implicit terms only for the requirements, a one-ended requires with an object', () => {
    const out = loaded(LEGACY_SHAPES_CUSTOMS);
    expect(out.warnings.filter((w) => !w.message.endsWith('; ignored'))).toEqual([
      implicitWarning('$.relations[8].condition', 'declaration_lodged', 'context'),
      implicitWarning('$.relations[9].condition', 'duty_paid', 'context'),
    ]);
    expect(out.warnings.filter((w) => w.path.startsWith('$.terms[7].'))).toEqual([
      ignored('$.terms[7].hold_days'),
      ignored('$.terms[7].requires_consent'),
      ignored('$.terms[7].sensitivity'),
    ]);
    expect(out.warnings).toHaveLength(15);
    expect(out.policy.relations.filter((r) => r.relation_type === 'requires')).toEqual([
      normRel('requires:action:classify->declaration_lodged:data:consignee_identity', 'requires', 'action:classify', 'declaration_lodged', {
        object: 'data:consignee_identity',
        justification: 'Classify only what has been declared',
      }),
      normRel('requires:action:release->duty_paid', 'requires', 'action:release', 'duty_paid', {
        justification: 'No release before duty is paid',
      }),
    ]);
  });

  it('dispatch: one-ended and three-field (subject, action, condition) requires side by side', () => {
    const out = loaded(LEGACY_SHAPES_DISPATCH);
    expect(out.warnings.filter((w) => !w.message.endsWith('; ignored'))).toEqual([
      implicitWarning('$.relations[6].condition', 'access_logged', 'context'),
      implicitWarning('$.relations[7].condition', 'encrypted_channel', 'context'),
      implicitWarning('$.relations[8].condition', 'dispatcher_countersigns', 'context'),
      {
        path: '$.relations[8].subject',
        message:
          'requires with subject and action: its conditions are required of "action:log_incident" for every actor, ' +
          'not only "actor:dispatch_bot" (a requirement applies to one term)',
      },
    ]);
    expect(out.warnings.filter((w) => w.path.split('.').length === 2).map((w) => w.path)).toEqual([...TOP, '$.radio_controls']);
    expect(out.warnings).toHaveLength(16);
    // "dispatch_bot doing log_incident requires dispatcher_countersigns": the condition is the requirement,
    // of the action. (Read as requires(dispatch_bot, log_incident), every action of the bot would have
    // needed context.log_incident.)
    expect(
      out.policy.relations.filter((r) => r.relation_type === 'requires').map((r) => [r.relation_id, r.source, r.target, r.conditions]),
    ).toEqual([
      ['requires:action:log_incident->dispatcher_countersigns', 'action:log_incident', 'dispatcher_countersigns', []],
      ['requires:action:share_location->encrypted_channel', 'action:share_location', 'encrypted_channel', []],
      ['requires:action:view_route->access_logged', 'action:view_route', 'access_logged', []],
    ]);
    const compiled = compilePolicy(out.policy);
    const bot = (action: string, context: Record<string, unknown> = {}) =>
      evaluate(compiled, { actor: 'dispatch_bot', action, data_classes: ['aggregated_routes'], context }).outcome;
    expect(bot('assign_load')).toBe('approved'); // other actions of the bot need nothing
    expect(bot('log_incident')).toBe('denied');
  });

  it('keeps our own requires(source, target) with conditions as it is (only the original three-field shape is read so)', () => {
    const out = loaded(
      doc([actor('actor:a'), action('action:x'), { term_id: 'ctx', term_type: 'context' }], [
        { type: 'requires', source: 'actor:a', target: 'ctx', conditions: ['note'] },
      ]),
    );
    expect(out.policy.relations.map((r) => [r.relation_id, r.source, r.target, r.conditions])).toEqual([
      ['requires:actor:a->ctx', 'actor:a', 'ctx', ['note']],
    ]);
    expect(out.warnings).toEqual([]);
  });

  it('the to_dict export shape loads with no warnings, its relation ids kept', () => {
    const out = loaded({ policy_id: 'acme-export', ...LEGACY_SHAPES_EXPORT });
    expect(out.warnings).toEqual([]);
    expect(out.policy.terms.map((t) => [t.term_id, t.term_type, t.label])).toEqual([
      ['action:lookup', 'action', 'Look Up Address'],
      ['action:plan', 'action', 'Plan Route'],
      ['action:publish', 'action', 'Publish Route'],
      ['actor:dispatcher', 'actor', 'Dispatcher'],
      ['actor:route_planner', 'actor', 'Route Planner'],
      ['data:home_address', 'data_class', 'Home Address'],
    ]);
    expect(out.policy.relations.map((r) => r.relation_id)).toEqual([
      'forbids:actor:route_planner:action:publish',
      'permits:actor:dispatcher:action:plan',
      'permits:actor:dispatcher:action:publish',
      'permits:actor:route_planner:action:lookup',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The document header
// ---------------------------------------------------------------------------------------------------------

describe('the document', () => {
  it.each([
    ['an array', []],
    ['null', null],
    ['a string', 'policy'],
    ['a number', 42],
  ])('rejects %s at $', (_, input) => {
    expect(problemsOf(input)).toEqual([{ path: '$', message: 'must be an object' }]);
  });

  it('requires terms and relations, as arrays', () => {
    expect(problemsOf({ policy_id: 'p' })).toEqual([
      { path: '$.relations', message: 'is required' },
      { path: '$.terms', message: 'is required' },
    ]);
    expect(problemsOf({ policy_id: 'p', terms: {}, relations: 'x' })).toEqual([
      { path: '$.relations', message: 'must be an array' },
      { path: '$.terms', message: 'must be an array' },
    ]);
  });

  it('loads empty terms and relations', () => {
    expect(loaded(doc([], [])).policy).toEqual({ policy_id: 'p', name: 'p', version: null, mode: 'strict', terms: [], relations: [] });
  });

  it('ignores unknown top-level fields with a warning each at its path, leaving policy and hash unchanged', () => {
    const plain = loaded(SEED);
    const out = loaded({ ...SEED, compliance_frameworks: ['ACME-OPS-12'], constraints: [{ condition: 'x' }], audit_requirements: {}, 'odd key': 1 });
    expect(out.warnings).toEqual([
      { path: '$.audit_requirements', message: 'is not a policy document field; ignored' },
      { path: '$.compliance_frameworks', message: 'is not a policy document field; ignored' },
      { path: '$.constraints', message: 'is not a policy document field; ignored' },
      { path: '$["odd key"]', message: 'is not a policy document field; ignored' },
      ...plain.warnings,
    ]);
    expect(out.policy).toEqual(plain.policy);
    expect(out.versionHash).toBe(plain.versionHash);
  });

  it('still rejects an ignored field that holds no JSON value', () => {
    expect(problemsOf({ ...SEED, extra: { when: new Date(0) } })).toEqual([{ path: '$.extra.when', message: 'is not a JSON value' }]);
  });

  it('accepts and ignores description, metadata, created_at, author, $schema', () => {
    const plain = loaded(SEED);
    const decorated = loaded({
      ...SEED,
      description: 'anything',
      metadata: { any: ['thing'] },
      created_at: '2026-01-01T00:00:00Z',
      author: { name: 'someone' },
      $schema: 'https://example.com/policy.schema.json',
    });
    expect(decorated.policy).toEqual(plain.policy);
    expect(decorated.versionHash).toBe(plain.versionHash);
  });

  describe('policy_id', () => {
    it.each(['p', 'P1', 'org.team:policy-v2_final', '9', 'a'.repeat(128)])('accepts %j', (id) => {
      expect(loaded(doc([], [], { policy_id: id })).policy.policy_id).toBe(id);
    });

    it.each(['', '-leading', '.leading', 'has space', 'slash/no', 'ü', 'a'.repeat(129), 'tab\t'])('rejects %j', (id) => {
      expect(problemsOf(doc([], [], { policy_id: id }))).toEqual([
        {
          path: '$.policy_id',
          message: 'must be 1–128 characters (letters, digits, ".", "_", ":", "-"), starting with a letter or digit',
        },
      ]);
    });

    it('rejects a non-string', () => {
      expect(problemsOf(doc([], [], { policy_id: 7 }))).toEqual([{ path: '$.policy_id', message: 'must be a string' }]);
    });

    it.each([
      ['Acme Yard Policy', 'acme-yard-policy'],
      ['  Hello, World!  ', 'hello-world'],
      ['Already-fine.id_1', 'already-fine.id_1'],
      ['__x__', 'x__'],
      ['Ünïcode Pölicy', 'n-code-p-licy'],
      ['a:b', 'a-b'],
      ['x'.repeat(200), 'x'.repeat(128)],
      [`${'y'.repeat(127)} z`, 'y'.repeat(127)],
    ])('derives %j from name %j', (name, id) => {
      const out = loaded({ name, terms: [], relations: [] });
      expect(out.policy.policy_id).toBe(id);
      expect(out.policy.name).toBe(name);
    });

    it('keeps an explicit policy_id over the name', () => {
      expect(loaded({ policy_id: 'explicit', name: 'Some Name', terms: [], relations: [] }).policy).toMatchObject({
        policy_id: 'explicit',
        name: 'Some Name',
      });
    });

    it('derives a stable id from the content when there is neither policy_id nor name, and warns', () => {
      const document = { terms: [{ id: 'actor:a', type: 'actor' }], relations: [], mode: 'strict' };
      const out = loaded(document);
      const id = `pol-${sha256Hex(canonicalize(document)).slice(0, 16)}`;
      expect(out.policy).toMatchObject({ policy_id: id, name: id });
      expect(POLICY_ID_PATTERN.test(id)).toBe(true);
      expect(out.warnings).toEqual([
        {
          path: '$.policy_id',
          message: `the document has neither policy_id nor name: derived "${id}" from the document's content (SHA-256 of its canonical JSON); give policy_id to choose one`,
        },
      ]);
      // Same content, same id: key order does not matter…
      expect(loaded({ mode: 'strict', relations: [], terms: [{ type: 'actor', id: 'actor:a' }] }).policy.policy_id).toBe(id);
      // …other content, another id.
      expect(loaded({ ...document, mode: 'permissive' }).policy.policy_id).not.toBe(id);
    });

    it('derives the id from the content when none can be derived from the name, and says so', () => {
      const out = loaded({ name: '!!! ???', terms: [], relations: [] });
      expect(out.policy.policy_id).toMatch(/^pol-[0-9a-f]{16}$/);
      expect(out.policy.name).toBe('!!! ???');
      expect(out.warnings).toEqual([
        {
          path: '$.policy_id',
          message: `no usable id can be derived from name "!!! ???": derived "${out.policy.policy_id}" from the document's content (SHA-256 of its canonical JSON); give policy_id to choose one`,
        },
      ]);
    });
  });

  describe('name', () => {
    it('defaults to policy_id and is kept verbatim (not trimmed)', () => {
      expect(loaded(doc([], [])).policy.name).toBe('p');
      expect(loaded(doc([], [], { name: '  Spaced  Name ' })).policy.name).toBe('  Spaced  Name ');
    });

    it.each([
      ['', 'must not be empty'],
      ['n'.repeat(201), 'must be at most 200 characters'],
      [5, 'must be a string'],
    ])('rejects %j', (name, message) => {
      expect(problemsOf(doc([], [], { name }))).toEqual([{ path: '$.name', message }]);
    });

    it('accepts 200 characters', () => {
      expect(loaded(doc([], [], { name: 'n'.repeat(200) })).policy.name).toHaveLength(200);
    });
  });

  describe('version', () => {
    it.each([
      ['1.2.3', '1.2.3'],
      [' v1 ', ' v1 '],
      [2, '2'],
      [1.5, '1.5'],
      [null, null],
      [undefined, null],
      ['v'.repeat(64), 'v'.repeat(64)],
    ])('normalizes %j to %j', (version, expected) => {
      expect(loaded(doc([], [], { version })).policy.version).toBe(expected);
    });

    it.each([
      [true, 'must be a string or a number'],
      [['1'], 'must be a string or a number'],
      ['', 'must not be empty'],
      ['v'.repeat(65), 'must be at most 64 characters'],
    ])('rejects %j', (version, message) => {
      expect(problemsOf(doc([], [], { version }))).toEqual([{ path: '$.version', message }]);
    });
  });

  describe('mode', () => {
    it.each([
      ['strict', 'strict'],
      ['PERMISSIVE', 'permissive'],
      ['Paranoid', 'paranoid'],
      [undefined, 'strict'],
      [null, 'strict'],
    ])('normalizes %j to %s', (mode, expected) => {
      expect(loaded(doc([], [], { mode })).policy.mode).toBe(expected);
    });

    it.each([
      ['lenient', 'must be one of strict, permissive, paranoid'],
      ['', 'must be one of strict, permissive, paranoid'],
      [' strict', 'must be one of strict, permissive, paranoid'],
      [1, 'must be a string'],
    ])('rejects %j', (mode, message) => {
      expect(problemsOf(doc([], [], { mode }))).toEqual([{ path: '$.mode', message }]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Terms
// ---------------------------------------------------------------------------------------------------------

describe('terms', () => {
  it('normalizes every field, keeps strings verbatim, sorts by term_id (UTF-16 order)', () => {
    const out = loaded(
      doc(
        [
          { term_id: 'b', term_type: 'action', value: ' read:* ', label: ' Read ', description: ' d ', metadata: { x: [1, { y: null }] } },
          { term_id: 'B', term_type: 'actor' },
          { term_id: 'a', term_type: 'actor' },
          { term_id: 'é', term_type: 'actor' },
          { term_id: 'Z', term_type: 'actor' },
          { term_id: '_', term_type: 'actor' },
        ],
        [],
      ),
    );
    expect(out.policy.terms.map((t) => t.term_id)).toEqual(['B', 'Z', '_', 'a', 'b', 'é']);
    expect(out.policy.terms[4]).toEqual(
      term('b', 'action', { value: ' read:* ', label: ' Read ', description: ' d ', metadata: { x: [1, { y: null }] } }),
    );
  });

  it.each([
    ['actor', 'actor'],
    ['Actor', 'actor'],
    ['ACTION', 'action'],
    ['resource', 'resource'],
    ['Context', 'context'],
    ['data_class', 'data_class'],
    ['DATA_CLASS', 'data_class'],
    ['data', 'data_class'],
    ['Data', 'data_class'],
    ['dataclass', 'data_class'],
    ['data-class', 'data_class'],
    ['DataClass', 'data_class'],
  ])('accepts term_type %j as %s', (type, expected) => {
    expect(loaded(doc([{ term_id: 't', term_type: type }], [])).policy.terms[0]?.term_type).toBe(expected);
    expect(loaded(doc([{ id: 't', type }], [])).policy.terms[0]?.term_type).toBe(expected);
  });

  it.each(['user', 'actors', 'data class', 'data_', '', 'constructor'])('rejects term_type %j', (type) => {
    expect(problemsOf(doc([{ term_id: 't', term_type: type }], []))).toEqual([
      { path: '$.terms[0].term_type', message: 'must be one of actor, action, resource, data_class, context' },
    ]);
    expect(problemsOf(doc([{ id: 't', type }], []))).toEqual([
      { path: '$.terms[0].type', message: 'must be one of actor, action, resource, data_class, context' },
    ]);
  });

  it('rejects a non-string term_type', () => {
    expect(problemsOf(doc([{ term_id: 't', term_type: 3 }], []))).toEqual([
      { path: '$.terms[0].term_type', message: 'must be a string' },
    ]);
  });

  it('requires term_id (or id) and term_type (or type)', () => {
    expect(problemsOf(doc([{ term_type: 'actor' }, { term_id: 'x' }, {}], []))).toEqual([
      { path: '$.terms[0].term_id', message: 'term_id (or id) is required' },
      { path: '$.terms[1].term_type', message: 'term_type (or type) is required' },
      { path: '$.terms[2].term_id', message: 'term_id (or id) is required' },
      { path: '$.terms[2].term_type', message: 'term_type (or type) is required' },
    ]);
  });

  it.each([
    ['', 'must not be empty'],
    ['x'.repeat(256), 'must be at most 255 characters'],
    ['tab\there', 'must not contain control characters'],
    ['nl\n', 'must not contain control characters'],
    ['del\u007f', 'must not contain control characters'],
  ])('rejects term_id %j', (id, message) => {
    expect(problemsOf(doc([actor(id)], []))).toEqual([{ path: '$.terms[0].term_id', message }]);
    expect(problemsOf(doc([{ id, type: 'actor' }], []))).toEqual([{ path: '$.terms[0].id', message }]);
  });

  it('accepts a 255-character term_id and any printable characters', () => {
    const ids = ['actor:ai agent/ü*?', 'x'.repeat(255)];
    expect(loaded(doc(ids.map((id) => actor(id)), [])).policy.terms.map((t) => t.term_id)).toEqual(ids);
  });

  it('accepts term_id and id when equal, rejects them when different', () => {
    expect(loaded(doc([{ term_id: 'a', id: 'a', term_type: 'actor' }], [])).policy.terms[0]?.term_id).toBe('a');
    expect(problemsOf(doc([{ term_id: 'a', id: 'b', term_type: 'actor' }], []))).toEqual([
      { path: '$.terms[0].id', message: '"b" conflicts with term_id "a": give one of them' },
    ]);
  });

  it('rejects term_type/type and label/name that differ', () => {
    expect(problemsOf(doc([{ term_id: 'a', term_type: 'actor', type: 'action', label: 'A', name: 'B' }], []))).toEqual([
      { path: '$.terms[0].name', message: '"B" conflicts with label "A": give one of them' },
      { path: '$.terms[0].type', message: '"action" conflicts with term_type "actor": give one of them' },
    ]);
  });

  it.each([
    ['', 'must not be empty'],
    ['v'.repeat(256), 'must be at most 255 characters'],
    ['ai_agent:\u0000', 'must not contain control characters'],
  ])('rejects value %j (globProblem)', (value, message) => {
    expect(problemsOf(withTerm({ value }))).toEqual([{ path: '$.terms[0].value', message }]);
  });

  it('accepts glob values', () => {
    expect(loaded(withTerm({ value: '*' })).policy.terms.find((t) => t.term_id === 'a')?.value).toBe('*');
  });

  it.each([
    [{ value: 5 }, '$.terms[0].value', 'must be a string'],
    [{ label: 'l'.repeat(256) }, '$.terms[0].label', 'must be at most 255 characters'],
    [{ label: false }, '$.terms[0].label', 'must be a string'],
    [{ name: 'l'.repeat(256) }, '$.terms[0].name', 'must be at most 255 characters'],
    [{ description: 'd'.repeat(2001) }, '$.terms[0].description', 'must be at most 2000 characters'],
    [{ description: ['x'] }, '$.terms[0].description', 'must be a string'],
    [{ metadata: [] }, '$.terms[0].metadata', 'must be an object'],
    [{ metadata: 'x' }, '$.terms[0].metadata', 'must be an object'],
    [{ metadata: { risk: null } }, '$.terms[0].metadata.risk', 'must be an object'],
    [{ metadata: { risk: [80] } }, '$.terms[0].metadata.risk', 'must be an object'],
    [{ metadata: { risk: { privacy: 101 } } }, '$.terms[0].metadata.risk.privacy', 'must be an integer from 0 to 100'],
    [{ metadata: { risk: { security: -1 } } }, '$.terms[0].metadata.risk.security', 'must be an integer from 0 to 100'],
    [{ metadata: { risk: { financial: 1.5 } } }, '$.terms[0].metadata.risk.financial', 'must be an integer from 0 to 100'],
    [{ metadata: { risk: { compliance: '50' } } }, '$.terms[0].metadata.risk.compliance', 'must be an integer from 0 to 100'],
    [
      { metadata: { risk: { legal: 50 } } },
      '$.terms[0].metadata.risk.legal',
      'is not a risk dimension (security, privacy, compliance, operational, reputational, financial)',
    ],
  ])('rejects %j at %s', (extra, path, message) => {
    expect(problemsOf(withTerm(extra))).toEqual([{ path, message }]);
  });

  it('ignores unknown term fields with a warning each at its path, leaving policy and hash unchanged', () => {
    const plain = loaded(withTerm({}));
    const out = loaded(withTerm({ sensitivity: 'high', requires_consent: true, relation_type: 'permits', retention: { days: 730 } }));
    expect(out.warnings).toEqual([
      { path: '$.terms[0].relation_type', message: 'is not a term field; ignored' },
      { path: '$.terms[0].requires_consent', message: 'is not a term field; ignored' },
      { path: '$.terms[0].retention', message: 'is not a term field; ignored' },
      { path: '$.terms[0].sensitivity', message: 'is not a term field; ignored' },
    ]);
    expect(out.policy).toEqual(plain.policy);
    expect(out.versionHash).toBe(plain.versionHash);
  });

  it('ignores an unknown field even when it is the only problem-looking thing about a term, but keeps rejecting bad known fields', () => {
    expect(problemsOf(withTerm({ sensitivity: 'high', term_type: 'user' }))).toEqual([
      { path: '$.terms[0].term_type', message: 'must be one of actor, action, resource, data_class, context' },
    ]);
  });

  it('accepts label/description at their limits and empty ones (the original exports "")', () => {
    const out = loaded(withTerm({ label: 'l'.repeat(255), description: 'd'.repeat(2000) }));
    expect(out.policy.terms.find((t) => t.term_id === 'a')).toMatchObject({ label: 'l'.repeat(255), description: 'd'.repeat(2000) });
    expect(loaded(withTerm({ label: '', description: '' })).policy.terms.find((t) => t.term_id === 'a')).toMatchObject({
      label: '',
      description: '',
    });
  });

  it('keeps metadata, including every risk dimension at 0 and 100', () => {
    const metadata = {
      owner: 'team-a',
      risk: { security: 0, privacy: 100, compliance: 50, operational: 1, reputational: 99, financial: 42 },
    };
    expect(loaded(withTerm({ metadata })).policy.terms.find((t) => t.term_id === 'a')?.metadata).toEqual(metadata);
  });

  it('copies metadata: the policy does not share objects with the input', () => {
    const input = withTerm({ metadata: { nested: { n: 1 } } });
    const out = loaded(input);
    const metadata = out.policy.terms.find((t) => t.term_id === 'a')?.metadata as { nested: { n: number } };
    metadata.nested.n = 2;
    expect(((input['terms'] as Doc[])[0]?.['metadata'] as { nested: { n: number } }).nested.n).toBe(1);
  });

  it('rejects duplicate term_ids at each repeat', () => {
    expect(problemsOf(doc([actor('a'), action('b'), { id: 'a', type: 'action' }, actor('a')], []))).toEqual([
      { path: '$.terms[2].id', message: 'duplicate term_id "a" (first defined at $.terms[0])' },
      { path: '$.terms[3].term_id', message: 'duplicate term_id "a" (first defined at $.terms[0])' },
    ]);
  });

  it('treats term ids as case-sensitive', () => {
    expect(loaded(doc([actor('a'), actor('A')], [])).policy.terms).toHaveLength(2);
  });

  it.each([
    [7, 'must be an object'],
    ['actor:a', 'must be an object'],
    [null, 'must be an object'],
    [[], 'must be an object'],
  ])('rejects the element %j', (element, message) => {
    expect(problemsOf(doc([actor('a'), element], []))).toEqual([{ path: '$.terms[1]', message }]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Relations
// ---------------------------------------------------------------------------------------------------------

describe('relations', () => {
  it.each([
    ['permits', 'permits'],
    ['Permits', 'permits'],
    ['permit', 'permits'],
    ['FORBIDS', 'forbids'],
    ['forbid', 'forbids'],
    ['requires', 'requires'],
    ['Require', 'requires'],
    ['implies', 'implies'],
    ['imply', 'implies'],
    ['conflicts', 'conflicts'],
    ['CONFLICT', 'conflicts'],
  ])('accepts relation_type %j as %s', (type, expected) => {
    const out = loaded(doc([action('x'), action('y')], [{ type, source: 'x', target: 'y' }]));
    expect(out.policy.relations[0]).toMatchObject({ relation_type: expected, relation_id: `${expected}:x->y` });
  });

  it.each(['allows', 'deny', '', 'permitss', 'toString'])('rejects relation_type %j', (type) => {
    expect(problemsOf(withRelation({ relation_type: type }))).toEqual([
      { path: '$.relations[0].relation_type', message: 'must be one of permits, forbids, requires, implies, conflicts' },
    ]);
  });

  it('requires relation_type, source and target under any alias', () => {
    expect(problemsOf(doc([], [{}, { type: 'permits', subject: 'a' }, { type: 'permits', action: 'b' }]))).toEqual([
      { path: '$.relations[0].relation_type', message: 'relation_type (or type) is required' },
      { path: '$.relations[0].source', message: 'source (or subject, source_term_id) is required' },
      { path: '$.relations[0].target', message: 'target (or action, target_term_id) is required' },
      { path: '$.relations[1].target', message: 'target (or action, target_term_id) is required' },
      { path: '$.relations[2].source', message: 'source (or subject, source_term_id) is required' },
    ]);
  });

  it('rejects aliases that disagree', () => {
    const relation = {
      relation_type: 'permits',
      type: 'forbids',
      source: 'a',
      subject: 'a',
      source_term_id: 'z',
      target: 'b',
      action: 'c',
      relation_id: 'r',
      id: 's',
    };
    expect(problemsOf(doc([actor('a'), action('b')], [relation]))).toEqual([
      { path: '$.relations[0].action', message: '"c" conflicts with target "b": give one of them' },
      { path: '$.relations[0].id', message: '"s" conflicts with relation_id "r": give one of them' },
      { path: '$.relations[0].source_term_id', message: '"z" conflicts with source "a": give one of them' },
      { path: '$.relations[0].type', message: '"forbids" conflicts with relation_type "permits": give one of them' },
    ]);
  });

  it.each([
    [{ source: '' }, '$.relations[0].source', 'must not be empty'],
    [{ source: 'x'.repeat(256) }, '$.relations[0].source', 'must be at most 255 characters'],
    [{ target: 'b\n' }, '$.relations[0].target', 'must not contain control characters'],
    [{ target: 5 }, '$.relations[0].target', 'must be a string'],
    [{ object: '' }, '$.relations[0].object', 'must not be empty'],
    [{ object: {} }, '$.relations[0].object', 'must be a string'],
    [{ relation_id: '' }, '$.relations[0].relation_id', 'must not be empty'],
    [{ relation_id: 'r'.repeat(256) }, '$.relations[0].relation_id', 'must be at most 255 characters'],
    [{ relation_id: 'r\u0001' }, '$.relations[0].relation_id', 'must not contain control characters'],
    [{ id: 12 }, '$.relations[0].id', 'must be a string'],
    [{ conditions: 'redact:pii' }, '$.relations[0].conditions', 'must be an array'],
    [{ conditions: ['a', 'b', 3] }, '$.relations[0].conditions[2]', 'must be a string'],
    [{ conditions: ['a', ''] }, '$.relations[0].conditions[1]', 'must not be empty'],
    [{ conditions: ['c'.repeat(257)] }, '$.relations[0].conditions[0]', 'must be at most 256 characters'],
    [
      { conditions: Array.from({ length: 65 }, (_, i) => `c${i}`) },
      '$.relations[0].conditions',
      'must have at most 64 conditions (has 65)',
    ],
    [{ justification: 'j'.repeat(2001) }, '$.relations[0].justification', 'must be at most 2000 characters'],
    [{ justification: 1 }, '$.relations[0].justification', 'must be a string'],
    [{ metadata: [] }, '$.relations[0].metadata', 'must be an object'],
    [{ condition: '' }, '$.relations[0].condition', 'must not be empty'],
    [{ condition: 'c'.repeat(257) }, '$.relations[0].condition', 'must be at most 256 characters'],
    [{ condition: ['legal_basis'] }, '$.relations[0].condition', 'must be a string'],
    [{ condition: 'x', conditions: ['y'] }, '$.relations[0].condition', 'give condition or conditions, not both'],
    [{ condition: 'x', conditions: [] }, '$.relations[0].condition', 'give condition or conditions, not both'],
  ])('rejects %j at %s', (extra, path, message) => {
    expect(problemsOf(withRelation(extra))).toEqual([{ path, message }]);
  });

  it('ignores unknown relation fields with a warning each at its path, leaving policy and hash unchanged', () => {
    const plain = loaded(withRelation({}));
    const out = loaded(withRelation({ effect: 'allow', term_id: 'x', weight: 3 }));
    expect(out.warnings).toEqual([
      { path: '$.relations[0].effect', message: 'is not a relation field; ignored' },
      { path: '$.relations[0].term_id', message: 'is not a relation field; ignored' },
      { path: '$.relations[0].weight', message: 'is not a relation field; ignored' },
    ]);
    expect(out.policy).toEqual(plain.policy);
    expect(out.versionHash).toBe(plain.versionHash);
  });

  it('reads condition (the original singular string) as conditions: [condition], same policy and hash', () => {
    const out = loaded(withRelation({ condition: 'legal_basis' }));
    expect(out.warnings).toEqual([]);
    expect(out.policy.relations[0]).toEqual(normRel('permits:a->b', 'permits', 'a', 'b', { conditions: ['legal_basis'] }));
    expect(out.versionHash).toBe(hashOf(withRelation({ conditions: ['legal_basis'] })));
  });

  it('treats condition: null as absent, also next to conditions', () => {
    expect(loaded(withRelation({ condition: null })).policy.relations[0]?.conditions).toEqual([]);
    expect(loaded(withRelation({ condition: null, conditions: ['x'] })).policy.relations[0]?.conditions).toEqual(['x']);
    expect(loaded(withRelation({ condition: 'x', conditions: null })).policy.relations[0]?.conditions).toEqual(['x']);
  });

  it('reports every bad condition, even beyond the 64 limit', () => {
    const conditions = [...Array.from({ length: 64 }, (_, i) => `c${i}`), '', 7];
    expect(problemsOf(withRelation({ conditions }))).toEqual([
      { path: '$.relations[0].conditions', message: 'must have at most 64 conditions (has 66)' },
      { path: '$.relations[0].conditions[64]', message: 'must not be empty' },
      { path: '$.relations[0].conditions[65]', message: 'must be a string' },
    ]);
  });

  it('keeps conditions in the given order, without repeats, and accepts 64 of them', () => {
    const out = loaded(withRelation({ conditions: ['redact:pii', 'max_rows:100', 'redact:pii', ' x '] }));
    expect(out.policy.relations[0]?.conditions).toEqual(['redact:pii', 'max_rows:100', ' x ']);
    const many = Array.from({ length: 64 }, (_, i) => `c${i}`);
    expect(loaded(withRelation({ conditions: many })).policy.relations[0]?.conditions).toEqual(many);
  });

  it('keeps the justification verbatim and ignores relation metadata', () => {
    const out = loaded(withRelation({ justification: ' because ', metadata: { anything: true } }));
    expect(out.policy.relations[0]).toEqual(normRel('permits:a->b', 'permits', 'a', 'b', { justification: ' because ' }));
    expect(out.versionHash).toBe(hashOf(withRelation({ justification: ' because ' })));
  });

  it.each(['permits', 'forbids', 'requires'])('accepts object on %s', (type) => {
    const out = loaded(withRelation({ relation_type: type, object: 'd' }));
    expect(out.policy.relations[0]).toMatchObject({ object: 'd', relation_id: `${type}:a->b:d` });
  });

  it.each(['implies', 'conflicts'])('rejects object on %s', (type) => {
    expect(problemsOf(doc([action('x'), action('y'), dataClass('d')], [rel(type, 'x', 'y', { object: 'd' })]))).toEqual([
      {
        path: '$.relations[0].object',
        message: `object is only allowed on permits, forbids and requires relations, not on ${type}`,
      },
    ]);
  });

  it('accepts object: null on implies and conflicts', () => {
    expect(loaded(doc([action('x'), action('y')], [rel('implies', 'x', 'y', { object: null })])).policy.relations).toHaveLength(1);
  });

  it('rejects an object naming a defined term that is not a data_class', () => {
    expect(problemsOf(withRelation({ object: 'b' }))).toEqual([
      { path: '$.relations[0].object', message: 'object "b" must name a data_class term, not an action term' },
    ]);
    expect(
      problemsOf(doc([actor('a'), action('b'), { term_id: 'r', term_type: 'resource' }], [rel('forbids', 'a', 'b', { object: 'r' })])),
    ).toEqual([{ path: '$.relations[0].object', message: 'object "r" must name a data_class term, not a resource term' }]);
  });

  it('accepts an object naming a data_class term under any type spelling', () => {
    const out = loaded(doc([actor('a'), action('b'), { id: 'd', type: 'Data' }], [rel('permits', 'a', 'b', { object: 'd' })]));
    expect(out.warnings).toEqual([]);
  });

  it('rejects an object naming an implicit term that an earlier reference typed otherwise', () => {
    expect(
      problemsOf(doc([action('b')], [rel('permits', 'ghost', 'b'), rel('forbids', 'ghost', 'b', { object: 'ghost' })])),
    ).toEqual([{ path: '$.relations[1].object', message: 'object "ghost" must name a data_class term, not an actor term' }]);
  });

  it.each([
    [7, 'must be an object'],
    [[], 'must be an object'],
    [null, 'must be an object'],
  ])('rejects the element %j', (element, message) => {
    expect(problemsOf(doc([actor('a'), action('b')], [rel('permits', 'a', 'b'), element]))).toEqual([
      { path: '$.relations[1]', message },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Implicit terms
// ---------------------------------------------------------------------------------------------------------

describe('implicit terms', () => {
  const warning = (path: string, id: string, type: string) => ({
    path,
    message: `term "${id}" is not defined; treated as an implicit ${type} term`,
  });

  it('types undefined terms by position as the engine reads them: permits/forbids actor → action, requires action → context, conflicts action ↔ action, object data_class', () => {
    const out = loaded(
      doc(
        [],
        [
          rel('permits', 'agent', 'read', { object: 'pii' }),
          rel('forbids', 'bot', 'drop'),
          rel('requires', 'export', 'mfa_verified', { object: 'records' }),
          rel('conflicts', 'approve_payment', 'create_payment'),
          rel('implies', 'boss', 'write'),
        ],
      ),
    );
    expect(out.policy.terms).toEqual([
      implicitTerm('agent', 'actor'),
      implicitTerm('approve_payment', 'action'),
      implicitTerm('boss', 'action'),
      implicitTerm('bot', 'actor'),
      implicitTerm('create_payment', 'action'),
      implicitTerm('drop', 'action'),
      implicitTerm('export', 'action'),
      implicitTerm('mfa_verified', 'context'),
      implicitTerm('pii', 'data_class'),
      implicitTerm('read', 'action'),
      implicitTerm('records', 'data_class'),
      implicitTerm('write', 'action'),
    ]);
    expect(out.warnings).toEqual([
      warning('$.relations[0].object', 'pii', 'data_class'),
      warning('$.relations[0].source', 'agent', 'actor'),
      warning('$.relations[0].target', 'read', 'action'),
      warning('$.relations[1].source', 'bot', 'actor'),
      warning('$.relations[1].target', 'drop', 'action'),
      warning('$.relations[2].object', 'records', 'data_class'),
      warning('$.relations[2].source', 'export', 'action'),
      warning('$.relations[2].target', 'mfa_verified', 'context'),
      warning('$.relations[3].source', 'approve_payment', 'action'),
      warning('$.relations[3].target', 'create_payment', 'action'),
      warning('$.relations[4].source', 'boss', 'action'),
      warning('$.relations[4].target', 'write', 'action'),
    ]);
  });

  it('types an implies end as its other end when that is defined', () => {
    const out = loaded(doc([actor('admin'), dataClass('pii'), { term_id: 'mfa', term_type: 'context' }], [
      rel('implies', 'superuser', 'admin'),
      rel('implies', 'pii', 'sensitive'),
      rel('implies', 'mfa_hardware', 'mfa'),
    ]));
    expect(out.policy.terms.filter((t) => t.implicit)).toEqual([
      implicitTerm('mfa_hardware', 'context'),
      implicitTerm('sensitive', 'data_class'),
      implicitTerm('superuser', 'actor'),
    ]);
    expect(out.warnings).toEqual([
      warning('$.relations[0].source', 'superuser', 'actor'),
      warning('$.relations[1].target', 'sensitive', 'data_class'),
      warning('$.relations[2].source', 'mfa_hardware', 'context'),
    ]);
  });

  it('types an implies end as its other end when an earlier reference inferred it, or its prefix gives it', () => {
    const out = loaded(
      doc(
        [],
        [
          rel('permits', 'agent', 'read', { object: 'pii' }),
          rel('requires', 'read', 'mfa'),
          rel('implies', 'senior_agent', 'agent'),
          rel('implies', 'pii', 'gdpr_data'),
          rel('implies', 'mfa_hardware', 'mfa'),
          rel('implies', 'boss', 'actor:admin'),
          rel('implies', 'resource:db', 'backup'),
          rel('implies', 'action:x', 'actor:y'),
        ],
      ),
    );
    const types = Object.fromEntries(out.policy.terms.map((t) => [t.term_id, t.term_type]));
    expect(types).toEqual({
      agent: 'actor',
      read: 'action',
      pii: 'data_class',
      mfa: 'context',
      senior_agent: 'actor',
      gdpr_data: 'data_class',
      mfa_hardware: 'context',
      boss: 'actor',
      'actor:admin': 'actor',
      'resource:db': 'resource',
      backup: 'resource',
      'action:x': 'action',
      'actor:y': 'actor',
    });
    expect(out.warnings).toHaveLength(13);
  });

  it('gives implicit terms the types the engine matches them by (requires source and conflicts ends are actions)', () => {
    const out = loaded(
      doc(
        [actor('agent', { value: 'agent:*' })],
        [rel('requires', 'export', 'mfa'), rel('permits', 'agent', 'export'), rel('permits', 'agent', 'approve'), rel('conflicts', 'export', 'approve')],
      ),
    );
    const compiled = compilePolicy(out.policy);
    const decide = (request: { context?: Record<string, unknown>; session_approved_actions?: string[] }) =>
      evaluate(compiled, { actor: 'agent:1', action: 'export', ...request }).outcome;
    expect(decide({ context: { mfa: true } })).toBe('approved');
    expect(decide({})).toBe('denied');
    expect(decide({ context: { mfa: true }, session_approved_actions: ['approve'] })).toBe('denied');
  });

  it.each([
    ['actor:bot', 'target', 'actor'],
    ['action:read', 'source', 'action'],
    ['resource:db', 'source', 'resource'],
    ['data_class:pii', 'source', 'data_class'],
    ['data:pii', 'target', 'data_class'],
    ['context:mfa', 'source', 'context'],
    ['context:mfa', 'target', 'context'],
    ['Actor:bot', 'target', 'action'],
    ['actors:bot', 'source', 'actor'],
    ['actor', 'target', 'action'],
  ])('types %j at the %s by its prefix (else by position) as %s', (id, position, type) => {
    const other = position === 'source' ? { target: 'defined' } : { source: 'defined' };
    const out = loaded(doc([actor('defined')], [{ relation_type: 'permits', [position]: id, ...other }]));
    expect(out.policy.terms.find((t) => t.term_id === id)).toEqual(implicitTerm(id, type));
    expect(out.warnings).toEqual([warning(`$.relations[0].${position}`, id, type)]);
  });

  it('a prefix beats the requires-target rule', () => {
    const out = loaded(doc([], [rel('requires', 'action:export', 'actor:supervisor')]));
    expect(out.policy.terms).toEqual([implicitTerm('action:export', 'action'), implicitTerm('actor:supervisor', 'actor')]);
  });

  it('the first reference wins, with one warning at its path', () => {
    const out = loaded(
      doc([], [rel('permits', 'a', 'shared'), rel('permits', 'shared', 'b'), rel('requires', 'c', 'shared'), rel('forbids', 'a', 'b')]),
    );
    expect(out.policy.terms.find((t) => t.term_id === 'shared')).toEqual(implicitTerm('shared', 'action'));
    expect(out.warnings.filter((w) => w.message.includes('"shared"'))).toEqual([warning('$.relations[0].target', 'shared', 'action')]);
    expect(out.warnings).toHaveLength(4);
  });

  it('uses the path of the alias the reference was given under', () => {
    const out = loaded(doc([], [{ type: 'permits', subject: 's', action: 't' }, { type: 'permits', source_term_id: 'u', target_term_id: 'v' }]));
    expect(out.warnings.map((w) => w.path)).toEqual([
      '$.relations[0].action',
      '$.relations[0].subject',
      '$.relations[1].source_term_id',
      '$.relations[1].target_term_id',
    ]);
  });

  it('never makes a defined term implicit, wherever it is defined', () => {
    const out = loaded(doc([action('b'), actor('a')], [rel('permits', 'a', 'b'), rel('requires', 'b', 'a')]));
    expect(out.warnings).toEqual([]);
    expect(out.policy.terms.every((t) => !t.implicit)).toBe(true);
  });

  it('a term defined with problems is still defined: no implicit term, no warning, no follow-on problem', () => {
    expect(problemsOf(doc([{ term_id: 'd', term_type: 'datum' }, actor('a'), action('b')], [rel('permits', 'a', 'b', { object: 'd' })]))).toEqual([
      { path: '$.terms[0].term_type', message: 'must be one of actor, action, resource, data_class, context' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// One-ended requires (a shape of the original Lexecon's JSON): its conditions name the requirements; without
// conditions, the one end given is used for both
// ---------------------------------------------------------------------------------------------------------

describe('one-ended requires', () => {
  const contextWarning = (path: string, id: string) => ({
    path,
    message: `term "${id}" is not defined; treated as an implicit context term`,
  });

  it('makes the action (target) the source and its condition the requirement (target)', () => {
    const out = loaded(
      doc([action('action:ship_pallet')], [{ type: 'requires', action: 'action:ship_pallet', condition: 'manifest_signed', justification: 'j' }]),
    );
    expect(out.warnings).toEqual([contextWarning('$.relations[0].condition', 'manifest_signed')]);
    expect(out.policy.terms).toEqual([term('action:ship_pallet', 'action'), implicitTerm('manifest_signed', 'context')]);
    expect(out.policy.relations).toEqual([
      normRel('requires:action:ship_pallet->manifest_signed', 'requires', 'action:ship_pallet', 'manifest_signed', { justification: 'j' }),
    ]);
  });

  it('uses the subject (source) for both ends when only it is given and there is no condition', () => {
    const out = loaded(doc([], [{ type: 'requires', subject: 'export' }]));
    expect(out.policy.relations).toEqual([normRel('requires:export->export', 'requires', 'export', 'export')]);
    expect(out.policy.terms).toEqual([implicitTerm('export', 'action')]);
    expect(out.warnings).toEqual([{ path: '$.relations[0].subject', message: 'term "export" is not defined; treated as an implicit action term' }]);
  });

  it('uses the one end for both when the conditions are empty or null', () => {
    for (const extra of [{ conditions: [] }, { conditions: null }, { condition: null }, { condition: null, conditions: [] }]) {
      expect(loaded(doc([action('x')], [{ type: 'requires', action: 'x', ...extra }])).policy.relations).toEqual([
        normRel('requires:x->x', 'requires', 'x', 'x'),
      ]);
    }
  });

  it('types an undefined single end as the source (action), warned at the key it was given under', () => {
    const out = loaded(doc([], [{ type: 'requires', action: 'bulk_export', object: 'human_approval' }]));
    expect(out.policy.relations).toEqual([
      normRel('requires:bulk_export->bulk_export:human_approval', 'requires', 'bulk_export', 'bulk_export', { object: 'human_approval' }),
    ]);
    expect(out.policy.terms).toEqual([implicitTerm('bulk_export', 'action'), implicitTerm('human_approval', 'data_class')]);
    expect(out.warnings).toEqual([
      { path: '$.relations[0].action', message: 'term "bulk_export" is not defined; treated as an implicit action term' },
      { path: '$.relations[0].object', message: 'term "human_approval" is not defined; treated as an implicit data_class term' },
    ]);
  });

  it('is the same policy and hash as requires(end, condition) spelled out, under any alias and type spelling', () => {
    const explicit = loaded(doc([action('x')], [rel('requires', 'x', 'c')]));
    for (const r of [
      { type: 'requires', action: 'x', condition: 'c' },
      { relation_type: 'Require', target: 'x', conditions: ['c'] },
      { type: 'requires', target_term_id: 'x', condition: 'c' },
      { type: 'REQUIRES', source: 'x', conditions: ['c'] },
      { type: 'requires', source_term_id: 'x', condition: 'c' },
      { type: 'requires', subject: 'x', conditions: ['c', 'c'] },
    ]) {
      const out = loaded(doc([action('x')], [r]));
      expect(out.policy).toEqual(explicit.policy);
      expect(out.versionHash).toBe(explicit.versionHash);
    }
  });

  it('makes one relation per distinct condition, ids generated per requirement, object and justification on each', () => {
    const out = loaded(
      doc(
        [action('load_truck'), dataClass('hazmat')],
        [{ type: 'requires', action: 'load_truck', object: 'hazmat', conditions: ['placards_fitted', 'driver_certified', 'placards_fitted'], justification: 'j' }],
      ),
    );
    expect(out.policy.relations).toEqual([
      normRel('requires:load_truck->driver_certified:hazmat', 'requires', 'load_truck', 'driver_certified', { object: 'hazmat', justification: 'j' }),
      normRel('requires:load_truck->placards_fitted:hazmat', 'requires', 'load_truck', 'placards_fitted', { object: 'hazmat', justification: 'j' }),
    ]);
    expect(out.warnings).toEqual([
      contextWarning('$.relations[0].conditions[0]', 'placards_fitted'),
      contextWarning('$.relations[0].conditions[1]', 'driver_certified'),
    ]);
  });

  it('keeps an explicit relation_id for one condition and suffixes it #1, #2… (condition order) for several', () => {
    const one = loaded(doc([action('x')], [{ id: 'needs-seal', type: 'requires', action: 'x', condition: 'seal_intact' }]));
    expect(one.policy.relations.map((r) => [r.relation_id, r.target])).toEqual([['needs-seal', 'seal_intact']]);
    const several = loaded(
      doc([action('x')], [{ relation_id: 'gate-checks', type: 'requires', action: 'x', conditions: ['seal_intact', 'badge_scanned', 'gate_open'] }]),
    );
    expect(several.policy.relations.map((r) => [r.relation_id, r.target, r.conditions])).toEqual([
      ['gate-checks#1', 'seal_intact', []],
      ['gate-checks#2', 'badge_scanned', []],
      ['gate-checks#3', 'gate_open', []],
    ]);
  });

  it('reports a suffixed id that collides with another relation_id, and numbers generated ids on collision as usual', () => {
    expect(
      problemsOf(doc([action('x')], [{ id: 'r', type: 'requires', action: 'x', conditions: ['a', 'b'] }, { id: 'r#2', type: 'requires', source: 'x', target: 'z' }])),
    ).toEqual([{ path: '$.relations[1].id', message: 'duplicate relation_id "r#2" (first used at $.relations[0])' }]);
    const out = loaded(doc([action('x')], [{ type: 'requires', action: 'x', condition: 'c' }, rel('requires', 'x', 'c', { justification: 'j' })]));
    expect(out.policy.relations.map((r) => [r.relation_id, r.justification])).toEqual([
      ['requires:x->c', null],
      ['requires:x->c#2', 'j'],
    ]);
  });

  it('uses a defined term a condition names (no implicit term), and types an undefined one by its prefix first', () => {
    const out = loaded(
      doc(
        [action('x'), { term_id: 'seal_intact', term_type: 'context', value: 'seal_ok' }],
        [{ type: 'requires', action: 'x', conditions: ['seal_intact', 'actor:supervisor'] }],
      ),
    );
    expect(out.policy.terms.filter((t) => t.implicit)).toEqual([implicitTerm('actor:supervisor', 'actor')]);
    expect(out.warnings).toEqual([
      { path: '$.relations[0].conditions[1]', message: 'term "actor:supervisor" is not defined; treated as an implicit actor term' },
    ]);
    expect(out.policy.relations.map((r) => r.target)).toEqual(['actor:supervisor', 'seal_intact']);
  });

  it('rejects a condition that cannot be a term id (too long, control characters), at its path', () => {
    expect(
      problemsOf(doc([action('x')], [{ type: 'requires', action: 'x', conditions: ['ok', 'y'.repeat(256), 'tab\there'] }])),
    ).toEqual([
      { path: '$.relations[0].conditions[1]', message: 'must be at most 255 characters: it names the requirement of a one-ended requires' },
      { path: '$.relations[0].conditions[2]', message: 'must not contain control characters: it names the requirement of a one-ended requires' },
    ]);
    // On any other relation a condition is an obligation, not a term: the same strings are fine there.
    expect(loaded(withRelation({ conditions: ['y'.repeat(256), 'tab\there'] })).policy.relations).toHaveLength(1);
  });

  it('is enforced by the engine: denied unless context.<condition> === true, escalated for human_approval', () => {
    const policy = (requirement: Doc) =>
      compilePolicy(
        loaded(
          doc(
            [actor('yard_bot', { value: 'yard_bot:*' }), action('ship_pallet')],
            [rel('permits', 'yard_bot', 'ship_pallet'), { type: 'requires', action: 'ship_pallet', ...requirement }],
          ),
        ).policy,
      );
    const signed = policy({ condition: 'manifest_signed' });
    const decide = (compiled: ReturnType<typeof compilePolicy>, context?: Record<string, unknown>) =>
      evaluate(compiled, { actor: 'yard_bot:7', action: 'ship_pallet', ...(context === undefined ? {} : { context }) });
    expect(decide(signed).outcome).toBe('denied');
    expect(decide(signed, { manifest_signed: 'yes' }).outcome).toBe('denied');
    // The requirement is the condition, no longer named after the action.
    expect(decide(signed, { ship_pallet: true }).outcome).toBe('denied');
    const met = decide(signed, { manifest_signed: true });
    expect(met.outcome).toBe('approved');
    expect(met.matched).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ relation_id: 'requires:ship_pallet->manifest_signed', effect: 'requirement_satisfied', requirement: 'manifest_signed' }),
      ]),
    );
    expect(decide(policy({ conditions: ['manifest_signed', 'seal_intact'] }), { manifest_signed: true }).outcome).toBe('denied');
    expect(decide(policy({ conditions: ['manifest_signed', 'seal_intact'] }), { manifest_signed: true, seal_intact: true }).outcome).toBe('approved');

    const approval = decide(policy({ condition: 'human_approval' }), { human_approval: true });
    expect(approval.outcome).toBe('escalated');
    expect(approval.escalation_triggers).toEqual(['policy_requires_approval']);
    expect(approval.matched).toEqual(
      expect.arrayContaining([expect.objectContaining({ relation_id: 'requires:ship_pallet->human_approval', effect: 'requires_human_approval' })]),
    );
  });

  it('still needs one end', () => {
    expect(problemsOf(doc([], [{ type: 'requires', condition: 'c' }, { type: 'requires', object: 'd' }]))).toEqual([
      { path: '$.relations[0].source', message: 'source (or subject, source_term_id) or target (or action, target_term_id) is required' },
      { path: '$.relations[1].source', message: 'source (or subject, source_term_id) or target (or action, target_term_id) is required' },
    ]);
  });

  it.each(['permits', 'forbids', 'implies', 'conflicts'])('is a requires rule only: %s still needs both ends', (type) => {
    expect(problemsOf(doc([action('x')], [{ type, action: 'x' }, { type, subject: 'x' }]))).toEqual([
      { path: '$.relations[0].source', message: 'source (or subject, source_term_id) is required' },
      { path: '$.relations[1].target', message: 'target (or action, target_term_id) is required' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// implies cycles
// ---------------------------------------------------------------------------------------------------------

describe('implies cycles', () => {
  it('rejects self-implication', () => {
    expect(problemsOf(doc([action('a')], [rel('implies', 'a', 'a')]))).toEqual([
      { path: '$.relations[0]', message: 'implies cycle: a → a' },
    ]);
  });

  it('rejects a two-term cycle, naming it from its first relation', () => {
    expect(problemsOf(doc([action('a'), action('b')], [rel('implies', 'a', 'b'), rel('implies', 'b', 'a')]))).toEqual([
      { path: '$.relations[0]', message: 'implies cycle: a → b → a' },
    ]);
  });

  it('rejects a longer cycle among other relations, shortest way round', () => {
    const relations = [
      rel('permits', 'x', 'b'),
      rel('implies', 'b', 'c'),
      rel('implies', 'c', 'd'),
      rel('implies', 'd', 'b'),
      rel('implies', 'c', 'e'),
      rel('implies', 'e', 'f'),
      rel('implies', 'f', 'd'),
    ];
    expect(problemsOf(doc([], relations))).toEqual([{ path: '$.relations[1]', message: 'implies cycle: b → c → d → b' }]);
  });

  it('reports each separate cycle', () => {
    const relations = [rel('implies', 'a', 'b'), rel('implies', 'x', 'x'), rel('implies', 'b', 'a'), rel('implies', 'p', 'q'), rel('implies', 'q', 'r'), rel('implies', 'r', 'p')];
    expect(problemsOf(doc([], relations))).toEqual([
      { path: '$.relations[0]', message: 'implies cycle: a → b → a' },
      { path: '$.relations[1]', message: 'implies cycle: x → x' },
      { path: '$.relations[3]', message: 'implies cycle: p → q → r → p' },
    ]);
  });

  it('accepts chains and diamonds', () => {
    const relations = [rel('implies', 'a', 'b'), rel('implies', 'a', 'c'), rel('implies', 'b', 'd'), rel('implies', 'c', 'd'), rel('implies', 'd', 'e')];
    expect(loaded(doc([], relations)).policy.relations).toHaveLength(5);
  });

  it('ignores cycles through other relation types', () => {
    const relations = [rel('implies', 'a', 'b'), rel('permits', 'b', 'a'), rel('conflicts', 'b', 'a'), rel('requires', 'b', 'a')];
    expect(loaded(doc([], relations)).policy.relations).toHaveLength(4);
  });

  it('handles a long chain closing into a cycle without exhausting the stack', () => {
    const n = 20_000;
    const relations = Array.from({ length: n }, (_, i) => rel('implies', `t${i}`, `t${(i + 1) % n}`));
    const problems = problemsOf(doc([], relations));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('$.relations[0]');
    expect(problems[0]?.message.startsWith('implies cycle: t0 → t1 → t2 → ')).toBe(true);
    expect(problems[0]?.message.endsWith(` → t${n - 1} → t0`)).toBe(true);
    relations.pop();
    expect(loaded(doc([], relations)).policy.relations).toHaveLength(n - 1);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Relation ids
// ---------------------------------------------------------------------------------------------------------

describe('relation ids', () => {
  const ids = (d: Doc) => loaded(d).policy.relations.map((r) => r.relation_id);

  it('generates type:source->target, and :object when set', () => {
    expect(ids(doc([], [rel('permit', 'a', 'b'), rel('Forbids', 'a', 'b', { object: 'pii' })]))).toEqual([
      'forbids:a->b:pii',
      'permits:a->b',
    ]);
  });

  it('keeps explicit ids, from relation_id or id', () => {
    expect(ids(doc([], [rel('permits', 'a', 'b', { relation_id: 'r2' }), { id: 'r1', type: 'forbids', source: 'a', target: 'c' }]))).toEqual([
      'r1',
      'r2',
    ]);
  });

  it('suffixes colliding generated ids #2, #3…', () => {
    const relations = [rel('permits', 'a', 'b'), rel('permits', 'a', 'b', { conditions: ['x'] }), rel('permits', 'a', 'b', { conditions: ['y'] })];
    const out = loaded(doc([], relations));
    expect(out.policy.relations).toEqual([
      normRel('permits:a->b', 'permits', 'a', 'b'),
      normRel('permits:a->b#2', 'permits', 'a', 'b', { conditions: ['x'] }),
      normRel('permits:a->b#3', 'permits', 'a', 'b', { conditions: ['y'] }),
    ]);
  });

  it('numbers by content whatever the document order: fewer conditions, then conditions, then justification', () => {
    const relations = [
      rel('permits', 'a', 'b', { conditions: ['y'] }),
      rel('permits', 'a', 'b', { conditions: ['x', 'z'] }),
      rel('permits', 'a', 'b', { justification: 'j' }),
      rel('permits', 'a', 'b', { conditions: ['x'] }),
      rel('permits', 'a', 'b'),
    ];
    const expected = [
      ['permits:a->b', [], null],
      ['permits:a->b#2', [], 'j'],
      ['permits:a->b#3', ['x'], null],
      ['permits:a->b#4', ['x', 'z'], null],
      ['permits:a->b#5', ['y'], null],
    ];
    const summary = (d: Doc) => loaded(d).policy.relations.map((r) => [r.relation_id, r.conditions, r.justification]);
    expect(summary(doc([], relations))).toEqual(expected);
    expect(summary(doc([], [...relations].reverse()))).toEqual(expected);
  });

  it('numbers exact duplicates too', () => {
    expect(ids(doc([], [rel('permits', 'a', 'b'), rel('permits', 'a', 'b')]))).toEqual(['permits:a->b', 'permits:a->b#2']);
  });

  it('numbers a collision by content, so the order of relations does not matter', () => {
    const x = rel('permits', 'a', 'b', { conditions: ['x'] });
    const y = rel('permits', 'a', 'b', { justification: 'y' });
    const z = rel('permits', 'a', 'b');
    const forward = loaded(doc([], [x, y, z]));
    const backward = loaded(doc([], [z, y, x]));
    expect(backward.policy).toEqual(forward.policy);
    expect(backward.versionHash).toBe(forward.versionHash);
  });

  it('steps around explicit ids equal to a generated one', () => {
    expect(
      ids(
        doc(
          [],
          [
            rel('permits', 'a', 'b'),
            rel('permits', 'a', 'b', { relation_id: 'permits:a->b' }),
            rel('permits', 'a', 'b', { conditions: ['c'] }),
            rel('forbids', 'a', 'b', { relation_id: 'permits:a->b#3' }),
          ],
        ),
      ),
    ).toEqual(['permits:a->b', 'permits:a->b#2', 'permits:a->b#3', 'permits:a->b#4']);
  });

  it('steps around a generated id that another relation would produce as a suffix', () => {
    // "permits:a->b#2" is also the plain generated id of permits(a, "b#2").
    expect(ids(doc([], [rel('permits', 'a', 'b'), rel('permits', 'a', 'b', { conditions: ['c'] }), rel('permits', 'a', 'b#2')]))).toEqual([
      'permits:a->b',
      'permits:a->b#2',
      'permits:a->b#3',
    ]);
    const out = loaded(doc([], [rel('permits', 'a', 'b'), rel('permits', 'a', 'b', { conditions: ['c'] }), rel('permits', 'a', 'b#2')]));
    expect(out.policy.relations.find((r) => r.relation_id === 'permits:a->b#2')?.target).toBe('b#2');
  });

  it('rejects duplicate explicit ids at each repeat', () => {
    expect(
      problemsOf(
        doc(
          [],
          [
            rel('permits', 'a', 'b', { relation_id: 'r' }),
            rel('forbids', 'a', 'c', { relation_id: 'r' }),
            { id: 'r', type: 'permits', source: 'a', target: 'd' },
          ],
        ),
      ),
    ).toEqual([
      { path: '$.relations[1].relation_id', message: 'duplicate relation_id "r" (first used at $.relations[0])' },
      { path: '$.relations[2].id', message: 'duplicate relation_id "r" (first used at $.relations[0])' },
    ]);
  });

  it('sorts relations by relation_id in UTF-16 order', () => {
    expect(ids(doc([], ['b', 'B', '_', 'é', 'a'].map((id) => rel('permits', 'x', 'y', { relation_id: id }))))).toEqual(['B', '_', 'a', 'b', 'é']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// All problems at once
// ---------------------------------------------------------------------------------------------------------

describe('many problems', () => {
  it('lists every problem of a thoroughly broken document, sorted by path', () => {
    const broken = {
      name: 42,
      mode: 'chaotic',
      version: false,
      extra: true,
      terms: [
        { term_id: 'a', term_type: 'actor', colour: 'red' },
        { term_id: 'a', term_type: 'action' },
        { id: '', type: 'widget' },
        'not a term',
        { term_id: 'd', term_type: 'data', value: '', metadata: { risk: { privacy: 'high' } } },
        { term_type: 'action' },
      ],
      relations: [
        { type: 'permits', subject: 'a', action: 'a', conditions: ['ok', 9] },
        { type: 'implies', source: 'p', target: 'p', object: 'd' },
        { relation_type: 'grants', source: 'a', target: 'b' },
        { relation_id: 'dup', type: 'forbids', source: 'a', target: 'b', object: 'a' },
        { relation_id: 'dup', type: 'forbids', source: 'a' },
        [],
        { type: 'requires', source: 'a', target: 'b', weight: 3 },
      ],
    };
    expect(problemsOf(broken)).toEqual([
      { path: '$.mode', message: 'must be one of strict, permissive, paranoid' },
      { path: '$.name', message: 'must be a string' },
      { path: '$.relations[0].conditions[1]', message: 'must be a string' },
      { path: '$.relations[1]', message: 'implies cycle: p → p' },
      { path: '$.relations[1].object', message: 'object is only allowed on permits, forbids and requires relations, not on implies' },
      { path: '$.relations[2].relation_type', message: 'must be one of permits, forbids, requires, implies, conflicts' },
      { path: '$.relations[3].object', message: 'object "a" must name a data_class term, not an actor term' },
      { path: '$.relations[4].relation_id', message: 'duplicate relation_id "dup" (first used at $.relations[3])' },
      { path: '$.relations[4].target', message: 'target (or action, target_term_id) is required' },
      { path: '$.relations[5]', message: 'must be an object' },
      { path: '$.terms[1].term_id', message: 'duplicate term_id "a" (first defined at $.terms[0])' },
      { path: '$.terms[2].id', message: 'must not be empty' },
      { path: '$.terms[2].type', message: 'must be one of actor, action, resource, data_class, context' },
      { path: '$.terms[3]', message: 'must be an object' },
      { path: '$.terms[4].metadata.risk.privacy', message: 'must be an integer from 0 to 100' },
      { path: '$.terms[4].value', message: 'must not be empty' },
      { path: '$.terms[5].term_id', message: 'term_id (or id) is required' },
      { path: '$.version', message: 'must be a string or a number' },
    ]);
  });

  it('orders array indices numerically', () => {
    const terms = Array.from({ length: 12 }, (_, i) => ({ term_id: `t${i}`, term_type: i % 5 === 0 ? 'bogus' : 'actor' }));
    expect(problemsOf(doc(terms, [])).map((p) => p.path)).toEqual(['$.terms[0].term_type', '$.terms[5].term_type', '$.terms[10].term_type']);
  });

  it('reports the semantic problems of the elements the schema accepted next to those it did not', () => {
    const d = doc(
      [{ term_id: 'a', term_type: 5 }, actor('b'), actor('b')],
      [{ type: 'implies', source: 'x', target: 'x', conditions: 'no' }, rel('implies', 'y', 'y')],
    );
    expect(problemsOf(d)).toEqual([
      { path: '$.relations[0]', message: 'implies cycle: x → x' },
      { path: '$.relations[0].conditions', message: 'must be an array' },
      { path: '$.relations[1]', message: 'implies cycle: y → y' },
      { path: '$.terms[0].term_type', message: 'must be a string' },
      { path: '$.terms[2].term_id', message: 'duplicate term_id "b" (first defined at $.terms[1])' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Values the schema cannot see
// ---------------------------------------------------------------------------------------------------------

describe('non-JSON input', () => {
  it('rejects lone surrogates in values and keys (JCS refuses them)', () => {
    expect(problemsOf(doc([actor('a\uD800')], []))).toEqual([
      { path: '$.terms[0].term_id', message: 'contains a lone surrogate (not valid Unicode)' },
    ]);
    expect(problemsOf(withTerm({ metadata: { '\uDC00': 1 } }))).toEqual([
      { path: '$.terms[0].metadata["\\udc00"]', message: 'has a name containing a lone surrogate (not valid Unicode)' },
    ]);
  });

  it('accepts well-formed astral characters', () => {
    expect(loaded(doc([actor('agent:🤖')], [])).policy.terms[0]?.term_id).toBe('agent:🤖');
  });

  it('rejects values JSON cannot hold', () => {
    expect(problemsOf(withTerm({ metadata: { when: new Date(0), f: Number.NaN, big: 1n } }))).toEqual([
      { path: '$.terms[0].metadata.big', message: 'is not a JSON value' },
      { path: '$.terms[0].metadata.f', message: 'must be a finite number' },
      { path: '$.terms[0].metadata.when', message: 'is not a JSON value' },
    ]);
  });

  it('rejects metadata nested too deeply', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 80; i++) deep = { d: deep };
    const problems = problemsOf(withTerm({ metadata: deep }));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toBe(`is nested too deeply (at most ${POLICY_LIMITS.depth} levels)`);
    expect(problems[0]?.path.startsWith('$.terms[0].metadata.d.d.')).toBe(true);
  });

  it('keeps a "__proto__" metadata key as plain data, hashed', () => {
    const input = JSON.parse('{"policy_id":"p","terms":[{"term_id":"a","term_type":"actor","metadata":{"__proto__":{"x":1}}}],"relations":[]}');
    const out = loaded(input);
    const metadata = out.policy.terms[0]?.metadata as Record<string, unknown>;
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(canonicalize(out.policy)).toContain('"metadata":{"__proto__":{"x":1}}');
    expect(out.versionHash).not.toBe(hashOf(doc([actor('a')], [])));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------------

describe('limits', () => {
  const manyTerms = (n: number) => Array.from({ length: n }, (_, i) => ({ term_id: `t${i}`, term_type: 'actor' }));
  const manyRelations = (n: number) => Array.from({ length: n }, (_, i) => ({ relation_type: 'permits', source: 'a', target: `t${i}` }));

  it('accepts 100,000 terms and 100,000 relations', () => {
    const out = loaded(doc(manyTerms(100_000), manyRelations(100_000)));
    expect(out.policy.terms).toHaveLength(100_001); // + the implicit actor "a"
    expect(out.policy.relations).toHaveLength(100_000);
    expect(out.warnings).toHaveLength(1);
  });

  it('rejects 100,001 terms', () => {
    expect(problemsOf(doc(manyTerms(100_001), []))).toEqual([{ path: '$.terms', message: 'must have at most 100000 terms (has 100001)' }]);
  });

  it('rejects 100,001 relations', () => {
    expect(problemsOf(doc([actor('a')], manyRelations(100_001)))).toEqual([
      { path: '$.relations', message: 'must have at most 100000 relations (has 100001)' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The version hash
// ---------------------------------------------------------------------------------------------------------

const BASE: Doc = {
  policy_id: 'hash-base',
  name: 'Hash base',
  version: '1',
  mode: 'strict',
  terms: [
    { term_id: 'agent', term_type: 'actor', value: 'ai_agent:*', label: 'Agent', description: 'An agent', metadata: { risk: { security: 10 } } },
    { term_id: 'read', term_type: 'action', value: 'read:*' },
    { term_id: 'pii', term_type: 'data_class' },
  ],
  relations: [
    { relation_type: 'permits', source: 'agent', target: 'read', object: 'pii', conditions: ['redact:pii', 'max_rows:100'], justification: 'ok' },
    { relation_id: 'no-delete', relation_type: 'forbids', source: 'agent', target: 'delete' },
  ],
};

function mutate(fn: (d: any) => void): Doc {
  const copy = structuredClone(BASE);
  fn(copy);
  return copy;
}

describe('version hash', () => {
  const baseHash = hashOf(BASE);

  it('is SHA-256 hex of the JCS of the normalized policy', () => {
    const out = loaded(BASE);
    expect(out.versionHash).toBe(policyVersionHash(out.policy));
    expect(out.versionHash).toBe(createHash('sha256').update(canonicalize(out.policy), 'utf8').digest('hex'));
  });

  it.each<[string, (d: any) => void]>([
    ['top-level keys reordered', (d) => {
      const { terms, relations, ...rest } = d;
      for (const k of Object.keys(d)) delete d[k];
      Object.assign(d, { relations, terms }, Object.fromEntries(Object.entries(rest).reverse()));
    }],
    ['term keys reordered', (d) => {
      d.terms = d.terms.map((t: Doc) => Object.fromEntries(Object.entries(t).reverse()));
    }],
    ['relation keys reordered', (d) => {
      d.relations = d.relations.map((r: Doc) => Object.fromEntries(Object.entries(r).reverse()));
    }],
    ['terms reordered', (d) => d.terms.reverse()],
    ['relations reordered', (d) => d.relations.reverse()],
    ['term aliases', (d) => {
      d.terms = d.terms.map(({ term_id, term_type, label, ...rest }: Doc) => ({ id: term_id, type: term_type, ...(label === undefined ? {} : { name: label }), ...rest }));
    }],
    ['relation aliases', (d) => {
      d.relations = d.relations.map(({ relation_type, source, target, relation_id, ...rest }: Doc) => ({
        type: relation_type,
        subject: source,
        action: target,
        ...(relation_id === undefined ? {} : { id: relation_id }),
        ...rest,
      }));
    }],
    ['source_term_id/target_term_id', (d) => {
      d.relations = d.relations.map(({ source, target, ...rest }: Doc) => ({ source_term_id: source, target_term_id: target, ...rest }));
    }],
    ['mode and types in other cases', (d) => {
      d.mode = 'STRICT';
      d.terms[0].term_type = 'Actor';
      d.terms[2].term_type = 'data';
      d.relations[0].relation_type = 'Permit';
      d.relations[1].relation_type = 'FORBID';
    }],
    ['generated id made explicit', (d) => (d.relations[0].relation_id = 'permits:agent->read:pii')],
    ['repeated conditions', (d) => d.relations[0].conditions.push('redact:pii')],
    ['explicit nulls and empties', (d) => {
      Object.assign(d.terms[1], { label: null, description: null, metadata: {} });
      Object.assign(d.relations[1], { object: null, conditions: [], justification: null });
    }],
    ['numeric version', (d) => (d.version = 1)],
    ['mode omitted (strict is the default)', (d) => delete d.mode],
    ['ignored top-level fields', (d) => Object.assign(d, { description: 'x', metadata: { a: 1 }, created_at: 'now', author: 'me', $schema: 's' })],
    ['relation metadata', (d) => (d.relations[0].metadata = { note: 'ignored' })],
    ['unknown keys at every level', (d) => {
      Object.assign(d, { compliance_frameworks: ['SOC 2'], constraints: [{ name: 'c' }], audit_requirements: { log_all_decisions: true } });
      Object.assign(d.terms[2], { sensitivity: 'high', requires_consent: true });
      Object.assign(d.relations[1], { effect: 'deny' });
    }],
    ['metadata keys reordered', (d) => (d.terms[0].metadata = { risk: { security: 10 } })],
  ])('is unchanged by %s', (_, fn) => {
    expect(hashOf(mutate(fn))).toBe(baseHash);
  });

  it('is unchanged by omitting a name equal to policy_id (the default)', () => {
    expect(hashOf(mutate((d) => delete d.name))).toBe(hashOf(mutate((d) => (d.name = 'hash-base'))));
  });

  const mutations: Array<[string, (d: any) => void]> = [
    ['policy_id', (d) => (d.policy_id = 'hash-base-2')],
    ['name', (d) => (d.name = 'Hash base 2')],
    ['name whitespace', (d) => (d.name = 'Hash base ')],
    ['version', (d) => (d.version = '2')],
    ['version removed', (d) => delete d.version],
    ['mode', (d) => (d.mode = 'paranoid')],
    ['term id', (d) => (d.terms[1].term_id = 'read2')],
    ['term type', (d) => (d.terms[1].term_type = 'resource')],
    ['term value', (d) => (d.terms[0].value = 'ai_agent:x')],
    ['term value removed', (d) => delete d.terms[1].value],
    ['term label', (d) => (d.terms[0].label = 'agent')],
    ['term description', (d) => (d.terms[0].description = 'An agent.')],
    ['term metadata', (d) => (d.terms[0].metadata.owner = 'x')],
    ['term risk', (d) => (d.terms[0].metadata.risk.security = 11)],
    ['term added', (d) => d.terms.push({ term_id: 'extra', term_type: 'context' })],
    ['term removed (becomes implicit)', (d) => d.terms.splice(1, 1)],
    ['implicit term defined', (d) => d.terms.push({ term_id: 'delete', term_type: 'action' })],
    ['relation type', (d) => (d.relations[1].relation_type = 'permits')],
    ['relation source', (d) => (d.relations[1].source = 'read')],
    ['relation target', (d) => (d.relations[1].target = 'delete2')],
    ['relation object', (d) => (d.relations[0].object = 'pii2')],
    ['relation object removed', (d) => delete d.relations[0].object],
    ['condition order', (d) => d.relations[0].conditions.reverse()],
    ['condition added', (d) => d.relations[0].conditions.push('audit')],
    ['condition changed', (d) => (d.relations[0].conditions[1] = 'max_rows:10')],
    ['justification', (d) => (d.relations[0].justification = 'ok.')],
    ['explicit relation id', (d) => (d.relations[1].relation_id = 'no-delete-2')],
    ['relation added', (d) => d.relations.push({ relation_type: 'requires', source: 'read', target: 'mfa' })],
    ['relation removed', (d) => d.relations.pop()],
    ['relation duplicated', (d) => d.relations.push({ ...d.relations[0] })],
  ];

  it.each(mutations)('changes with the %s', (_, fn) => {
    expect(hashOf(mutate(fn))).not.toBe(baseHash);
  });

  it('differs across all those mutations', () => {
    const hashes = mutations.map(([, fn]) => hashOf(mutate(fn)));
    expect(new Set(hashes).size).toBe(mutations.length);
  });
});

describe('golden', () => {
  it('normalizes a small fixed policy to this exact JSON and hash', () => {
    const out = loaded({
      name: 'Golden Policy',
      version: 3,
      mode: 'Permissive',
      relations: [
        { type: 'forbids', subject: 'agent', action: 'delete', justification: 'never' },
        { relation_type: 'permits', source: 'agent', target: 'read', object: 'pii', conditions: ['redact:pii'] },
      ],
      terms: [
        { id: 'read', type: 'action', name: 'Read' },
        { term_id: 'agent', term_type: 'actor', value: 'ai_agent:*', metadata: { risk: { privacy: 40 } } },
      ],
    });
    const json = canonicalize(out.policy);
    expect(json).toBe(
      '{"mode":"permissive","name":"Golden Policy","policy_id":"golden-policy","relations":[' +
        '{"conditions":[],"justification":"never","object":null,"relation_id":"forbids:agent->delete","relation_type":"forbids","source":"agent","target":"delete"},' +
        '{"conditions":["redact:pii"],"justification":null,"object":"pii","relation_id":"permits:agent->read:pii","relation_type":"permits","source":"agent","target":"read"}' +
        '],"terms":[' +
        '{"description":null,"implicit":false,"label":null,"metadata":{"risk":{"privacy":40}},"term_id":"agent","term_type":"actor","value":"ai_agent:*"},' +
        '{"description":null,"implicit":true,"label":null,"metadata":{},"term_id":"delete","term_type":"action","value":null},' +
        '{"description":null,"implicit":true,"label":null,"metadata":{},"term_id":"pii","term_type":"data_class","value":null},' +
        '{"description":null,"implicit":false,"label":"Read","metadata":{},"term_id":"read","term_type":"action","value":null}' +
        '],"version":"3"}',
    );
    expect(createHash('sha256').update(json, 'utf8').digest('hex')).toBe(GOLDEN_HASH);
    expect(out.versionHash).toBe(GOLDEN_HASH);
    expect(out.warnings).toEqual([
      { path: '$.relations[0].action', message: 'term "delete" is not defined; treated as an implicit action term' },
      { path: '$.relations[1].object', message: 'term "pii" is not defined; treated as an implicit data_class term' },
    ]);
  });
});

const GOLDEN_HASH = 'dc2eaae337858ccba0a6f230994eafdce18bb2ddb541aabda9fceae30c7626c9';

// ---------------------------------------------------------------------------------------------------------
// risk_factors: the policy's own factor table
// ---------------------------------------------------------------------------------------------------------

describe('risk_factors', () => {
  const TABLE = {
    data_classes: { telemetry: { privacy: 40 }, public: {}, pii: { compliance: 50, privacy: 75 } },
    verbs: { purge: { operational: 90 }, 'read-all': { financial: 10, security: 20 } },
    bulk: { reputational: 60, operational: 40 },
  };
  const withTable = (riskFactors: unknown): Doc => ({ ...SEED, risk_factors: riskFactors });
  /** The problems of a document whose only fault is this table. */
  const tableProblems = (riskFactors: unknown) => problemsOf(withTable(riskFactors));

  it('loads a table into the normalized policy, dimensions in their fixed order, with no warning', () => {
    const out = loaded(withTable(TABLE));
    expect(out.policy.risk_factors).toEqual({
      data_classes: { telemetry: { privacy: 40 }, public: {}, pii: { privacy: 75, compliance: 50 } },
      verbs: { purge: { operational: 90 }, 'read-all': { security: 20, financial: 10 } },
      bulk: { operational: 40, reputational: 60 },
    });
    expect(Object.keys(out.policy.risk_factors!.data_classes['pii']!)).toEqual(['privacy', 'compliance']);
    expect(Object.keys(out.policy.risk_factors!.bulk)).toEqual(['operational', 'reputational']);
    expect(out.policy.risk_factors).toEqual(factorTableToJson(parseFactorTable(TABLE).table!));
    expect(out.warnings).toEqual(loaded(SEED).warnings);
    expect(out.versionHash).toBe(policyVersionHash(out.policy));
    expect(canonicalize(out.policy)).toContain('"risk_factors":{"bulk":{"operational":40,"reputational":60},"data_classes":{');
  });

  it('copies the table: the policy does not share objects with the input', () => {
    const input = structuredClone(TABLE);
    const out = loaded(withTable(input));
    input.data_classes.telemetry.privacy = 99;
    expect(out.policy.risk_factors!.data_classes['telemetry']).toEqual({ privacy: 40 });
  });

  it('keeps a "__proto__" data class as plain data, hashed', () => {
    const input = JSON.parse('{"policy_id":"p","terms":[],"relations":[],"risk_factors":{"data_classes":{"__proto__":{"privacy":10}},"verbs":{},"bulk":{}}}');
    const out = loaded(input);
    const classes = out.policy.risk_factors!.data_classes;
    expect(Object.keys(classes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(classes)).toBe(Object.prototype);
    expect(canonicalize(out.policy)).toContain('"data_classes":{"__proto__":{"privacy":10}}');
    expect(out.versionHash).not.toBe(hashOf({ ...doc([], []), risk_factors: { data_classes: {}, verbs: {}, bulk: {} } }));
  });

  it('accepts empty sections (a table that raises nothing) and the default table written out', () => {
    expect(loaded(withTable({ data_classes: {}, verbs: {}, bulk: {} })).policy.risk_factors).toEqual({ data_classes: {}, verbs: {}, bulk: {} });
    const asDefault = loaded(withTable(factorTableToJson(DEFAULT_FACTOR_TABLE)));
    expect(parseFactorTable(asDefault.policy.risk_factors).table).toEqual(DEFAULT_FACTOR_TABLE);
  });

  it('is compiled into the table the engine scores with', () => {
    expect(compilePolicy(loaded(withTable(TABLE)).policy).factorTable).toEqual(parseFactorTable(TABLE).table);
    expect(compilePolicy(loaded(SEED).policy).factorTable).toBe(DEFAULT_FACTOR_TABLE);
  });

  describe('absent', () => {
    it('leaves no risk_factors key in the normalized policy (not null)', () => {
      const out = loaded(SEED);
      expect(Object.hasOwn(out.policy, 'risk_factors')).toBe(false);
      expect(canonicalize(out.policy)).not.toContain('risk_factors');
    });

    it('keeps the version hash every policy without a table had before the field existed', () => {
      // Captured from the loader before risk_factors existed.
      expect(hashOf(SEED)).toBe('4319874a708d8f2c073cb92cde0cf13a9e0c1a562615e5d790f55c5726303965');
      const expected = {
        policy_id: 'seed-example',
        name: 'Seed example',
        version: '1.0',
        mode: 'strict',
        terms: [
          term('ai_agent', 'actor', { value: 'ai_agent:*' }),
          term('bulk_export', 'action'),
          term('delete_records', 'action'),
          implicitTerm('human_approval', 'context'),
          term('read_customer', 'action'),
        ],
        relations: [
          normRel('forbids:ai_agent->delete_records', 'forbids', 'ai_agent', 'delete_records'),
          normRel('permits:ai_agent->read_customer', 'permits', 'ai_agent', 'read_customer'),
          normRel('requires:bulk_export->human_approval', 'requires', 'bulk_export', 'human_approval'),
        ],
      };
      expect(hashOf(SEED)).toBe(sha256Hex(canonicalize(expected)));
    });

    it('treats risk_factors: null as absent, like every optional field', () => {
      const out = loaded(withTable(null));
      expect(Object.hasOwn(out.policy, 'risk_factors')).toBe(false);
      expect(out.versionHash).toBe(hashOf(SEED));
      expect(out.warnings).toEqual(loaded(SEED).warnings);
    });
  });

  describe('version hash', () => {
    it('changes with a table, even one that raises nothing', () => {
      expect(hashOf(withTable(TABLE))).not.toBe(hashOf(SEED));
      expect(hashOf(withTable({ data_classes: {}, verbs: {}, bulk: {} }))).not.toBe(hashOf(SEED));
    });

    it('is unchanged by the order of sections, entries and dimensions', () => {
      const reordered = {
        bulk: { operational: 40, reputational: 60 },
        verbs: { 'read-all': { security: 20, financial: 10 }, purge: { operational: 90 } },
        data_classes: { pii: { privacy: 75, compliance: 50 }, public: {}, telemetry: { privacy: 40 } },
      };
      expect(hashOf(withTable(reordered))).toBe(hashOf(withTable(TABLE)));
    });

    it.each<[string, (t: any) => void]>([
      ['a value', (t) => (t.data_classes.telemetry.privacy = 41)],
      ['a dimension', (t) => (t.data_classes.telemetry = { security: 40 })],
      ['a data class added', (t) => (t.data_classes.internal = {})],
      ['a data class removed', (t) => delete t.data_classes.public],
      ['a verb', (t) => (t.verbs.purge.operational = 89)],
      ['bulk', (t) => (t.bulk = {})],
    ])('changes with %s', (_, fn) => {
      const changed = structuredClone(TABLE);
      fn(changed);
      expect(hashOf(withTable(changed))).not.toBe(hashOf(withTable(TABLE)));
    });
  });

  describe('rejects a bad table as a whole, at paths under $.risk_factors', () => {
    it.each([
      ['an array', []],
      ['a string', 'default'],
      ['a number', 1],
      ['false', false],
    ])('%s', (_, riskFactors) => {
      expect(tableProblems(riskFactors)).toEqual([{ path: '$.risk_factors', message: 'must be an object {data_classes, verbs, bulk}' }]);
    });

    it('missing sections (the table replaces the default, it does not merge into it)', () => {
      const required = 'is required (the table replaces the default as a whole; give {} for none)';
      expect(tableProblems({})).toEqual([
        { path: '$.risk_factors.bulk', message: required },
        { path: '$.risk_factors.data_classes', message: required },
        { path: '$.risk_factors.verbs', message: required },
      ]);
      expect(tableProblems({ data_classes: { telemetry: { privacy: 40 } } })).toEqual([
        { path: '$.risk_factors.bulk', message: required },
        { path: '$.risk_factors.verbs', message: required },
      ]);
    });

    it('an unknown top-level key', () => {
      expect(tableProblems({ ...TABLE, weights: {}, 'odd key': 1 })).toEqual([
        { path: '$.risk_factors["odd key"]', message: 'is not a factor table field (data_classes, verbs, bulk)' },
        { path: '$.risk_factors.weights', message: 'is not a factor table field (data_classes, verbs, bulk)' },
      ]);
    });

    it('sections and vectors that are not objects', () => {
      expect(tableProblems({ data_classes: [], verbs: null, bulk: 50 })).toEqual([
        { path: '$.risk_factors.bulk', message: 'must be an object mapping dimensions to integers 0–100' },
        { path: '$.risk_factors.data_classes', message: 'must be an object mapping names to {dimension: 0–100}' },
        { path: '$.risk_factors.verbs', message: 'must be an object mapping names to {dimension: 0–100}' },
      ]);
      expect(tableProblems({ ...TABLE, data_classes: { pii: 70, phi: [80] } })).toEqual([
        { path: '$.risk_factors.data_classes.phi', message: 'must be an object mapping dimensions to integers 0–100' },
        { path: '$.risk_factors.data_classes.pii', message: 'must be an object mapping dimensions to integers 0–100' },
      ]);
    });

    it('an unknown dimension, in a section or in bulk', () => {
      expect(tableProblems({ ...TABLE, data_classes: { pii: { privacy: 70, legal: 5 } }, bulk: { secrecy: 1 } })).toEqual([
        { path: '$.risk_factors.bulk.secrecy', message: 'is not a risk dimension (security, privacy, compliance, operational, reputational, financial)' },
        { path: '$.risk_factors.data_classes.pii.legal', message: 'is not a risk dimension (security, privacy, compliance, operational, reputational, financial)' },
      ]);
    });

    it.each([101, -1, 1.5, '70', null, Number.NaN])('the value %j', (value) => {
      const problems = tableProblems({ ...TABLE, data_classes: { pii: { privacy: value } } });
      expect(problems).toContainEqual({ path: '$.risk_factors.data_classes.pii.privacy', message: 'must be an integer from 0 to 100' });
      expect(problems.every((p) => p.path === '$.risk_factors.data_classes.pii.privacy')).toBe(true);
    });

    it('keys that could never match: upper-case, empty, too long', () => {
      const long = 'x'.repeat(FACTOR_TABLE_LIMITS.keyLength + 1);
      expect(tableProblems({ ...TABLE, data_classes: { PII: {}, '': {}, [long]: {}, ['y'.repeat(FACTOR_TABLE_LIMITS.keyLength)]: {} } })).toEqual([
        { path: '$.risk_factors.data_classes[""]', message: 'must not be empty' },
        { path: '$.risk_factors.data_classes.PII', message: 'must be lower-case (matching is case-insensitive)' },
        { path: `$.risk_factors.data_classes.${long}`, message: `must be at most ${FACTOR_TABLE_LIMITS.keyLength} characters` },
      ]);
    });

    it('verbs holding ":", "_" or a space, with any key quoted back into the path exactly', () => {
      const message = 'must not contain ":", "_" or a space (the verb ends before the first of them)';
      expect(tableProblems({ ...TABLE, verbs: { 'read:all': {}, bulk_export: {}, 'say "hi" \\ now': {} } })).toEqual([
        { path: '$.risk_factors.verbs.bulk_export', message },
        { path: '$.risk_factors.verbs["read:all"]', message },
        { path: '$.risk_factors.verbs["say \\"hi\\" \\\\ now"]', message },
      ]);
    });

    it(`more than ${FACTOR_TABLE_LIMITS.entries} entries in a section`, () => {
      const many = Object.fromEntries(Array.from({ length: FACTOR_TABLE_LIMITS.entries + 1 }, (_, i) => [`c${i}`, {}]));
      expect(tableProblems({ ...TABLE, verbs: many })).toEqual([
        { path: '$.risk_factors.verbs', message: `must have at most ${FACTOR_TABLE_LIMITS.entries} entries` },
      ]);
      expect(loaded(withTable({ ...TABLE, verbs: Object.fromEntries(Object.entries(many).slice(1)) })).policy.risk_factors).toBeDefined();
    });

    it('every problem the risk engine finds, re-rooted, for any table', () => {
      const bad = { data_classes: { Pii: { privacy: 170 }, 'a b': { legal: 1 } }, verbs: { 'x:y': [] }, bulk: { operational: '5' }, extra: true };
      const expected = parseFactorTable(bad).problems.map((p) => ({ path: `$.risk_factors${p.path.slice(1)}`, message: p.message }));
      expect(expected).toHaveLength(7);
      expect(tableProblems(bad)).toEqual(expect.arrayContaining(expected));
      expect(tableProblems(bad)).toHaveLength(expected.length);
    });

    it('next to the problems of the rest of the document, sorted by path', () => {
      const broken = { ...withTable({ data_classes: {}, verbs: {}, bulk: { privacy: 101 } }), mode: 'lenient', terms: [{ term_id: 'a' }] };
      expect(problemsOf(broken)).toEqual([
        { path: '$.mode', message: 'must be one of strict, permissive, paranoid' },
        { path: '$.risk_factors.bulk.privacy', message: 'must be an integer from 0 to 100' },
        { path: '$.terms[0].term_type', message: 'term_type (or type) is required' },
      ]);
    });

    it('and values JSON cannot hold, like anywhere in the document', () => {
      expect(tableProblems({ ...TABLE, bulk: { privacy: Number.POSITIVE_INFINITY } })).toEqual([
        { path: '$.risk_factors.bulk.privacy', message: 'must be a finite number' },
        { path: '$.risk_factors.bulk.privacy', message: 'must be an integer from 0 to 100' },
      ]);
    });
  });

  it('is a known document field: no "ignored" warning, and the exported schema lists it', () => {
    expect(loaded(withTable(TABLE)).warnings.some((w) => w.path.startsWith('$.risk_factors'))).toBe(false);
    expect(PolicyDocumentSchema.safeParse(withTable(TABLE)).success).toBe(true);
    const schema = z.toJSONSchema(PolicyDocumentSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toContain('risk_factors');
  });
});

// ---------------------------------------------------------------------------------------------------------
// The exported schema
// ---------------------------------------------------------------------------------------------------------

describe('PolicyDocumentSchema', () => {
  it('accepts every alias shape the loader accepts', () => {
    for (const d of [SEED, BASE, doc([{ id: 'a', type: 'Actor', name: 'A' }], [{ id: 'r', type: 'permit', subject: 'a', action: 'b' }, { type: 'forbids', source_term_id: 'a', target_term_id: 'c' }])]) {
      expect(PolicyDocumentSchema.safeParse(d).success).toBe(true);
    }
  });

  it('accepts unknown fields (the loader ignores them with a warning), except in metadata.risk', () => {
    expect(PolicyDocumentSchema.safeParse({ ...SEED, extra: 1 }).success).toBe(true);
    expect(PolicyDocumentSchema.safeParse(LEGACY_SHAPES_DISPATCH).success).toBe(true);
    expect(PolicyDocumentSchema.safeParse(withTerm({ metadata: { risk: { legal: 50 } } })).success).toBe(false);
  });

  it('converts to JSON Schema for OpenAPI', () => {
    const schema = z.toJSONSchema(PolicyDocumentSchema, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['policy_id', 'name', 'version', 'mode', 'terms', 'relations']),
    );
    expect(schema.required).toEqual(['terms', 'relations']);
  });
});

// Type-level check: the outcome carries the shared model.
const _typed: (o: LoadOutcome) => NormalizedPolicy | undefined = (o) => (o.ok ? o.policy : undefined);
void _typed;
