/** Markdown renderings of the compliance reports (pure: report in, text out). */
import type { ControlStatusReport, Coverage } from './compliance.model.js';
import type { CoverageReport, FrameworkReport, FrameworkSummary } from './compliance.service.js';

/** Escape a value for a Markdown table cell. */
function cell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function percent(c: Coverage): string {
  return c.automated_satisfied_percent === null ? '–' : `${c.automated_satisfied_percent}%`;
}

function coverageRow(c: Coverage): string {
  return `${c.satisfied} | ${c.not_satisfied} | ${c.manual} | ${c.not_applicable} | ${c.total} | ${percent(c)}`;
}

/** The framework list as Markdown. */
export function frameworksMarkdown(items: readonly FrameworkSummary[], checkedAt: string): string {
  const lines = [
    '# Compliance frameworks',
    '',
    `Checked at ${checkedAt}. Statuses are computed from live evidence.`,
    '',
    '| framework | version | in scope | satisfied | not satisfied | manual | not applicable | total | automated satisfied |',
    '|---|---|---|---|---|---|---|---|---|',
    ...items.map((f) => `| ${cell(f.name)} (\`${f.framework_id}\`) | ${cell(f.version)} | ${f.in_scope ? 'yes' : 'no'} | ${coverageRow(f.coverage)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

function evidenceLines(c: ControlStatusReport): string[] {
  return c.evidence.map((e) => `- ${e.holds ? '✔' : '✘'} \`${e.kind}\`: ${e.detail} (checked ${e.checked_at})`);
}

/** One framework with its controls as Markdown. */
export function frameworkMarkdown(r: FrameworkReport): string {
  const lines = [
    `# ${r.name} — ${r.version}`,
    '',
    `Source: ${r.source}. Checked at ${r.checked_at}.`,
    '',
    r.in_scope
      ? `In scope. ${r.coverage.satisfied} satisfied, ${r.coverage.not_satisfied} not satisfied, ${r.coverage.manual} manual of ${r.coverage.total}.`
      : `Out of scope: ${r.scope?.justification ?? ''} (changed by ${r.scope?.changed_by ?? '?'} at ${r.scope?.changed_at ?? '?'}).`,
    '',
    '| control | title | status | reason |',
    '|---|---|---|---|',
    ...r.controls.map((c) => `| ${cell(c.control_id)} | ${cell(c.title)} | ${c.status} | ${cell(c.reason ?? '')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** One control with its evidence as Markdown. */
export function controlMarkdown(c: ControlStatusReport & { framework_id: string }): string {
  const lines = [
    `# ${c.control_id} — ${c.title}`,
    '',
    `Framework \`${c.framework_id}\`. Status: **${c.status}** (checked ${c.checked_at}).`,
    ...(c.reason ? ['', c.reason] : []),
    '',
    `Evidenced by: ${c.primitives.length === 0 ? 'no Lexecon primitive' : c.primitives.map((p) => `${p.primitive}${p.partial ? ' (partial)' : ''}`).join(', ')}.`,
    ...(c.evidence.length > 0 ? ['', '## Evidence', '', ...evidenceLines(c)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** The coverage summary as Markdown. */
export function coverageMarkdown(r: CoverageReport): string {
  const lines = [
    '# Compliance coverage',
    '',
    `Checked at ${r.checked_at}.`,
    '',
    '| framework | in scope | satisfied | not satisfied | manual | not applicable | total | automated satisfied |',
    '|---|---|---|---|---|---|---|---|',
    ...r.frameworks.map((f) => `| ${cell(f.name)} (\`${f.framework_id}\`) | ${f.in_scope ? 'yes' : 'no'} | ${coverageRow(f.coverage)} |`),
    `| **all** | | ${coverageRow(r.totals)} |`,
    '',
    '## Evidence',
    '',
    ...r.evidence.map((e) => `- ${e.holds ? '✔' : '✘'} \`${e.kind}\`: ${e.detail} (checked ${e.checked_at})`),
  ];
  return `${lines.join('\n')}\n`;
}
