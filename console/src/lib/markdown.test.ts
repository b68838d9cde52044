import { describe, expect, it } from 'vitest';
import { inlineText, MAX_NESTING, parseInline, parseMarkdown, safeHref, splitRow } from './markdown.js';

describe('parseMarkdown: blocks', () => {
  it('reads headings, paragraphs joined across lines, lists and rules', () => {
    const blocks = parseMarkdown('# Title\n\nOne line\nand the next.\n\n## Sub\n- a\n- b\n  continued\n\n1. first\n2. second\n\n---\n');
    expect(blocks.map((b) => b.t)).toEqual(['h', 'p', 'h', 'ul', 'ol', 'hr']);
    expect(blocks[0]).toEqual({ t: 'h', level: 1, c: [{ t: 'text', v: 'Title' }] });
    expect(blocks[1]).toEqual({ t: 'p', c: [{ t: 'text', v: 'One line and the next.' }] });
    expect(blocks[3]).toEqual({
      t: 'ul',
      items: [
        { depth: 0, c: [{ t: 'text', v: 'a' }] },
        { depth: 0, c: [{ t: 'text', v: 'b continued' }] },
      ],
    });
    expect(blocks[4]).toMatchObject({ t: 'ol', start: 1 });
  });

  it('reads nested bullets with their depth, never skipping a level and never deeper than the bound', () => {
    const [ul] = parseMarkdown('- **system**:\n  - provider: Acme\n  - forms:\n    - SaaS\n- top\n        - too deep at once\n' + '- x\n' + Array.from({ length: 20 }, (_, k) => `${'  '.repeat(k + 1)}- d${k}`).join('\n'));
    const items = (ul as Extract<ReturnType<typeof parseMarkdown>[number], { t: 'ul' }>).items;
    expect(items.slice(0, 6).map((it) => [it.depth, inlineText(it.c)])).toEqual([
      [0, 'system:'],
      [1, 'provider: Acme'],
      [1, 'forms:'],
      [2, 'SaaS'],
      [0, 'top'],
      [1, 'too deep at once'],
    ]);
    expect(Math.max(...items.map((it) => it.depth))).toBe(MAX_NESTING);
  });

  it('reads a pipe table with escaped pipes and backslashes, padding short rows', () => {
    const blocks = parseMarkdown('| Kind | Count |\n|---|---:|\n| a \\| b | 3 |\n| c\\\\ |\n\nafter');
    expect(blocks[0]!.t).toBe('table');
    const t = blocks[0] as Extract<ReturnType<typeof parseMarkdown>[number], { t: 'table' }>;
    expect(t.head.map(inlineText)).toEqual(['Kind', 'Count']);
    expect(t.rows.map((r) => r.map(inlineText))).toEqual([
      ['a | b', '3'],
      ['c\\', ''],
    ]);
    expect(blocks[1]).toEqual({ t: 'p', c: [{ t: 'text', v: 'after' }] });
  });

  it('keeps fenced code verbatim, markup and all', () => {
    const blocks = parseMarkdown('```json\n{"a": "**b**"}\n<script>x</script>\n```\ntext');
    expect(blocks[0]).toEqual({ t: 'code', lang: 'json', v: '{"a": "**b**"}\n<script>x</script>' });
    expect(blocks[1]!.t).toBe('p');
  });

  it('a paragraph stops where a list, heading or table starts', () => {
    const blocks = parseMarkdown('Intro\n- item\nText\n# H\nMore\n| a |\n|---|\n| 1 |');
    expect(blocks.map((b) => b.t)).toEqual(['p', 'ul', 'p', 'h', 'p', 'table']);
  });

  it('treats HTML as text (rendered as text, never as markup)', () => {
    expect(parseMarkdown('<img src=x onerror=alert(1)>')).toEqual([{ t: 'p', c: [{ t: 'text', v: '<img src=x onerror=alert(1)>' }] }]);
  });

  it('handles CRLF, "#no-space" as text and empty input', () => {
    expect(parseMarkdown('# A\r\nb\r\n').map((b) => b.t)).toEqual(['h', 'p']);
    expect(parseMarkdown('#hashtag')[0]!.t).toBe('p');
    expect(parseMarkdown('')).toEqual([]);
  });

  it('parses a large input in linear time, without recursion', () => {
    const big = Array.from({ length: 20_000 }, (_, k) => `| row ${k} | **${k}** |`).join('\n');
    const started = performance.now();
    const blocks = parseMarkdown(`| a | b |\n|---|---|\n${big}\n\n${'*'.repeat(100_000)}\n\n${'['.repeat(100_000)}`);
    expect(performance.now() - started).toBeLessThan(3000);
    expect((blocks[0] as { rows: unknown[] }).rows).toHaveLength(20_000);
  });
});

describe('parseInline', () => {
  it('reads code, strong, em and links', () => {
    expect(parseInline('a `x|y` **b** *c* _d_ [e](https://e.example/)')).toEqual([
      { t: 'text', v: 'a ' },
      { t: 'code', v: 'x|y' },
      { t: 'text', v: ' ' },
      { t: 'strong', c: [{ t: 'text', v: 'b' }] },
      { t: 'text', v: ' ' },
      { t: 'em', c: [{ t: 'text', v: 'c' }] },
      { t: 'text', v: ' ' },
      { t: 'em', c: [{ t: 'text', v: 'd' }] },
      { t: 'text', v: ' ' },
      { t: 'link', href: 'https://e.example/', c: [{ t: 'text', v: 'e' }] },
    ]);
  });

  it('nests emphasis in strong and a link text', () => {
    expect(parseInline('**The ledger *does not* verify**')).toEqual([
      { t: 'strong', c: [{ t: 'text', v: 'The ledger ' }, { t: 'em', c: [{ t: 'text', v: 'does not' }] }, { t: 'text', v: ' verify' }] },
    ]);
  });

  it('leaves snake_case, lone stars and unclosed markers as text', () => {
    expect(inlineText(parseInline('event_type escalation_resolved'))).toBe('event_type escalation_resolved');
    expect(parseInline('event_type_x')).toEqual([{ t: 'text', v: 'event_type_x' }]);
    expect(parseInline('2 * 3 = 6')).toEqual([{ t: 'text', v: '2 * 3 = 6' }]);
    expect(parseInline('**open but never closed')).toEqual([{ t: 'text', v: '**open but never closed' }]);
    expect(parseInline('`unclosed')).toEqual([{ t: 'text', v: '`unclosed' }]);
  });

  it('drops a link whose target is not http(s), mailto or this site, keeping its text', () => {
    expect(parseInline('[click](javascript:alert(1))')).toEqual([{ t: 'text', v: 'click)' }]);
    const nodes = parseInline('[click](javascript:alert1)');
    expect(nodes).toEqual([{ t: 'text', v: 'click' }]);
    expect(parseInline('[x](//evil.example/)')).toEqual([{ t: 'text', v: 'x' }]);
    expect(parseInline('[x](/console/ledger)')).toEqual([{ t: 'link', href: '/console/ledger', c: [{ t: 'text', v: 'x' }] }]);
  });

  it('unescapes backslash escapes', () => {
    expect(parseInline('a\\*b\\_c \\[d\\]')).toEqual([{ t: 'text', v: 'a*b_c [d]' }]);
  });

  it('bounds the nesting depth (deeper openers stay text)', () => {
    const deep = '['.repeat(50) + 'x' + ']'.repeat(50);
    let depth = 0;
    let level: unknown[] = parseInline(deep);
    for (;;) {
      const withChildren = level.find((n) => (n as { c?: unknown[] }).c) as { c: unknown[] } | undefined;
      if (!withChildren) break;
      depth++;
      level = withChildren.c;
    }
    expect(depth).toBeLessThanOrEqual(MAX_NESTING);
    expect(inlineText(parseInline(deep))).toBe(deep);
  });
});

describe('helpers', () => {
  it('splitRow', () => {
    expect(splitRow('| a | b |')).toEqual(['a', 'b']);
    expect(splitRow('| a | |')).toEqual(['a', '']);
    expect(splitRow('a | b')).toEqual(['a', 'b']);
  });
  it('safeHref', () => {
    expect(safeHref('https://x')).toBe('https://x');
    expect(safeHref('mailto:a@b')).toBe('mailto:a@b');
    expect(safeHref(' JavaScript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('#top')).toBe('#top');
  });
});
