import type { ComponentChildren } from 'preact';
import { showTime } from './lib/format.js';
import { slaCountdown, slaLabel } from './lib/sla.js';
import { BASE, onLinkClick } from './router.js';

/** A time in the viewer's zone, UTC on hover (and in `datetime` for machines). */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span>—</span>;
  const t = showTime(iso);
  if (!t) return <span>{iso}</span>;
  return (
    <time dateTime={iso} title={t.utc}>
      {t.local}
    </time>
  );
}

/** The SLA countdown: colour, a word and the time left, so colour is never the only signal. */
export function Sla({ deadline, createdAt, now, open }: { deadline: string; createdAt: string; now: number; open: boolean }) {
  if (!open) return <span class="sla sla-closed">Closed</span>;
  const c = slaCountdown(deadline, createdAt, now);
  return (
    <span class={`sla sla-${c.level}`} data-sla-level={c.level}>
      <strong>{slaLabel(c.level)}</strong> · {c.text}
    </span>
  );
}

export function Link({ to, children, ...rest }: { to: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a href={`${BASE}${to === '/' ? '' : to}`} onClick={onLinkClick(to)} {...rest}>
      {children}
    </a>
  );
}

/** An error or notice announced to screen readers. */
export function Alert({ kind = 'error', children, id }: { kind?: 'error' | 'info' | 'success'; children: ComponentChildren; id?: string }) {
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'} id={id}>
      {children}
    </div>
  );
}

/** A label/value list. */
export function Facts({ rows }: { rows: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div class="fact" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * A data table in its scrolling wrapper: a caption for screen readers, a header cell per column (and a
 * last "Actions" column, named for screen readers only, when `actions`), the rows as children. With a
 * `label` the wrapper is focusable, so a keyboard scrolls a table wider than the screen.
 */
export function DataTable({
  label,
  caption,
  columns,
  actions = false,
  class: tableClass,
  children,
}: {
  label?: string;
  caption: ComponentChildren;
  columns: string[];
  actions?: boolean;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap" {...(label === undefined ? {} : { tabIndex: 0, 'aria-label': label })}>
      <table class={tableClass}>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
