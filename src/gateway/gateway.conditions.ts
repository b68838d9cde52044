/**
 * Pure: the conditions of a conditional decision that the gateway enforces itself on the upstream's
 * result: `max_rows:N` (every array in the result cut to N items: the gateway cannot know which array
 * holds the rows, so it cuts them all) and `redact:<field>` (every value under that key, at any depth,
 * replaced by "[redacted]"). They apply to `structuredContent` and to text items whose text is a JSON
 * object or array. A result the gateway cannot enforce a condition on (a text item that is not JSON, an
 * image, audio, an embedded resource) is withheld with a note: fail closed. Other conditions are
 * forwarded to the upstream in `_meta["lexecon/conditions"]` and are its job.
 * Walks are iterative (an explicit stack), never recursive.
 */

export const REDACTED = '[redacted]';

export interface EnforcedConditions {
  maxRows: number | undefined;
  redact: string[];
  /** The conditions the gateway does not enforce itself (the upstream's job). */
  others: string[];
}

const MAX_ROWS = /^max_rows:(\d{1,9})$/;
const REDACT_PREFIX = 'redact:';

export function parseConditions(conditions: readonly string[]): EnforcedConditions {
  let maxRows: number | undefined;
  const redact: string[] = [];
  const others: string[] = [];
  for (const c of conditions) {
    const m = MAX_ROWS.exec(c);
    if (m) {
      const n = Number(m[1]);
      maxRows = maxRows === undefined ? n : Math.min(maxRows, n);
    } else if (c.startsWith(REDACT_PREFIX) && c.length > REDACT_PREFIX.length) {
      redact.push(c.slice(REDACT_PREFIX.length));
    } else {
      others.push(c);
    }
  }
  return { maxRows, redact, others };
}

export function enforces(c: EnforcedConditions): boolean {
  return c.maxRows !== undefined || c.redact.length > 0;
}

/**
 * A copy of a JSON value with the conditions applied, built iteratively. Counts what changed so that
 * the audit and the note can say so.
 */
export function applyToJson(value: unknown, c: EnforcedConditions, stats: { truncated: number; redacted: number }): unknown {
  const redact = new Set(c.redact);
  const root: { v: unknown } = { v: undefined };
  // Each frame: copy `src` into `holder[key]`.
  const stack: Array<{ src: unknown; holder: Record<string, unknown> | unknown[]; key: string | number }> = [
    { src: value, holder: root as unknown as Record<string, unknown>, key: 'v' },
  ];
  while (stack.length > 0) {
    const { src, holder, key } = stack.pop()!;
    let out: unknown;
    if (Array.isArray(src)) {
      let items = src;
      if (c.maxRows !== undefined && src.length > c.maxRows) {
        items = src.slice(0, c.maxRows);
        stats.truncated++;
      }
      const arr: unknown[] = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) stack.push({ src: items[i], holder: arr, key: i });
      out = arr;
    } else if (src !== null && typeof src === 'object') {
      const obj: Record<string, unknown> = {};
      for (const k of Object.keys(src)) {
        if (redact.has(k)) {
          obj[k] = REDACTED;
          stats.redacted++;
        } else {
          stack.push({ src: (src as Record<string, unknown>)[k], holder: obj, key: k });
        }
      }
      out = obj;
    } else {
      out = src;
    }
    (holder as Record<string | number, unknown>)[key] = out;
  }
  return root.v;
}

/** The parts of an MCP CallToolResult the gateway looks at. */
export interface ToolResultLike {
  content?: Array<{ type: string; text?: string; [k: string]: unknown }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [k: string]: unknown;
}

export type Enforced =
  | { ok: true; result: ToolResultLike; truncated: number; redacted: number }
  | { ok: false; reason: string };

/** Parse a text item as a JSON object or array; undefined when it is not one. */
function jsonOf(text: string): object | undefined {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Apply the conditions to a whole result, or withhold it (why) when they cannot be enforced on it. */
export function enforceOnResult(result: ToolResultLike, c: EnforcedConditions): Enforced {
  if (!enforces(c)) return { ok: true, result, truncated: 0, redacted: 0 };
  const stats = { truncated: 0, redacted: 0 };
  const content: NonNullable<ToolResultLike['content']> = [];
  for (const [i, item] of (result.content ?? []).entries()) {
    if (item.type !== 'text' || typeof item.text !== 'string') {
      return { ok: false, reason: `content item ${i} is ${item.type}, on which the gateway cannot enforce the conditions` };
    }
    const parsed = jsonOf(item.text);
    if (parsed === undefined) {
      return { ok: false, reason: `content item ${i} is text that is not JSON, on which the gateway cannot enforce the conditions` };
    }
    let text: string;
    try {
      text = JSON.stringify(applyToJson(parsed, c, stats));
    } catch {
      return { ok: false, reason: `content item ${i} is JSON too deeply nested to re-serialize` };
    }
    content.push({ ...item, text });
  }
  const out: ToolResultLike = { ...result, content };
  if (result.structuredContent !== undefined) {
    out.structuredContent = applyToJson(result.structuredContent, c, stats) as Record<string, unknown>;
  }
  return { ok: true, result: out, ...stats };
}
