import type { ComponentChildren } from 'preact';
import { inlineText, parseMarkdown, type Block, type Inline, type ListItem } from '../lib/markdown.js';

/**
 * Markdown rendered as Preact elements (never innerHTML): text stays text. The inline tree is at most
 * MAX_NESTING deep (the parser bounds it), so rendering it recursively is bounded too.
 */
function inline(nodes: Inline[]): ComponentChildren[] {
  return nodes.map((n, k) => {
    switch (n.t) {
      case 'text':
        return n.v;
      case 'code':
        return <code key={k}>{n.v}</code>;
      case 'strong':
        return <strong key={k}>{inline(n.c)}</strong>;
      case 'em':
        return <em key={k}>{inline(n.c)}</em>;
      case 'link':
        return (
          <a key={k} href={n.href} rel="noreferrer noopener">
            {inline(n.c)}
          </a>
        );
    }
  });
}

interface ListNode {
  c: Inline[];
  kids: ListNode[];
}

/** Nested bullets as a tree, built with a stack (the parser bounds the depth, so rendering it recursively is bounded). */
function listTree(items: ListItem[]): ListNode[] {
  const root: ListNode = { c: [], kids: [] };
  const stack: ListNode[] = [root];
  for (const it of items) {
    stack.length = Math.min(stack.length, it.depth + 1);
    const node: ListNode = { c: it.c, kids: [] };
    stack[stack.length - 1]!.kids.push(node);
    stack.push(node);
  }
  return root.kids;
}

function bullets(nodes: ListNode[], key?: number) {
  return (
    <ul key={key}>
      {nodes.map((n, j) => (
        <li key={j}>
          {inline(n.c)}
          {n.kids.length > 0 && bullets(n.kids)}
        </li>
      ))}
    </ul>
  );
}

function block(b: Block, k: number, headingShift: number) {
  switch (b.t) {
    case 'h': {
      // The page has its own h1: report headings start one level below it.
      const level = Math.min(6, b.level + headingShift);
      const H = `h${level}` as 'h2';
      return <H key={k}>{inline(b.c)}</H>;
    }
    case 'p':
      return <p key={k}>{inline(b.c)}</p>;
    case 'ul':
      return bullets(listTree(b.items), k);
    case 'ol':
      return (
        <ol key={k} start={b.start}>
          {b.items.map((it, j) => (
            <li key={j}>{inline(it)}</li>
          ))}
        </ol>
      );
    case 'table':
      return (
        // Focusable so that a keyboard can scroll a table wider than the screen.
        <div class="table-wrap" key={k} tabIndex={0} role="region" aria-label={`Table: ${b.head.map(inlineText).join(', ')}`}>
          <table>
            <thead>
              <tr>
                {b.head.map((c, j) => (
                  <th scope="col" key={j}>
                    {inline(c)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r, j) => (
                <tr key={j}>
                  {r.map((c, i) => (
                    <td key={i}>{inline(c)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case 'code':
      return (
        <pre key={k} class="code" tabIndex={0}>
          <code>{b.v}</code>
        </pre>
      );
    case 'quote':
      return <blockquote key={k}>{inline(b.c)}</blockquote>;
    case 'hr':
      return <hr key={k} />;
  }
}

export function Markdown({ source, headingShift = 1 }: { source: string; headingShift?: number }) {
  const blocks = parseMarkdown(source);
  return <div class="markdown">{blocks.map((b, k) => block(b, k, headingShift))}</div>;
}
