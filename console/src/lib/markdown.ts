/**
 * A small Markdown parser for the subset the server's reports use (EU AI Act Art 11, 12, 14 and the
 * compliance frameworks): ATX headings, paragraphs, bullet and numbered lists (one level), pipe tables
 * (with `\|` escapes), fenced code, block quotes, horizontal rules; inline `code`, **strong**, *em* /
 * _em_, and [links](url) whose target is http(s), mailto or a same-site path. Anything else is text.
 *
 * It builds a tree of plain objects that the console renders as Preact elements (never innerHTML, so a
 * report cannot inject markup). Iterative throughout: one pass over the lines, one left-to-right scan
 * of each inline run, emphasis matched with an explicit stack: no recursion over input-sized data and
 * no regular expression on the input that could backtrack.
 */

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'strong'; c: Inline[] }
  | { t: 'em'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] };

/** A bullet item; `depth` is its nesting (two spaces of indentation a level, at most MAX_NESTING). */
export interface ListItem {
  depth: number;
  c: Inline[];
}

export type Block =
  | { t: 'h'; level: 1 | 2 | 3 | 4 | 5 | 6; c: Inline[] }
  | { t: 'p'; c: Inline[] }
  | { t: 'ul'; items: ListItem[] }
  | { t: 'ol'; start: number; items: Inline[][] }
  | { t: 'table'; head: Inline[][]; rows: Inline[][][] }
  | { t: 'code'; lang: string; v: string }
  | { t: 'quote'; c: Inline[] }
  | { t: 'hr' };

/** Longest Markdown the console parses (the reports are far smaller); beyond it the rest is cut. */
export const MAX_MARKDOWN = 2_000_000;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function headingOf(line: string): { level: 1 | 2 | 3 | 4 | 5 | 6; text: string } | null {
  let n = 0;
  while (n < line.length && n < 7 && line[n] === '#') n++;
  if (n === 0 || n > 6) return null;
  if (n < line.length && line[n] !== ' ') return null;
  return { level: n as 1 | 2 | 3 | 4 | 5 | 6, text: line.slice(n).trim() };
}

function bulletOf(line: string): string | null {
  return bulletItem(line)?.text ?? null;
}

function bulletItem(line: string): { depth: number; text: string } | null {
  const s = line.trimStart();
  if (s.length >= 2 && (s[0] === '-' || s[0] === '*' || s[0] === '+') && s[1] === ' ') {
    const indent = line.length - s.length;
    return { depth: Math.min(Math.floor(indent / 2), MAX_NESTING), text: s.slice(2).trim() };
  }
  return null;
}

function numberedOf(line: string): { n: number; text: string } | null {
  const s = line.trimStart();
  let i = 0;
  while (i < s.length && i < 9 && isDigit(s[i])) i++;
  if (i === 0 || (s[i] !== '.' && s[i] !== ')') || s[i + 1] !== ' ') return null;
  return { n: Number(s.slice(0, i)), text: s.slice(i + 2).trim() };
}

function isRule(line: string): boolean {
  const s = line.trim();
  if (s.length < 3) return false;
  const c = s[0];
  if (c !== '-' && c !== '*' && c !== '_') return false;
  for (const ch of s) if (ch !== c && ch !== ' ') return false;
  return true;
}

/** The cells of a table row: split on unescaped `|`, `\|` and `\\` unescaped, outer pipes dropped. */
export function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  const cells: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && (s[i + 1] === '|' || s[i + 1] === '\\')) {
      cur += s[i + 1];
      i++;
    } else if (ch === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '' || !s.endsWith('|')) cells.push(cur.trim());
  return cells;
}

function isDelimiterRow(line: string): boolean {
  const cells = splitRow(line);
  if (cells.length === 0) return false;
  for (const c of cells) {
    if (c.length === 0) return false;
    for (const ch of c) if (ch !== '-' && ch !== ':' && ch !== ' ') return false;
    if (!c.includes('-')) return false;
  }
  return true;
}

const startsBlock = (line: string, next: string | undefined): boolean =>
  headingOf(line) !== null ||
  bulletOf(line) !== null ||
  numberedOf(line) !== null ||
  line.trimStart().startsWith('```') ||
  line.trimStart().startsWith('>') ||
  isRule(line) ||
  (line.trimStart().startsWith('|') && next !== undefined && isDelimiterRow(next));

/** A pipe table from line `i` (its header, the delimiter row, then the rows); answers the next line. */
function readTable(lines: string[], start: number, blocks: Block[]): number {
  const head = splitRow(lines[start]!).map(parseInline);
  const rows: Inline[][][] = [];
  let i = start + 2;
  while (i < lines.length && lines[i]!.trimStart().startsWith('|')) {
    const cells = splitRow(lines[i]!).map(parseInline);
    while (cells.length < head.length) cells.push([]);
    rows.push(cells.slice(0, Math.max(head.length, 1)));
    i++;
  }
  blocks.push({ t: 'table', head, rows });
  return i;
}

/** Bullets from line `i`, with their depth; an indented line continues the item before. */
function readBullets(lines: string[], start: number, blocks: Block[]): number {
  const items: ListItem[] = [];
  let cur: { depth: number; text: string } | null = null;
  // Depths only go one level deeper than the item before (a list cannot skip a level).
  let prevDepth = -1;
  let i = start;
  while (i < lines.length && lines[i]!.trim() !== '') {
    const b = bulletItem(lines[i]!);
    if (b !== null) {
      if (cur !== null) items.push({ depth: cur.depth, c: parseInline(cur.text) });
      cur = { depth: Math.min(b.depth, prevDepth + 1), text: b.text };
      prevDepth = cur.depth;
    } else if (lines[i]!.startsWith(' ') && cur !== null) cur.text += ` ${lines[i]!.trim()}`;
    else break;
    i++;
  }
  if (cur !== null) items.push({ depth: cur.depth, c: parseInline(cur.text) });
  blocks.push({ t: 'ul', items });
  return i;
}

/** A numbered list from line `i`, starting at its first number. */
function readNumbered(lines: string[], start: number, blocks: Block[]): number {
  const items: Inline[][] = [];
  let cur: string | null = null;
  let i = start;
  while (i < lines.length && lines[i]!.trim() !== '') {
    const n = numberedOf(lines[i]!);
    if (n) {
      if (cur !== null) items.push(parseInline(cur));
      cur = n.text;
    } else if (lines[i]!.startsWith(' ') && cur !== null) cur += ` ${lines[i]!.trim()}`;
    else break;
    i++;
  }
  if (cur !== null) items.push(parseInline(cur));
  blocks.push({ t: 'ol', start: numberedOf(lines[start]!)!.n, items });
  return i;
}

/** Parse Markdown into blocks. */
export function parseMarkdown(source: string): Block[] {
  const lines = source.slice(0, MAX_MARKDOWN).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const fence = line.trimStart();
    if (fence.startsWith('```')) {
      const lang = fence.slice(3).trim();
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trimStart().startsWith('```')) body.push(lines[i++]!);
      i++; // the closing fence (or the end)
      blocks.push({ t: 'code', lang, v: body.join('\n') });
      continue;
    }
    const h = headingOf(line);
    if (h) {
      blocks.push({ t: 'h', level: h.level, c: parseInline(h.text) });
      i++;
      continue;
    }
    if (isRule(line)) {
      blocks.push({ t: 'hr' });
      i++;
      continue;
    }
    if (line.trimStart().startsWith('|') && i + 1 < lines.length && isDelimiterRow(lines[i + 1]!)) {
      i = readTable(lines, i, blocks);
      continue;
    }
    if (bulletOf(line) !== null) {
      i = readBullets(lines, i, blocks);
      continue;
    }
    if (numberedOf(line)) {
      i = readNumbered(lines, i, blocks);
      continue;
    }
    if (line.trimStart().startsWith('>')) {
      const parts: string[] = [];
      while (i < lines.length && lines[i]!.trimStart().startsWith('>')) parts.push(lines[i++]!.trimStart().slice(1).trim());
      blocks.push({ t: 'quote', c: parseInline(parts.join(' ')) });
      continue;
    }
    // A paragraph: lines up to a blank line or the start of another block.
    const parts: string[] = [line.trim()];
    i++;
    while (i < lines.length && lines[i]!.trim() !== '' && !startsBlock(lines[i]!, lines[i + 1])) parts.push(lines[i++]!.trim());
    blocks.push({ t: 'p', c: parseInline(parts.join(' ')) });
  }
  return blocks;
}

/** Whether a link target is safe to put in an href: http(s), mailto, or a path on this site. */
export function safeHref(href: string): string | null {
  const h = href.trim();
  const lower = h.toLowerCase();
  if (lower.startsWith('https://') || lower.startsWith('http://') || lower.startsWith('mailto:')) return h;
  if (h.startsWith('/') && !h.startsWith('//')) return h;
  if (h.startsWith('#')) return h;
  return null;
}

/** Deepest nesting of emphasis and links kept; deeper openers are text (so rendering is shallow). */
export const MAX_NESTING = 6;

interface Frame {
  kind: 'root' | 'strong' | 'em' | 'link';
  /** The delimiter that opened it (`**`, `__`, `*`, `_`, `[`). */
  delim: string;
  c: Inline[];
}

function pushText(into: Inline[], v: string): void {
  if (v === '') return;
  const last = into[into.length - 1];
  if (last && last.t === 'text') last.v += v;
  else into.push({ t: 'text', v });
}

/** Close a frame that never found its closer: its delimiter becomes text again, its content stays. */
function unwind(frame: Frame, into: Inline[]): void {
  pushText(into, frame.delim);
  for (const n of frame.c) {
    if (n.t === 'text') pushText(into, n.v);
    else into.push(n);
  }
}

/**
 * Parse one run of inline Markdown. A left-to-right scan with a stack of open frames (strong, em,
 * link text): a closer pops to its opener; frames left open at the end turn back into text.
 */
export function parseInline(src: string): Inline[] {
  const stack: Frame[] = [{ kind: 'root', delim: '', c: [] }];
  const top = () => stack[stack.length - 1]!;
  let text = '';
  const flush = () => {
    pushText(top().c, text);
    text = '';
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '\\' && i + 1 < src.length && '\\`*_[]()|#'.includes(src[i + 1]!)) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const end = src.indexOf('`', i + 1);
      if (end > i) {
        flush();
        top().c.push({ t: 'code', v: src.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
      text += ch;
      i++;
      continue;
    }
    if (ch === '*' || ch === '_') {
      const double = src[i + 1] === ch;
      const delim = double ? ch + ch : ch;
      const kind = double ? 'strong' : 'em';
      // `_` inside a word (snake_case) is text.
      if (ch === '_' && i > 0 && /[A-Za-z0-9]/.test(src[i - 1]!) && /[A-Za-z0-9]/.test(src[i + delim.length] ?? '')) {
        text += delim;
        i += delim.length;
        continue;
      }
      const openAt = stack.findIndex((f, k) => k > 0 && f.kind === kind && f.delim === delim);
      const prevIsSpace = i === 0 || src[i - 1] === ' ';
      if (openAt > 0 && !prevIsSpace) {
        flush();
        // Close: frames opened after it never closed, so they go back to text inside it.
        while (stack.length - 1 > openAt) {
          const f = stack.pop()!;
          unwind(f, top().c);
        }
        const f = stack.pop()!;
        top().c.push({ t: kind, c: f.c });
        i += delim.length;
        continue;
      }
      const nextIsSpace = i + delim.length >= src.length || src[i + delim.length] === ' ';
      if (!nextIsSpace && stack.length <= MAX_NESTING) {
        flush();
        stack.push({ kind, delim, c: [] });
        i += delim.length;
        continue;
      }
      text += delim;
      i += delim.length;
      continue;
    }
    if (ch === '[' && stack.length <= MAX_NESTING) {
      flush();
      stack.push({ kind: 'link', delim: '[', c: [] });
      i++;
      continue;
    }
    if (ch === ']') {
      const openAt = stack.map((f) => f.kind).lastIndexOf('link');
      const close = src.indexOf(')', i);
      if (openAt > 0 && src[i + 1] === '(' && close > i) {
        flush();
        while (stack.length - 1 > openAt) unwind(stack.pop()!, top().c);
        const f = stack.pop()!;
        const href = safeHref(src.slice(i + 2, close));
        if (href !== null) top().c.push({ t: 'link', href, c: f.c });
        else for (const n of f.c) n.t === 'text' ? pushText(top().c, n.v) : top().c.push(n);
        i = close + 1;
        continue;
      }
      text += ch;
      i++;
      continue;
    }
    text += ch;
    i++;
  }
  flush();
  while (stack.length > 1) unwind(stack.pop()!, top().c);
  return stack[0]!.c;
}

/** The plain text of inline nodes (table cells, headings' ids, tests). Iterative. */
export function inlineText(nodes: Inline[]): string {
  let out = '';
  const todo: Inline[] = [...nodes].reverse();
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (n.t === 'text' || n.t === 'code') out += n.v;
    else for (let k = n.c.length - 1; k >= 0; k--) todo.push(n.c[k]!);
  }
  return out;
}
