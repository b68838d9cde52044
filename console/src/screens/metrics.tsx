import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api, type OversightMetrics } from '../api.js';
import { Alert, Time } from '../components.js';
import { useUsernames } from '../people.js';
import { formatSeconds, scaleBars, ticks } from '../lib/chart.js';
import { formatRate } from '../lib/format.js';

const WIDTH = 640;
const LABEL_W = 200;
const BAR_W = WIDTH - LABEL_W - 90;
const ROW_H = 30;

interface Row {
  label: string;
  /** A shorter label beside the bar (default: the label). */
  axis?: string;
  /** The number beside the bar (default: the text). */
  short?: string;
  value: number | null;
  /** The value as the table and the bar's end say it. */
  text: string;
}

/**
 * A horizontal bar chart: inline SVG whose geometry is in attributes (x, y, width, height: not styles,
 * so the console's `style-src 'self'` allows it) and whose colours come from classes in styles.css.
 * The figure repeats every number in a table, so nothing is only in the picture.
 */
function BarChart({ id, title, rows, max, tone = 'accent', unit }: { id: string; title: string; rows: Row[]; max?: number; tone?: string; unit: string }) {
  const { max: top, bars } = scaleBars(rows, BAR_W, max);
  const height = rows.length * ROW_H + 24;
  return (
    <figure class="chart" aria-labelledby={`${id}-t`} data-chart={id}>
      <figcaption id={`${id}-t`}>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`} class="chart-svg" preserveAspectRatio="xMinYMin meet">
        {ticks(top).map((t) => {
          const x = LABEL_W + (t / top) * BAR_W;
          return (
            <g key={t} class="grid-line">
              <line x1={x} x2={x} y1={0} y2={rows.length * ROW_H} />
              <text x={x} y={rows.length * ROW_H + 16} text-anchor="middle" class="tick">
                {unit === '%' ? `${Math.round(t * 100)}%` : unit === 's' ? seconds(t) : String(t)}
              </text>
            </g>
          );
        })}
        {bars.map((b, k) => (
          <g key={rows[k]!.label}>
            <text x={LABEL_W - 8} y={k * ROW_H + ROW_H / 2 + 5} text-anchor="end" class="bar-label">
              {clip(rows[k]!.axis ?? rows[k]!.label)}
            </text>
            <rect x={LABEL_W} y={k * ROW_H + 5} width={Math.max(b.length, 0)} height={ROW_H - 10} class={`bar bar-${tone}`} />
            <text x={LABEL_W + b.length + 6} y={k * ROW_H + ROW_H / 2 + 5} class="bar-value">
              {rows[k]!.short ?? rows[k]!.text}
            </text>
          </g>
        ))}
      </svg>
      <table class="chart-data" id={`${id}-d`}>
        <caption class="visually-hidden">{title}: the numbers</caption>
        <tbody>
          {rows.map((r) => (
            <tr key={r.label}>
              <th scope="row">{r.label}</th>
              <td data-value={r.value ?? ''}>{r.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

const WINDOWS = [
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
  { days: 365, label: 'Last 365 days' },
];

const seconds = formatSeconds;
const clip = (label: string) => (label.length > 22 ? `${label.slice(0, 21)}…` : label);

/** The four headline figures, each with what it is made of. */
function Figures({ m }: { m: OversightMetrics }) {
  return (
    <dl class="figures">
      <div>
        <dt>Override rate</dt>
        <dd data-metric="override_rate">{formatRate(m.override_rate)}</dd>
        <dd class="hint">
          {m.overrides} of {m.decisions} decisions
        </dd>
      </div>
      <div>
        <dt>Median time to resolution</dt>
        <dd data-metric="median_time_to_resolution_s">{seconds(m.median_time_to_resolution_s)}</dd>
        <dd class="hint">{m.escalations_resolved} cases resolved</dd>
      </div>
      <div>
        <dt>SLA breaches</dt>
        <dd data-metric="sla_breaches">{m.sla_breaches}</dd>
        <dd class="hint">of {m.escalations_opened} cases opened</dd>
      </div>
      <div>
        <dt>Rubber-stamp rate</dt>
        <dd data-metric="rubber_stamp_rate">{formatRate(m.rubber_stamp_rate)}</dd>
        <dd class="hint">
          {m.rubber_stamp_approvals} approvals in under {m.rubber_stamp_threshold_s} s
        </dd>
      </div>
    </dl>
  );
}

/** Screen 7: is oversight effective or a rubber stamp? GET /api/governance/oversight/metrics over a window. */
export function MetricsScreen({ api, me }: { api: Api; me: { userId: string } }) {
  const [days, setDays] = useState(30);
  const [m, setM] = useState<OversightMetrics | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const since = new Date(Date.now() - days * 86_400_000).toISOString();
    api.oversightMetrics({ since }).then(
      (r) => {
        if (live) {
          setM(r);
          setError(null);
        }
      },
      (err) => live && !(err instanceof ApiError && err.status === 401) && setError(err instanceof ApiError ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [api, days]);

  // usernames for an admin (the only role that may read users), ids for the others
  const names = useUsernames(m?.reviewers.map((r) => r.user_id));
  const who = (id: string) => `${names.get(id) ?? id}${id === me.userId ? ' (you)' : ''}`;
  const axis = (id: string) => (id === me.userId ? 'You' : (names.get(id) ?? id));
  const breachRate = m && m.escalations_opened > 0 ? m.sla_breaches / m.escalations_opened : null;

  return (
    <main id="main" tabIndex={-1}>
      <h1>Oversight metrics</h1>
      <div class="toolbar">
        <div>
          <label for="window">Window</label>{' '}
          <select id="window" value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {WINDOWS.map((w) => (
              <option value={String(w.days)} key={w.days}>
                {w.label}
              </option>
            ))}
          </select>
        </div>
        {m && (
          <span class="hint">
            From <Time iso={m.since} /> up to <Time iso={m.until} />
          </span>
        )}
      </div>
      {error && <Alert>{error}</Alert>}
      {m && (
        <>
          <Figures m={m} />
          <div class="charts">
            <BarChart
              id="rates"
              title="Rates over the window"
              unit="%"
              max={1}
              rows={[
                { label: 'Override rate', value: m.override_rate, text: formatRate(m.override_rate) },
                { label: 'SLA breach rate', value: breachRate, text: formatRate(breachRate) },
                { label: 'Rubber-stamp rate', value: m.rubber_stamp_rate, text: formatRate(m.rubber_stamp_rate) },
              ]}
            />
            <BarChart
              id="counts"
              title="Counts over the window"
              unit=""
              tone="muted"
              rows={[
                { label: 'Decisions', value: m.decisions, text: String(m.decisions) },
                { label: 'Overrides', value: m.overrides, text: String(m.overrides) },
                { label: 'Escalations opened', value: m.escalations_opened, text: String(m.escalations_opened) },
                { label: 'Escalations resolved', value: m.escalations_resolved, text: String(m.escalations_resolved) },
                { label: 'SLA breaches', value: m.sla_breaches, text: String(m.sla_breaches) },
              ]}
            />
          </div>
          <h2>Per reviewer</h2>
          {m.reviewers.length === 0 ? (
            <p>No reviewer resolved a case in this window.</p>
          ) : (
            <div class="charts">
              <BarChart
                id="rubber-stamp"
                title={`Rubber-stamp rate per reviewer (approvals in under ${m.rubber_stamp_threshold_s} s)`}
                unit="%"
                max={1}
                tone="warn"
                rows={m.reviewers.map((r) => ({
                  label: who(r.user_id),
                  axis: axis(r.user_id),
                  short: r.approvals > 0 ? formatRate(r.rubber_stamp_rate) : '—',
                  value: r.approvals > 0 ? r.rubber_stamp_rate : null,
                  text: r.approvals > 0 ? `${formatRate(r.rubber_stamp_rate)} (${r.rubber_stamp_approvals} of ${r.approvals})` : 'no approvals',
                }))}
              />
              <BarChart
                id="ttr"
                title="Median time to resolution per reviewer"
                unit="s"
                rows={m.reviewers.map((r) => ({
                  label: who(r.user_id),
                  axis: axis(r.user_id),
                  short: seconds(r.median_time_to_resolution_s),
                  value: r.median_time_to_resolution_s,
                  text: `${seconds(r.median_time_to_resolution_s)} (${r.resolutions} resolved)`,
                }))}
              />
            </div>
          )}
        </>
      )}
    </main>
  );
}
