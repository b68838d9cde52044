/**
 * A single-pass check that a text is EXACTLY canonical JSON (RFC 8785, as `canonicalize` writes it),
 * without building values: keys sorted by UTF-16 code units and unique, no whitespace, numbers in
 * ECMAScript shortest form, strings escaped exactly as `JSON.stringify` escapes them. Iterative (an
 * explicit stack, bounded like `canonicalize`'s nesting) and linear (no RegExp).
 *
 * Canonical means: the text equals the canonical serialization of its own value, JSON.parse(text),
 * with strings written by `JSON.stringify`. That is `canonicalize(JSON.parse(text))` wherever
 * canonicalize accepts the value; canonicalize refuses lone surrogates, which JSON.stringify writes as
 * lowercase `\udxxx` escapes, and this check accepts them in that form (and only in it). Property-tested
 * against both.
 */

/** Nesting of containers allowed, as in `canonicalize` (MAX_DEPTH): deeper texts are not canonical. */
export const MAX_CHECK_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Per nesting level: 1 object, 2 array; for objects, where the previous key's text starts and ends. */
const kinds = new Uint8Array(MAX_CHECK_DEPTH);
const keyStarts = new Int32Array(MAX_CHECK_DEPTH);
const keyEnds = new Int32Array(MAX_CHECK_DEPTH);
const OBJECT = 1;

/** Whether `text` as a whole is canonical JSON. */
export function isCanonicalJson(text: string): boolean {
  return canonicalValueEnd(text, 0) === text.length;
}

/**
 * Where the canonical JSON value that starts at `start` ends (the index after it), or -1 when the text
 * there is not a canonical JSON value. Text after the value is not looked at.
 */
export function canonicalValueEnd(text: string, start: number): number {
  // Most texts have no escape and no surrogate (two native scans): then a string literal runs to its
  // next quote, and only raw control characters (not JSON) remain to be ruled out, in one native scan
  // of the value's text (a single character class: linear, nothing to backtrack).
  if (text.indexOf('\\', start) < 0 && (text as WellFormed).isWellFormed()) {
    const end = valueEnd(text, start, true);
    if (end >= 0 && !CONTROL.test(start === 0 && end === text.length ? text : text.slice(start, end))) return end;
  }
  // Otherwise (or to say exactly why not) character by character.
  return valueEnd(text, start, false);
}

/**
 * `canonicalValueEnd` for a text the caller has found plain from `start` on: no backslash, no lone
 * surrogate and no control character (U+0000–U+001F) anywhere in it (see `isPlainFrom`). In such a text
 * every string literal runs to its next quote and is canonical as it stands, so only the structure,
 * key order and numbers are checked. On any other text the result means nothing.
 */
export function plainValueEnd(text: string, start: number): number {
  return valueEnd(text, start, true);
}

/** Whether `text` from `start` on has no backslash, no lone surrogate and no control character. */
export function isPlainFrom(text: string, start: number): boolean {
  if (text.indexOf('\\', start) >= 0 || !(text as WellFormed).isWellFormed()) return false;
  CONTROL_FROM.lastIndex = start;
  return !CONTROL_FROM.test(text);
}

/** String.prototype.isWellFormed (ES2024, in Node 20): no lone surrogate. */
type WellFormed = string & { isWellFormed(): boolean };

/** A control character at or after `lastIndex` (global: `test` searches from `lastIndex`). */
const CONTROL_FROM = /[\u0000-\u001f]/g;

const CONTROL = /[\u0000-\u001f]/;

function valueEnd(text: string, start: number, plain: boolean): number {
  let pos = start;
  let depth = 0;
  for (;;) {
    // A value at pos.
    const c = text.charCodeAt(pos);
    if (c === QUOTE) {
      pos = plain ? plainStringEnd(text, pos) : canonicalStringEnd(text, pos);
      if (pos < 0) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      if (depth === MAX_CHECK_DEPTH) return -1;
      if (text.charCodeAt(pos + 1) === close) {
        pos += 2;
      } else {
        kinds[depth] = c === OPEN_BRACE ? OBJECT : 2;
        keyStarts[depth] = -1;
        depth++;
        pos++;
        if (c === OPEN_BRACE) {
          pos = keyEnd(text, pos, depth - 1, plain);
          if (pos < 0) return -1;
        }
        continue;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      pos = canonicalNumberEnd(text, pos);
      if (pos < 0) return -1;
    } else if (c === 0x74 /* t */ && text.startsWith('true', pos)) {
      pos += 4;
    } else if (c === 0x66 /* f */ && text.startsWith('false', pos)) {
      pos += 5;
    } else if (c === 0x6e /* n */ && text.startsWith('null', pos)) {
      pos += 4;
    } else {
      return -1;
    }
    // After a value: close containers, or go on to the next element.
    for (;;) {
      if (depth === 0) return pos;
      const d = text.charCodeAt(pos);
      const inObject = kinds[depth - 1] === OBJECT;
      if (d === COMMA) {
        pos++;
        if (inObject) {
          pos = keyEnd(text, pos, depth - 1, plain);
          if (pos < 0) return -1;
        }
        break;
      }
      if (d !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return -1;
      depth--;
      pos++;
    }
  }
}

/**
 * A key and its colon at `pos` in the object at stack `level`: the key must be a canonical string
 * greater than the previous key of the object (sorted, unique). Returns the position of the member's
 * value, or -1.
 */
function keyEnd(text: string, pos: number, level: number, plain: boolean): number {
  const end = plain ? plainStringEnd(text, pos) : canonicalStringEnd(text, pos);
  if (end < 0) return -1;
  // The key's text between its quotes.
  const prevStart = keyStarts[level]!;
  if (prevStart >= 0 && !keyGreater(text, pos + 1, end - 1, prevStart, keyEnds[level]!)) return -1;
  keyStarts[level] = pos + 1;
  keyEnds[level] = end - 1;
  if (text.charCodeAt(end) !== COLON) return -1;
  return end + 1;
}

/** The end of the string literal at `pos` in a text without escapes, controls or surrogates. */
export function plainStringEnd(text: string, pos: number): number {
  if (text.charCodeAt(pos) !== QUOTE) return -1;
  const close = text.indexOf('"', pos + 1);
  return close < 0 ? -1 : close + 1;
}

/**
 * Whether key text[a, aEnd) is greater than key text[b, bEnd), comparing the UTF-16 code units of their
 * values (what Array.prototype.sort compares), escapes decoded. Both are canonical string contents.
 */
function keyGreater(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  let i = a;
  let j = b;
  while (i < aEnd && j < bEnd) {
    let x = text.charCodeAt(i);
    let y = text.charCodeAt(j);
    if (x === BACKSLASH || y === BACKSLASH) {
      // Rare: decode the escape(s) at this position.
      const xl = x === BACKSLASH ? escapeLength(text, i) : 1;
      const yl = y === BACKSLASH ? escapeLength(text, j) : 1;
      if (x === BACKSLASH) x = escapedUnit(text, i);
      if (y === BACKSLASH) y = escapedUnit(text, j);
      i += xl;
      j += yl;
    } else {
      i++;
      j++;
    }
    if (x !== y) return x > y;
  }
  return i < aEnd && j >= bEnd;
}

/** Length of the (canonical) escape at i: 6 for \uxxxx, else 2. */
const escapeLength = (text: string, i: number) => (text.charCodeAt(i + 1) === 0x75 ? 6 : 2);

/** The code unit a (canonical) escape at i stands for. */
function escapedUnit(text: string, i: number): number {
  switch (text.charCodeAt(i + 1)) {
    case 0x62:
      return 0x08;
    case 0x66:
      return 0x0c;
    case 0x6e:
      return 0x0a;
    case 0x72:
      return 0x0d;
    case 0x74:
      return 0x09;
    case 0x75:
      return hexValue(text, i + 2);
    default:
      return text.charCodeAt(i + 1); // \" and \\
  }
}

/** The value of 4 lowercase hex digits at i, or -1. */
function hexValue(text: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = text.charCodeAt(i + k);
    const d = c >= ZERO && c <= NINE ? c - ZERO : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The end (index after the closing quote) of the string literal whose opening quote is at `pos`, when
 * it is escaped exactly as `JSON.stringify` escapes: `\"`, `\\`, `\b \f \n \r \t`, other control
 * characters and lone surrogates as lowercase `\u` escapes, nothing else; else -1.
 */
export function canonicalStringEnd(text: string, pos: number): number {
  if (text.charCodeAt(pos) !== QUOTE) return -1;
  let i = pos + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      if (e !== 0x75 /* u */) return -1;
      const code = hexValue(text, i + 2);
      if (code < 0x20) {
        // A control character without a short escape.
        if (code < 0 || code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      } else if (code >= 0xd800 && code <= 0xdbff) {
        // A lone high surrogate: not followed by a low one (raw, or escaped, which would make a pair).
        const n = text.charCodeAt(i + 6);
        if (n >= 0xdc00 && n <= 0xdfff) return -1;
        if (n === BACKSLASH && text.charCodeAt(i + 7) === 0x75) {
          const m = hexValue(text, i + 8);
          if (m >= 0xdc00 && m <= 0xdfff) return -1;
        }
      } else if (code < 0xdc00 || code > 0xdfff) {
        // Anything else is written as itself. (A low surrogate escaped here is lone: a raw high one
        // before it is refused below unless a raw low one follows it.)
        return -1;
      }
      i += 6;
      continue;
    }
    // Unescaped control characters are not JSON; NaN is the end of the text.
    if (c < 0x20 || Number.isNaN(c)) return -1;
    if (c >= 0xd800 && c <= 0xdfff) {
      // Raw surrogates only as a pair.
      if (c > 0xdbff) return -1;
      const n = text.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return -1;
      i++;
    }
    i++;
  }
}

/**
 * The end of the number at `pos` when it is a JSON number written as ECMAScript writes it (shortest
 * round trip, no `-0`); else -1. Integers of up to 15 digits are checked by their digits alone (exact
 * in a double, printed as written); any other form is converted and printed back.
 */
function canonicalNumberEnd(text: string, pos: number): number {
  let i = pos;
  if (text.charCodeAt(i) === MINUS) i++;
  const intStart = i;
  let c = text.charCodeAt(i);
  if (c === ZERO) {
    i++;
  } else if (c > ZERO && c <= NINE) {
    do c = text.charCodeAt(++i);
    while (c >= ZERO && c <= NINE);
  } else {
    return -1;
  }
  const intDigits = i - intStart;
  c = text.charCodeAt(i);
  let plain = true;
  if (c === 0x2e /* . */) {
    plain = false;
    const fracStart = ++i;
    while ((c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === fracStart) return -1;
  }
  if (c === 0x65 || c === 0x45 /* e E */) {
    plain = false;
    c = text.charCodeAt(++i);
    if (c === 0x2b || c === MINUS) i++;
    const expStart = i;
    while ((c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
    if (i === expStart) return -1;
  }
  if (plain && intDigits <= 15) {
    // -0 is written 0.
    return intDigits === 1 && text.charCodeAt(intStart) === ZERO && intStart !== pos ? -1 : i;
  }
  const written = text.slice(pos, i);
  const n = Number(written);
  return Number.isFinite(n) && JSON.stringify(n) === written ? i : -1;
}
