import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { art12Counts, art14Measures, EVENT_TAXONOMY, type OversightFigures } from './articles.js';

/** Every event type appended anywhere under src/ (outside tests): `append('x'` and `eventType: 'x'`. */
function eventTypesInSource(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:\bappend\(\s*|eventType: )'([a-z_]+)'/g)) found.add(m[1]!);
      }
    }
  };
  walk(path.resolve(import.meta.dirname, '../..'));
  return found;
}

describe('Art 12 event taxonomy', () => {
  it('tags every ledger event type Lexecon writes with at least one Art 12(2) purpose', () => {
    const written = eventTypesInSource();
    expect(written.size).toBeGreaterThan(20);
    const untagged = [...written].filter((t) => !(t in EVENT_TAXONOMY));
    expect(untagged).toEqual([]);
    for (const [type, tag] of Object.entries(EVENT_TAXONOMY)) {
      expect(tag.purposes.length, type).toBeGreaterThan(0);
      expect(new Set(tag.purposes).size).toBe(tag.purposes.length);
    }
  });

  it('tags as COMPLIANCE.md §1 says: risk and modification (a), post-market (b), deployer (c)', () => {
    expect(EVENT_TAXONOMY.policy_loaded!.purposes).toContain('a');
    expect(EVENT_TAXONOMY.decision!.purposes).toEqual(['a', 'b']);
    expect(EVENT_TAXONOMY.intervention!.purposes).toEqual(['a', 'c']);
    expect(EVENT_TAXONOMY.escalation_sla_breached!.purposes).toEqual(['b']);
    expect(EVENT_TAXONOMY.override_created!.purposes).toContain('b');
    expect(EVENT_TAXONOMY.auth_login_succeeded!.purposes).toEqual(['c']);
  });

  it('counts per event type and per purpose; an entry of two purposes counts for both; unknown types are reported', () => {
    const c = art12Counts(new Map([['decision', 5], ['intervention', 2], ['auth_logout', 1], ['mystery', 4]]));
    expect(c.per_purpose).toEqual({ a: 7, b: 5, c: 3 });
    expect(c.total_entries).toBe(12);
    expect(c.untagged_event_types).toEqual(['mystery']);
    expect(c.per_event_type.find((r) => r.event_type === 'mystery')).toEqual({ event_type: 'mystery', purposes: [], description: null, count: 4 });
    expect(c.per_event_type.find((r) => r.event_type === 'policy_loaded')!.count).toBe(0);
    expect(c.per_event_type.filter((r) => r.description !== null)).toHaveLength(Object.keys(EVENT_TAXONOMY).length);
  });
});

describe('Art 14 measures', () => {
  const figures: OversightFigures = {
    decisions: 10,
    decisions_by_outcome: { approved: 6, denied: 2, escalated: 2, conditional: 0 },
    escalations_opened: 2,
    escalations_resolved: 1,
    sla_breaches: 1,
    median_time_to_resolution_s: 60,
    overrides: 1,
    override_rate: 0.1,
    rubber_stamp_approvals: 1,
    rubber_stamp_rate: 1,
    stops: 1,
    resumes: 0,
  };
  const config = {
    escalation_chain: ['approver', 'executive'],
    sla_hours: { high: 8 },
    override_two_person: true,
    rubber_stamp_threshold_s: 30,
    mfa_required_roles: ['admin'],
    stop_roles: ['operator', 'executive', 'admin'],
    resume_roles: ['executive', 'admin'],
    override_roles: ['executive', 'admin'],
    halted: true,
  };

  it('maps (a)–(e) in order with the configuration and figures', () => {
    const m = art14Measures(config, figures);
    expect(m.map((x) => x.point)).toEqual(['14(4)(a)', '14(4)(b)', '14(4)(c)', '14(4)(d)', '14(4)(e)']);
    expect(m[1]!.figures).toEqual({ rubber_stamp_approvals: 1, rubber_stamp_rate: 1 });
    expect(m[3]!.configuration).toMatchObject({ override_two_person: true });
    expect(m[3]!.figures).toMatchObject({ overrides: 1, override_rate: 0.1, decisions_denied: 2 });
    expect(m[4]!).toMatchObject({ configuration: { halted_now: true, stop_roles: config.stop_roles }, figures: { stops: 1, resumes: 0 } });
    expect(m[0]!.figures).toEqual({ decisions: 10, escalations_opened: 2, sla_breaches: 1 });
  });
});
