import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';
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

/** One page of a list the API reads by cursor. */
export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * A list read a page at a time: the cursors walked so far (the Pager's), the page shown (null while the
 * first one loads) and `reload()`, which reads the current page again (so do new `deps`). A page read clears the error; a
 * refusal goes to `onError` in the screen's words, except a 401 (the app signs out by itself).
 */
export function useCursorPages<T>(
  load: (cursor: string | null) => Promise<CursorPage<T>>,
  onError: (message: string | null) => void,
  refusal: (err: unknown) => string,
  deps: unknown[] = [],
): { cursors: Array<string | null>; setCursors: (c: Array<string | null>) => void; page: CursorPage<T> | null; reload: () => void } {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState<CursorPage<T> | null>(null);
  const [reloads, setReloads] = useState(0);
  const cursor = cursors[cursors.length - 1] ?? null;
  useEffect(() => {
    let live = true;
    load(cursor).then(
      (p) => {
        if (!live) return;
        setPage(p);
        onError(null);
      },
      (err) => live && !(err instanceof ApiError && err.status === 401) && onError(refusal(err)),
    );
    return () => {
      live = false;
    };
    // `load` is a new function each render: the page is read again when the cursor or `deps` change, or on reload().
  }, [cursor, reloads, ...deps]);
  return { cursors, setCursors, page, reload: () => setReloads((n) => n + 1) };
}

/** "Page 2: 50 keys, more on the next page." for the status line above a paged list. */
export function pageSummary(pageNumber: number, page: CursorPage<unknown> | null, noun: string): string {
  if (!page) return 'Loading…';
  const n = page.items.length;
  return `Page ${pageNumber}: ${n} ${noun}${n === 1 ? '' : 's'}${page.next_cursor ? ', more on the next page' : ''}.`;
}
