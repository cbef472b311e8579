// Reading the daemon's log file like `tail -n N -F`: the last complete lines, then whatever is
// appended. A line counts once it ends with "\n": pino writes a line in one write, but a reader
// can still catch it half-written, and a torn line must not be printed as if it were whole.
import { watch } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
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
 * The last `n` complete lines of the log (blank lines left out), and the position just past the
 * last newline of `path` (a torn last line is read again, whole, by `followLog`). When `path`
 * holds fewer than `n`, the rest comes from the rotated files, `older(1)` (the newest) first, as
 * far as they go. Throws ENOENT if `path` is absent.
 */
export async function tailLines(
  path: string,
  n: number,
  opts: { older?: (index: number) => string } = {},
): Promise<{ lines: string[]; position: LogPosition }> {
  const current = await tailOfFile(path, n);
  let lines = current.lines;
  for (let index = 1; opts.older && lines.length < n; index++) {
    const older = await tailOfFile(opts.older(index), n - lines.length).catch(nullIfAbsent);
    if (older === null) break;
    // Rotated since it was read: this is the file already read; the one before it comes next.
    if (older.position.ino === current.position.ino) continue;
    lines = [...older.lines, ...lines];
  }
  return { lines, position: current.position };
}

async function tailOfFile(path: string, n: number): Promise<{ lines: string[]; position: LogPosition }> {
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
 * It keeps the file it reads open, so when the log is rotated (renamed, a new file created in its
 * place) the lines written to the old file before it went are read first, then the new file from
 * its beginning. When the file shrinks (truncated) it reads it again from the beginning; while the
 * path is missing (between rotation and re-creation) it waits. Resolves once stopped; rejects
 * only on a read error other than ENOENT.
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
    await follower.close();
  }
}

/** The reading side of followLog: one read at a time, each from where the last one stopped. */
class LogFollower {
  /** Settles when the signal aborts (resolved) or a read fails (rejected). */
  readonly done: Promise<void>;
  private position: LogPosition;
  /** The file `position` is in, held open across rotation. */
  private held: FileHandle | null = null;
  /** Bytes after the last newline read: the start of a line still being written. */
  private pending = Buffer.alloc(0);
  /** The byte before `position.offset` as it was read: if it changed, the file was rewritten. */
  private lastByte: number | undefined;
  private reading: Promise<void> | null = null;
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
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readNew();
        } while (this.again && !this.signal.aborted);
      } catch (err) {
        this.fail(new Error(`cannot read ${this.path}`, { cause: err }));
      } finally {
        this.reading = null;
      }
    })();
  }

  /** After the last read: releases the file. */
  async close(): Promise<void> {
    await this.reading;
    await this.held?.close();
    this.held = null;
  }

  private async readNew(): Promise<void> {
    const ino = await inodeOrNull(this.path);
    if (this.held && ino !== this.position.ino) {
      // Rotated away (or removed): its last lines first. A writer that rotates closes the file
      // before renaming it, so once the name points elsewhere nothing more is appended to it.
      await this.drain(this.held);
      if (this.pending.length > 0) this.emit(this.pending.toString("utf8"));
      await this.held.close();
      this.held = null;
    }
    if (ino === null) return;
    if (!this.held) {
      const fh = await openOrNull(this.path);
      if (fh === null) return;
      this.held = fh;
      // fstat, not the stat above: the path may have been replaced once more in between.
      const opened = (await fh.stat()).ino;
      if (opened !== this.position.ino) this.restart(opened);
    }
    await this.drain(this.held);
  }

  /** Reads `fh` from the position to its end. */
  private async drain(fh: FileHandle): Promise<void> {
    const info = await fh.stat();
    // Truncated and written again between two looks can leave it as long as before; the byte
    // we last read no longer being there gives that away.
    if (info.size < this.position.offset || (await byteAt(fh, this.position.offset - 1)) !== this.lastByte) {
      this.restart(info.ino);
    }
    for (;;) {
      const buf = Buffer.alloc(CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, this.position.offset);
      if (bytesRead === 0) return;
      this.position.offset += bytesRead;
      this.lastByte = buf[bytesRead - 1];
      this.take(buf.subarray(0, bytesRead));
    }
  }

  /** From the beginning of the file `ino`. */
  private restart(ino: number): void {
    this.position = { ino, offset: 0 };
    this.pending = Buffer.alloc(0);
    this.lastByte = undefined;
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

async function inodeOrNull(path: string): Promise<number | null> {
  try {
    return (await stat(path)).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function nullIfAbsent(err: unknown): null {
  if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
  throw err;
}

async function openOrNull(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
