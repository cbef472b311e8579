// Newline-delimited JSON framing (docs/protocol.md, "Transport and framing"): bytes in, complete
// UTF-8 lines out. Pull-based, so the connection can stop taking lines when it is at its in-flight
// cap and leave the rest of the chunk unread instead of queueing parsed work.
import { MAX_LINE_BYTES } from "../protocol.js";
import { ID_SCAN_BYTES, readLeadingId } from "./leadingId.js";

export type FrameEvent =
  /** One complete line, `\n` and a trailing `\r` removed; never empty or whitespace-only. */
  | { kind: "line"; text: string }
  /** A complete line whose bytes are not valid UTF-8 (answered with -32700). */
  | { kind: "invalidUtf8" }
  /**
   * A line longer than `limit` bytes. Reported once per such line, as soon as it is known to be too
   * long; its bytes up to the next `\n` are discarded without being buffered. `id` is the source
   * text of the line's JSON-RPC id when its first bytes show it (leadingId.ts), so the error can
   * carry it; absent otherwise.
   */
  | { kind: "oversize"; limit: number; id?: string };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines. Memory held is at most `maxLineBytes` + 1 (a partial line) plus
 * the chunks pushed but not yet consumed by `next()`; the caller bounds the latter by pushing a new
 * chunk only after `next()` has returned `undefined`.
 */
export class LineFramer {
  readonly maxLineBytes: number;
  /** Chunks pushed and not yet scanned; `offset` is the scan position inside the first one. */
  private chunks: Buffer[] = [];
  private offset = 0;
  /** Copies of the current line's bytes seen so far (copied so they do not pin large chunks). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Inside an oversize line: drop bytes until the next `\n`. */
  private discarding = false;
  private ended = false;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  }

  /** Bytes held: the partial line plus unscanned chunks. */
  get bufferedBytes(): number {
    let n = this.partialBytes;
    for (const [i, c] of this.chunks.entries()) n += i === 0 ? c.length - this.offset : c.length;
    return n;
  }

  push(chunk: Buffer): void {
    if (this.ended) throw new Error("LineFramer: push after end");
    if (chunk.length > 0) this.chunks.push(chunk);
  }

  /** End of input: a final line without `\n` is still delivered by `next()`. */
  end(): void {
    this.ended = true;
  }

  /** The next event, or `undefined` when more bytes are needed (or the input is exhausted). */
  next(): FrameEvent | undefined {
    for (;;) {
      const chunk = this.chunks[0];
      if (chunk === undefined) return this.ended ? this.finalLine() : undefined;
      const newline = chunk.indexOf(LF, this.offset);
      if (this.discarding) {
        if (newline < 0) this.dropFirstChunk();
        else {
          this.discarding = false;
          this.advance(chunk, newline + 1);
        }
        continue;
      }
      if (newline < 0) {
        const rest = chunk.subarray(this.offset);
        this.dropFirstChunk();
        // A trailing `\r` is not content, so one byte more than the limit may still be a valid line.
        if (this.partialBytes + rest.length > this.maxLineBytes + 1) {
          const event = this.oversize(rest);
          this.resetPartial();
          this.discarding = true;
          return event;
        }
        this.partial.push(Buffer.from(rest));
        this.partialBytes += rest.length;
        continue;
      }
      const piece = chunk.subarray(this.offset, newline);
      this.advance(chunk, newline + 1);
      const event = this.complete(piece);
      if (event) return event;
    }
  }

  private finalLine(): FrameEvent | undefined {
    if (this.discarding || this.partialBytes === 0) {
      this.discarding = false;
      this.resetPartial();
      return undefined;
    }
    return this.complete(Buffer.alloc(0));
  }

  /** Finishes the current line with `piece`; undefined for a line to skip. */
  private complete(piece: Buffer): FrameEvent | undefined {
    const lastPiece = piece.length > 0 ? piece : this.partial[this.partial.length - 1];
    const hasCr = lastPiece !== undefined && lastPiece[lastPiece.length - 1] === CR;
    const length = this.partialBytes + piece.length - (hasCr ? 1 : 0);
    if (length > this.maxLineBytes) {
      const event = this.oversize(piece);
      this.resetPartial();
      return event;
    }
    const whole = this.partialBytes === 0 ? piece : Buffer.concat([...this.partial, piece]);
    this.resetPartial();
    const line = length === whole.length ? whole : whole.subarray(0, length);
    if (isBlank(line)) return undefined;
    try {
      return { kind: "line", text: this.decoder.decode(line) };
    } catch {
      return { kind: "invalidUtf8" };
    }
  }

  /** The oversize event for the current line (its held bytes, then `last`), with its id if readable. */
  private oversize(last: Buffer): FrameEvent {
    const head: Buffer[] = [];
    let bytes = 0;
    for (const piece of [...this.partial, last]) {
      if (bytes >= ID_SCAN_BYTES) break;
      const part = piece.subarray(0, ID_SCAN_BYTES - bytes);
      head.push(part);
      bytes += part.length;
    }
    const id = readLeadingId(Buffer.concat(head));
    const limit = this.maxLineBytes;
    return id === undefined ? { kind: "oversize", limit } : { kind: "oversize", limit, id };
  }

  private advance(chunk: Buffer, to: number): void {
    if (to >= chunk.length) this.dropFirstChunk();
    else this.offset = to;
  }

  private dropFirstChunk(): void {
    this.chunks.shift();
    this.offset = 0;
  }

  private resetPartial(): void {
    if (this.partial.length > 0) this.partial = [];
    this.partialBytes = 0;
  }
}

/** Only spaces, tabs and carriage returns: a keep-alive or stray line ending, not a message. */
function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const byte = line[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== CR) return false;
  }
  return true;
}
