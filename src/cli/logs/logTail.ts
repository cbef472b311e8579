// Reading the daemon's log file like `tail -n N -F`: the last complete lines, then whatever is
// appended. A line counts once it ends with "\n": pino writes a line in one write, but a reader
// can still catch it half-written, and a torn line must not be printed as if it were whole.
import { watch } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
/** fs.watch misses events on some file systems (NFS, some containers): look anyway this often. */
const SAFETY_POLL_MS = 1_000;
const MAX_LINE_BYTES = 1024 * 1024;

/** Where a reader stands in one file: the inode it read, and how far (0, or just past a "\n"). */
export interface LogPosition {
  ino: number;
  offset: number;
}

/**
 * The last `n` complete lines of `path` (blank lines left out), and the position just past the
 * last newline (a torn last line is read again, whole, by `followLog`). Throws ENOENT if absent.
 */
export async function tailLines(
  path: string,
  n: number,
): Promise<{ lines: string[]; position: LogPosition }> {
  const fh = await open(path, "r");
  try {
    const { size, ino } = await fh.stat();
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    // From the end backwards until n complete lines are in (one more newline than lines, since
    // the first piece read may start mid-line), or the start of the file.
    while (start > 0 && newlines <= n) {
      const length = Math.min(CHUNK_BYTES, start);
      start -= length;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, start);
      const piece = buf.subarray(0, bytesRead);
      chunks.unshift(piece);
      newlines += count(piece, NEWLINE);
    }
    const all = Buffer.concat(chunks);
    const lastNewline = all.lastIndexOf(NEWLINE);
    if (lastNewline < 0) return { lines: [], position: { ino, offset: start } };
    const lines = splitLines(all.subarray(0, lastNewline + 1));
    if (start > 0) lines.shift();
    const nonBlank = lines.filter((l) => l.trim() !== "");
    return { lines: n === 0 ? [] : nonBlank.slice(-n), position: { ino, offset: start + lastNewline + 1 } };
  } finally {
    await fh.close();
  }
}

/**
 * Calls `onLine` for every complete line appended to `path` after `from`, until `signal` aborts.
 * When the file shrinks (truncated) or is replaced (another inode: rotated), it reads the new
 * content from its beginning; while the path is missing (between rotation and re-creation) it
 * waits. Resolves once stopped; rejects only on a read error other than ENOENT.
 */
export async function followLog(
  path: string,
  from: LogPosition,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  const follower = new LogFollower(path, from, onLine, signal);
  // The directory, not the file: a rotated log is a new file the old file's watch never sees.
  const name = basename(path);
  const watcher = watch(dirname(path), (_event, filename) => {
    if (filename === null || filename === name) follower.schedule();
  });
  watcher.on("error", () => {}); // the safety poll carries on alone
  const poll = setInterval(() => follower.schedule(), SAFETY_POLL_MS);
  try {
    follower.schedule();
    await follower.done;
  } finally {
    watcher.close();
    clearInterval(poll);
  }
}

/** The reading side of followLog: one read at a time, each from where the last one stopped. */
class LogFollower {
  /** Settles when the signal aborts (resolved) or a read fails (rejected). */
  readonly done: Promise<void>;
  private position: LogPosition;
  /** Bytes after the last newline read: the start of a line still being written. */
  private pending = Buffer.alloc(0);
  /** The byte before `position.offset` as it was read: if it changed, the file was rewritten. */
  private lastByte: number | undefined;
  private reading = false;
  private again = false;
  private fail: (err: Error) => void = () => {};

  constructor(
    private readonly path: string,
    from: LogPosition,
    private readonly onLine: (line: string) => void,
    private readonly signal: AbortSignal,
  ) {
    this.position = { ...from };
    this.lastByte = from.offset > 0 ? NEWLINE : undefined;
    this.done = new Promise<void>((resolve, reject) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
      this.fail = reject;
    });
  }

  /** Reads what is new; an event during a read causes exactly one more read after it. */
  schedule(): void {
    if (this.signal.aborted) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.readNew();
        } while (this.again && !this.signal.aborted);
      } catch (err) {
        this.fail(new Error(`cannot read ${this.path}`, { cause: err }));
      } finally {
        this.reading = false;
      }
    })();
  }

  private async readNew(): Promise<void> {
    // Opened first and then fstat'ed, so the inode and size compared are those of what is read.
    const fh = await openOrNull(this.path);
    if (fh === null) return;
    try {
      const info = await fh.stat();
      // Truncated and written again between two looks can leave it as long as before; the byte
      // we last read no longer being there gives that away.
      if (
        info.ino !== this.position.ino ||
        info.size < this.position.offset ||
        (await byteAt(fh, this.position.offset - 1)) !== this.lastByte
      ) {
        this.position = { ino: info.ino, offset: 0 };
        this.pending = Buffer.alloc(0);
        this.lastByte = undefined;
      }
      for (;;) {
        const buf = Buffer.alloc(CHUNK_BYTES);
        const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, this.position.offset);
        if (bytesRead === 0) return;
        this.position.offset += bytesRead;
        this.lastByte = buf[bytesRead - 1];
        this.take(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  }

  private take(bytes: Buffer): void {
    this.pending = Buffer.concat([this.pending, bytes]);
    const lastNewline = this.pending.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      // Not a log line any more (no newline in 1 MiB): hand it on rather than grow forever.
      if (this.pending.length > MAX_LINE_BYTES) {
        this.emit(this.pending.toString("utf8"));
        this.pending = Buffer.alloc(0);
      }
      return;
    }
    const complete = splitLines(this.pending.subarray(0, lastNewline + 1));
    this.pending = Buffer.from(this.pending.subarray(lastNewline + 1));
    for (const line of complete) this.emit(line);
  }

  private emit(line: string): void {
    if (line.trim() !== "" && !this.signal.aborted) this.onLine(line);
  }
}

async function byteAt(fh: FileHandle, offset: number): Promise<number | undefined> {
  if (offset < 0) return undefined;
  const one = Buffer.alloc(1);
  const { bytesRead } = await fh.read(one, 0, 1, offset);
  return bytesRead === 1 ? one[0] : undefined;
}

function splitLines(buf: Buffer): string[] {
  const lines = buf.toString("utf8").split("\n");
  lines.pop(); // after the final "\n"
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

function count(buf: Buffer, byte: number): number {
  let n = 0;
  for (let i = buf.indexOf(byte); i >= 0; i = buf.indexOf(byte, i + 1)) n++;
  return n;
}

async function openOrNull(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
