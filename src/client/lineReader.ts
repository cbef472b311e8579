// Splits a byte stream into newline-terminated lines. Unlike the daemon's reader it allows very
// large lines (a pull page of 1000 entries of 256 KiB each is ~350 MiB of JSON) and is linear in
// the line's size however it arrives in chunks: each byte is scanned once and copied once.

/** Default cap on one incoming line: a guard against a runaway peer, not a protocol limit. */
export const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a message from the daemon exceeds ${limit} bytes`);
    this.name = "LineTooLongError";
  }
}

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxLineBytes = MAX_RESPONSE_BYTES) {}

  /**
   * Feeds a chunk; returns the lines it completes (without `\n` and a trailing `\r`). Throws
   * LineTooLongError once the unterminated line exceeds the cap; the reader is unusable after that.
   */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.append(chunk.subarray(start, nl));
      lines.push(this.take());
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
    return lines;
  }

  /** Bytes of the line still waiting for its `\n`. */
  get buffered(): number {
    return this.size;
  }

  private append(piece: Buffer): void {
    if (piece.length === 0) return;
    this.size += piece.length;
    if (this.size > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    this.parts.push(piece);
  }

  private take(): Buffer {
    const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    return line.subarray(0, end);
  }
}
