/**
 * The Art 12 and Art 14 reports as documents a compliance officer reads: a title and the period, a
 * summary in plain sentences, tables with the figures and what they mean, and what needs attention or
 * is not shown. Pure: report in, Markdown out (the same data as the JSON answer).
 */
import { ART12_PURPOSES, type Art12Purpose } from './articles.js';
import type { Art12Report, Art14Report } from './eu-ai-act.service.js';

/** A value for a Markdown table cell (pipes escaped, one line). */
export function cell(value: unknown): string {
  const text = value === null || value === undefined ? '—' : Array.isArray(value) ? value.join(', ') || '—' : String(value);
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** `2026-11-25T10:00:00.000Z` → `2026-11-25 10:00:00 UTC`. */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

function period(since: string, until: string): string {
  return `Period: from ${when(since)} up to (not including) ${when(until)}.`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

/** Seconds as `45 s`, `12 min 5 s`, `3 h 20 min`. */
function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

const purposeLabel = (p: Art12Purpose): string => `(${p})`;

/** The Art 12 record-keeping report as Markdown. */
export function article12Markdown(r: Art12Report): string {
  const v = r.ledger_verification;
  const recorded = r.per_event_type.filter((e) => e.count > 0).sort((a, b) => b.count - a.count || a.event_type.localeCompare(b.event_type));
  const silent = r.per_event_type.filter((e) => e.count === 0).map((e) => e.event_type);
  const holds = r.legal_holds.active;
  const integrity = v.valid
    ? `The whole ledger was verified when this report was made: ${plural(v.entries_checked, 'entry', 'entries')} up to seq ${v.head_seq ?? '—'}, every hash and link intact, so no recorded event has been altered or removed.`
    : `**The ledger does not verify**: the hash chain breaks at seq ${v.first_invalid?.seq ?? '?'} (${v.first_invalid?.code ?? 'invalid'}: ${v.first_invalid?.reason ?? ''}). Entries from there on cannot be relied on as recorded; investigate before using these logs as evidence.`;
  const retention = r.retention.meets_floor
    ? `Logs are kept for ${plural(r.retention.retention_days, 'day')}, which meets the minimum of ${r.retention.floor_days} days (six months) of Art 19(1) and Art 26(6).`
    : `**Logs are kept for only ${plural(r.retention.retention_days, 'day')}, below the minimum of ${r.retention.floor_days} days** (six months) of Art 19(1) and Art 26(6).`;
  const holdSentence = !r.legal_holds.tracked
    ? 'Legal holds are not tracked by this installation.'
    : holds.length === 0
      ? 'No legal hold is active.'
      : `${plural(holds.length, 'legal hold is', 'legal holds are')} active: retention deletes nothing ${holds.length === 1 ? 'it covers' : 'they cover'}.`;

  const lines = [
    '# EU AI Act Art 12: record-keeping report',
    '',
    period(r.since, r.until),
    '',
    'Art 12 requires a high-risk AI system to record events automatically over its lifetime, so that risk',
    'situations and substantial modifications can be identified (Art 12(2)(a)), post-market monitoring is',
    'possible (b), and the deployer can monitor the operation (c). Lexecon records each event as an entry of',
    'a hash-chained ledger. This report counts what was recorded in the period and says whether the record',
    'can be trusted.',
    '',
    '## Summary',
    '',
    `${plural(r.total_entries, 'event was', 'events were')} recorded in the period, of ${plural(recorded.length, 'type')}.`,
    integrity,
    retention,
    holdSentence,
    r.untagged_event_types.length === 0
      ? 'Every event type found is assigned to its Art 12(2) purposes.'
      : `**${plural(r.untagged_event_types.length, 'event type is', 'event types are')} not assigned to any Art 12(2) purpose**: ${r.untagged_event_types.join(', ')}.`,
    '',
    '## What the records serve (Art 12(2))',
    '',
    ...table(
      ['purpose', 'what it covers', 'events in the period'],
      (Object.keys(ART12_PURPOSES) as Art12Purpose[]).map((p) => [purposeLabel(p), r.purposes[p] ?? ART12_PURPOSES[p], r.per_purpose[p]]),
    ),
    '',
    'An event can serve more than one purpose, so these counts may add up to more than the total.',
    '',
    '## Events recorded',
    '',
  ];
  if (recorded.length === 0) lines.push('No event was recorded in this period.');
  else {
    lines.push(
      ...table(
        ['event type', 'what it records', 'purposes', 'events'],
        recorded.map((e) => [e.event_type, e.description ?? '(not in the taxonomy)', e.purposes.map(purposeLabel).join(' '), e.count]),
      ),
    );
  }
  if (silent.length > 0) lines.push('', `No events in this period of the types: ${silent.join(', ')}.`);
  lines.push(
    '',
    '## Retention and legal holds',
    '',
    ...table(
      ['setting', 'value', 'meaning'],
      [
        ['retention', `${r.retention.retention_days} days`, 'raw decision payloads older than this are deleted; ledger entries never are'],
        ['legal minimum', `${r.retention.floor_days} days`, 'Art 19(1) and Art 26(6): at least six months'],
        ['meets the minimum', r.retention.meets_floor ? 'yes' : 'NO', ''],
      ],
    ),
    '',
  );
  if (holds.length === 0) lines.push(holdSentence);
  else lines.push(...table(['hold', 'scope', 'reason', 'placed by', 'placed at'], holds.map((h) => [h.hold_id, h.scope, h.reason, h.created_by, when(h.created_at)])));
  lines.push(
    '',
    '## Integrity of the record',
    '',
    ...table(
      ['check', 'result'],
      [
        ['hash chain', v.valid ? 'intact' : `BROKEN at seq ${v.first_invalid?.seq ?? '?'}`],
        ['entries checked', v.entries_checked],
        ['last entry (seq)', v.head_seq],
        ['last entry hash', v.head_hash],
      ],
    ),
    '',
    'The last entry hash identifies the whole record up to it: keep it with this report, and anyone can later',
    'check that the ledger still ends in the same history (`lexecon verify-ledger`, or a signed evidence export).',
    '',
    '## What this report does not show',
    '',
    '- The events themselves: they are in the ledger (`GET /ledger/entries`) and in signed evidence exports.',
    '- Events outside the period; the verification above covers the whole ledger, not only the period.',
    '- Whether the deployer reviewed the records: that is an organisational measure, documented elsewhere.',
  );
  return `${lines.join('\n')}\n`;
}

/** What each Art 14 figure means, in a sentence. */
const FIGURE_MEANINGS: Readonly<Record<string, string>> = {
  decisions: 'decisions taken in the period',
  escalations_opened: 'decisions sent to a person for review',
  escalations_resolved: 'escalations a person approved, denied or deferred',
  sla_breaches: 'escalations that missed their deadline at the top of the chain',
  median_time_to_resolution_s: 'half of the resolved escalations took at most this long',
  rubber_stamp_approvals: 'approvals given faster than the rubber-stamp threshold: possibly without reading the case',
  rubber_stamp_rate: 'share of approvals that were that fast',
  overrides: 'decisions a person overrode, with a justification',
  override_rate: 'share of decisions overridden',
  stops: 'times a person stopped the system',
  resumes: 'times a person resumed it',
  decisions_approved: 'decisions approved',
  decisions_conditional: 'decisions approved with conditions',
  decisions_denied: 'decisions denied',
  decisions_escalated: 'decisions escalated to a person',
};

/** `median_time_to_resolution_s` → `median time to resolution`. */
function figureName(key: string): string {
  return (key.endsWith('_s') ? key.slice(0, -2) : key).split('_').join(' ');
}

function figureValue(name: string, value: number | null): string {
  if (value === null) return name === 'median_time_to_resolution_s' ? 'none resolved' : '—';
  if (name.endsWith('_rate')) return percent(value);
  if (name.endsWith('_s')) return duration(value);
  return value.toLocaleString('en-US');
}

function configValue(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.length === 0 ? 'nobody' : value.join(', ');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`).join(', ') || '—';
  }
  return String(value);
}

const CONFIG_NAMES: Readonly<Record<string, string>> = {
  escalation_chain: 'escalation chain (in order)',
  sla_hours: 'review deadline per risk level (hours)',
  rubber_stamp_threshold_s: 'rubber-stamp threshold (seconds)',
  override_two_person: 'a second person must confirm every override (an override that lifts a denial always needs one)',
  override_roles: 'roles that may override',
  mfa_required_roles: 'roles that must use MFA',
  stop_roles: 'roles that may stop the system',
  resume_roles: 'roles that may resume it',
  halted_now: 'stopped now',
};

/** The Art 14 human oversight report as Markdown. */
export function article14Markdown(r: Art14Report): string {
  const f = r.figures;
  const by = f.decisions_by_outcome;
  const open = Math.max(0, f.escalations_opened - f.escalations_resolved);
  const halted = r.measures.find((m) => m.point === '14(4)(e)')?.configuration.halted_now === true;
  const attention: string[] = [];
  if (halted) attention.push('The system is **stopped** now: every decision is denied until someone with a resume role resumes it.');
  if (f.sla_breaches > 0) attention.push(`${plural(f.sla_breaches, 'escalation')} missed the review deadline at the top of the chain: check staffing of the reviewer roles.`);
  if (f.rubber_stamp_approvals > 0) {
    attention.push(
      `${plural(f.rubber_stamp_approvals, 'approval was', 'approvals were')} given faster than the rubber-stamp threshold (${percent(f.rubber_stamp_rate)} of approvals): a sign of automation bias (Art 14(4)(b)); review them with the reviewers concerned.`,
    );
  }
  if (open > 0) attention.push(`${plural(open, 'escalation')} opened in the period ${open === 1 ? 'is' : 'are'} not resolved in it.`);
  for (const m of r.measures) {
    for (const key of ['stop_roles', 'override_roles'] as const) {
      const v = m.configuration[key];
      if (Array.isArray(v) && v.length === 0) attention.push(`Nobody may ${key === 'stop_roles' ? 'stop the system' : 'override a decision'}: ${m.point} is not met.`);
    }
  }

  const lines = [
    '# EU AI Act Art 14: human oversight report',
    '',
    period(r.since, r.until),
    '',
    'Art 14 requires that natural persons can effectively oversee a high-risk AI system: understand and',
    'monitor it, stay aware of automation bias, interpret its output, override it, and stop it. This',
    'report lists, for each point of Art 14(4), the measures Lexecon provides, how they are configured, and',
    'how they were used in the period.',
    '',
    '## Summary',
    '',
    `${plural(f.decisions, 'decision was', 'decisions were')} taken in the period: ${by.approved ?? 0} approved, ${by.conditional ?? 0} approved with conditions, ${by.denied ?? 0} denied and ${by.escalated ?? 0} escalated to a person.`,
    `${plural(f.escalations_opened, 'escalation was', 'escalations were')} opened and ${f.escalations_resolved} resolved` +
      (f.median_time_to_resolution_s === null ? '.' : `, half of them within ${duration(f.median_time_to_resolution_s)}.`) +
      ` ${f.sla_breaches === 0 ? 'None missed its deadline.' : `${plural(f.sla_breaches, 'missed its deadline', 'missed their deadline')}.`}`,
    `People overrode ${plural(f.overrides, 'decision')} (${percent(f.override_rate)} of decisions), stopped the system ${plural(f.stops, 'time')} and resumed it ${plural(f.resumes, 'time')}.`,
    halted ? 'The system is **stopped** now.' : 'The system is running now (not stopped).',
    '',
    '## Measures by Art 14(4) point',
  ];
  for (const m of r.measures) {
    lines.push('', `### Art ${m.point}: ${m.requirement}`, '', ...m.measures.map((s) => `- ${s}`));
    const config = Object.entries(m.configuration);
    if (config.length > 0) {
      lines.push('', ...table(['configuration', 'value'], config.map(([k, v]) => [CONFIG_NAMES[k] ?? figureName(k), configValue(v)])));
    }
    const figures = Object.entries(m.figures);
    if (figures.length > 0) {
      lines.push('', ...table(['in the period', 'value', 'meaning'], figures.map(([k, v]) => [figureName(k), figureValue(k, v), FIGURE_MEANINGS[k] ?? ''])));
    }
  }
  lines.push(
    '',
    '## Figures over the period',
    '',
    ...table(
      ['figure', 'value', 'meaning'],
      [
        ...Object.entries(by).map(([outcome, n]) => [`decisions ${outcome}`, figureValue('n', n), FIGURE_MEANINGS[`decisions_${outcome}`] ?? '']),
        ...(['escalations_opened', 'escalations_resolved', 'sla_breaches', 'median_time_to_resolution_s', 'overrides', 'override_rate', 'rubber_stamp_approvals', 'rubber_stamp_rate', 'stops', 'resumes'] as const).map(
          (k) => [figureName(k), figureValue(k, f[k]), FIGURE_MEANINGS[k] ?? ''],
        ),
      ],
    ),
    '',
    '## What needs attention',
    '',
    ...(attention.length === 0 ? ['Nothing in these figures needs attention.'] : attention.map((a) => `- ${a}`)),
    '',
    '## What this report does not show',
    '',
    '- Whether the people assigned to oversight are competent and have the authority and support they need',
    '  (Art 26(2)): that is an organisational measure, documented elsewhere.',
    '- The individual cases: escalations, overrides and interventions are listed by their own routes and in',
    '  signed evidence exports.',
  );
  return `${lines.join('\n')}\n`;
}
