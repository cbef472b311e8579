// The `id` of a line too long to parse, read from its first bytes (the framer keeps no more), so
// the -32006 answer carries it and a client matching replies by id does not wait for its timeout.
// Only a top-level object whose `"id"` member, and every member before it, ends within those bytes
// has a readable id; a batch, or an id after a long `params`, gets `id: null` as before.
import type { SyncError } from "../protocol.js";

/** How many leading bytes of an over-long line are searched for its id. */
export const ID_SCAN_BYTES = 4096;
/** Most members looked at before `id` (keeps the scan linear and small). */
const MAX_MEMBERS = 16;

/**
 * The source text of the line's `id` (a string, a number or null, exactly as sent), or undefined
 * when it cannot be known from `head`. `head` is a prefix of the line: it may end anywhere.
 */
export function readLeadingId(head: Buffer): string | undefined {
  const text = decodePrefix(head);
  if (text === undefined) return undefined;
  const s = new PrefixScanner(text);
  if (s.peek() === "\ufeff") s.pos++;
  s.skipWhitespace();
  if (!s.eat("{")) return undefined;
  for (let member = 0; member < MAX_MEMBERS; member++) {
    s.skipWhitespace();
    const keyToken = s.stringToken();
    if (keyToken === undefined) return undefined;
    s.skipWhitespace();
    if (!s.eat(":")) return undefined;
    s.skipWhitespace();
    if (parse(keyToken) === "id") return s.idToken();
    if (!s.skipValue()) return undefined;
    s.skipWhitespace();
    if (!s.eat(",")) return undefined;
  }
  return undefined;
}

/** A complete error response line whose id is `rawId`, the id's source text from readLeadingId. */
export function encodeErrorWithRawId(rawId: string, err: SyncError): string {
  return `{"jsonrpc":"2.0","id":${rawId},"error":${JSON.stringify(err.toJSON())}}`;
}

/** UTF-8 of a prefix that may end inside a character: drop at most 3 trailing bytes. */
function decodePrefix(head: Buffer): string | undefined {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let cut = 0; cut <= 3 && cut <= head.length; cut++) {
    try {
      return decoder.decode(head.subarray(0, head.length - cut));
    } catch {
      // try one byte shorter
    }
  }
  return undefined;
}

function parse(token: string): unknown {
  try {
    return JSON.parse(token) as unknown;
  } catch {
    return undefined;
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

/** Every method returns undefined/false when the text ends before the token does. */
class PrefixScanner {
  pos = 0;
  constructor(private readonly text: string) {}

  peek(): string | undefined {
    return this.text[this.pos];
  }

  eat(c: string): boolean {
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  skipWhitespace(): void {
    while (" \t\r\n".includes(this.text[this.pos] ?? "x")) this.pos++;
  }

  /** A complete JSON string token starting here (quotes included). */
  stringToken(): string | undefined {
    const start = this.pos;
    if (!this.eat('"')) return undefined;
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) return undefined;
      if (c === "\\") this.pos++;
      else if (c === '"') return this.text.slice(start, this.pos);
    }
  }

  /** The id's token: a string, number or null that is complete (a delimiter follows it). */
  idToken(): string | undefined {
    const c = this.peek();
    let token: string | undefined;
    if (c === '"') token = this.stringToken();
    else if (this.text.startsWith("null", this.pos)) token = "null";
    else token = NUMBER.exec(this.text.slice(this.pos, this.pos + 400))?.[0];
    if (token === undefined || token === "") return undefined;
    if (c !== '"') this.pos += token.length;
    this.skipWhitespace();
    const next = this.peek();
    if (next !== "," && next !== "}") return undefined; // cut off, or not a JSON value
    const value = parse(token);
    return value === null || typeof value === "string" || typeof value === "number" ? token : undefined;
  }

  /** Moves past one complete value of any kind; false when the text ends inside it. */
  skipValue(): boolean {
    const c = this.peek();
    if (c === '"') return this.stringToken() !== undefined;
    if (c === "{" || c === "[") {
      let depth = 0;
      while (this.pos < this.text.length) {
        const ch = this.text[this.pos];
        if (ch === '"') {
          if (this.stringToken() === undefined) return false;
          continue;
        }
        if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") depth--;
        this.pos++;
        if (depth === 0) return true;
      }
      return false;
    }
    // A number or literal runs to a delimiter, which must be within the text.
    while (this.pos < this.text.length && !",}] \t\r\n".includes(this.text[this.pos] ?? "")) this.pos++;
    return this.pos < this.text.length;
  }
}
