// Two linear, non-recursive scans of a JSON line's text, for what JSON.parse cannot tell us.

/**
 * Whether `text` nests arrays/objects deeper than `maxDepth` (brackets inside strings do not count).
 * V8 parses deep nesting slowly (about 300 ms for a 1 MiB line of `[`), and a deep value would make
 * any recursive code downstream overflow the stack; no JSON-RPC message of ours nests beyond a few
 * levels, so such a line is refused before it is parsed. `text` need not be valid JSON.
 * Strings are jumped over (stringEnd): in a sync.push line they are most of the text.
 */
export function nestingExceeds(text: string, maxDepth: number): boolean {
  // Deeper than maxDepth takes more than maxDepth brackets.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return false; // the rest of the text is inside a string
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}

/**
 * The index of the quote that closes the string opened at `open`, or -1 when the text ends inside
 * it. A quote closes it unless an odd number of backslashes precedes it. Short strings (keys,
 * ids) are read a character at a time; a long one (a blob's base64) is searched for quotes with
 * String#indexOf rather than a loop over each character. Linear: each backslash is counted once.
 */
export function stringEnd(text: string, open: number): number {
  const near = Math.min(text.length, open + 1 + SHORT_STRING);
  for (let i = open + 1; i < near; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  let quote = near - 1;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote < 0) return -1;
    let before = quote - 1;
    while (text.charCodeAt(before) === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote;
  }
}

/** Strings up to this long are read a character at a time (an indexOf call costs more). */
const SHORT_STRING = 24;

// Responses echo a request's `id` exactly (docs/protocol.md). JSON.parse turns a numeric id into a double,
// so `18446744073709551615` or `1.0` would come back changed and a client comparing ids (a Rust
// client using u64 ids, for one) would never match its response. This scanner recovers the id's
// source text from a line JSON.parse has already accepted.

/**
 * The source text of the `id` member of the top-level object (one element), or of each element of a
 * top-level array (one per element, `undefined` where the element is not an object or has no `id`).
 * For a duplicated key the last one wins, as in JSON.parse. `text` must be valid JSON.
 */
export function scanRawIds(text: string): (string | undefined)[] {
  const scanner = new Scanner(text);
  scanner.skipWhitespace();
  const first = scanner.peek();
  if (first === OPEN_OBJECT) return [scanner.objectId()];
  if (first !== OPEN_ARRAY) return [];
  const ids: (string | undefined)[] = [];
  scanner.pos++;
  scanner.skipWhitespace();
  if (scanner.peek() === CLOSE_ARRAY) return ids;
  for (;;) {
    scanner.skipWhitespace();
    if (scanner.peek() === OPEN_OBJECT) ids.push(scanner.objectId());
    else {
      ids.push(undefined);
      scanner.skipValue();
    }
    scanner.skipWhitespace();
    if (scanner.peek() !== COMMA) return ids;
    scanner.pos++;
  }
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const I = 0x69;
const D = 0x64;

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  skipWhitespace(): void {
    for (;;) {
      const c = this.peek();
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  /** At an object's `{`: returns the source text of its `id` member and moves past the `}`. */
  objectId(): string | undefined {
    let raw: string | undefined;
    this.pos++;
    this.skipWhitespace();
    if (this.peek() === CLOSE_OBJECT) {
      this.pos++;
      return raw;
    }
    for (;;) {
      this.skipWhitespace();
      const keyStart = this.pos;
      this.skipString();
      const isId = this.isIdKey(keyStart, this.pos);
      this.skipWhitespace();
      this.pos++; // ':'
      this.skipWhitespace();
      const valueStart = this.pos;
      this.skipValue();
      if (isId) raw = this.text.slice(valueStart, this.pos);
      this.skipWhitespace();
      const separator = this.peek();
      this.pos++; // ',' or '}'
      if (separator !== COMMA) return raw;
    }
  }

  /** Moves past one value (any nesting depth) without recursion. */
  skipValue(): void {
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    if (c === QUOTE) return this.skipString();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      let depth = 0;
      let i = this.pos;
      do {
        const ch = text.charCodeAt(i);
        if (ch === QUOTE) i = stringEnd(text, i);
        else if (ch === OPEN_OBJECT || ch === OPEN_ARRAY) depth++;
        else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) depth--;
        if (i < 0) break; // cut off inside a string (never in valid JSON)
        i++;
      } while (depth > 0 && i < text.length);
      this.pos = i < 0 ? text.length : i;
      return;
    }
    // A number or a literal: runs until a delimiter.
    for (;;) {
      const ch = this.peek();
      if (Number.isNaN(ch) || ch === COMMA || ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) return;
      if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) return;
      this.pos++;
    }
  }

  /** At a string's opening quote: moves past its closing quote. */
  private skipString(): void {
    const end = stringEnd(this.text, this.pos);
    this.pos = end < 0 ? this.text.length : end + 1;
  }

  private isIdKey(start: number, end: number): boolean {
    // `"id"`, or an escaped spelling of it such as `"\u0069d"`; anything long cannot be "id".
    const text = this.text;
    const length = end - start;
    if (length === 4) return text.charCodeAt(start + 1) === I && text.charCodeAt(start + 2) === D;
    if (length > 14) return false;
    for (let i = start + 1; i < end - 1; i++)
      if (text.charCodeAt(i) === BACKSLASH) return JSON.parse(text.slice(start, end)) === "id";
    return false;
  }
}
