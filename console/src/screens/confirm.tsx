import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * The confirmation step of a change that cannot be taken back silently (a disable, a reset, a revoke,
 * a policy load): the question, then "Yes" (focused, so a keyboard user meets it) or "Cancel".
 */
export function Confirm({
  id,
  question,
  yes,
  danger = false,
  busy,
  onYes,
  onCancel,
}: {
  id: string;
  question: ComponentChildren;
  yes: string;
  danger?: boolean;
  busy: boolean;
  onYes: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="confirm" role="group" aria-labelledby={`${id}-q`}>
      <p id={`${id}-q`}>{question}</p>
      <div class="actions">
        <button ref={ref} type="button" class={danger ? 'deny' : 'primary'} disabled={busy} onClick={onYes}>
          {yes}
        </button>
        <button type="button" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Cursor paging over a list the API pages (`next_cursor`): first, previous, next. */
export function Pager({ label, cursors, next, onChange }: { label: string; cursors: Array<string | null>; next: string | null | undefined; onChange: (c: Array<string | null>) => void }) {
  return (
    <div class="actions" role="group" aria-label={`${label} pages`}>
      <button type="button" disabled={cursors.length <= 1} onClick={() => onChange([null])}>
        First page
      </button>
      <button type="button" disabled={cursors.length <= 1} onClick={() => onChange(cursors.slice(0, -1))}>
        Previous page
      </button>
      <button type="button" disabled={!next} onClick={() => next && onChange([...cursors, next])}>
        Next page
      </button>
    </div>
  );
}
