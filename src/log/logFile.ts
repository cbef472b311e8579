// Where the daemon's log lines go: stderr in the foreground; in the background a file rotated by
// size (rotating-file-stream), so a daemon that logs for months keeps at most `files` files of
// about `maxBytes` each. The active file keeps its name; rotation renames it `<path>.1` and shifts
// the older ones up to `<path>.<files-1>`, the oldest being overwritten. Every file is 0600.
import { existsSync, unlinkSync } from "node:fs";
import { pino, type DestinationStream, type Logger } from "pino";
import { createStream, type Generator, type RotatingFileStream } from "rotating-file-stream";
import { rotatedLogPath } from "./logFileName.js";

/** A log line destination and how to finish with it. */
export interface LogOutput {
  readonly destination: DestinationStream;
  /**
   * Resolves once every line written so far is in the file and the file is closed, or after
   * `withinMs` if writing hangs (a stuck disk must not keep a crashed daemon alive). Lines
   * written afterwards are dropped. Idempotent.
   */
  close(withinMs?: number): Promise<void>;
}

/** stderr, written synchronously: nothing to wait for at exit. */
export function stderrOutput(): LogOutput {
  return { destination: pino.destination({ fd: 2, sync: true }), close: () => Promise.resolve() };
}

/** After a write error the file is tried again on the first line at least this much later. */
export const REOPEN_AFTER_MS = 30_000;
const CLOSE_WITHIN_MS = 2_000;

export function openLogFile(opts: {
  path: string;
  maxBytes: number;
  /** Files kept, the active one included (≥ 2). */
  files: number;
  now?: () => number;
  /** Where a write error is reported (the log itself cannot say it); stderr by default. */
  warn?: (text: string) => void;
}): LogOutput {
  return new RotatingLogFile({
    now: Date.now,
    warn: (text) => process.stderr.write(`caro-sync: ${text}\n`),
    ...opts,
  });
}

/**
 * Writes are asynchronous (the library appends through a file handle and rotates in between), so
 * a line logged just before process.exit() would be lost: exit through this instead. It logs
 * `err` as fatal and exits with `code` once the output holds it and everything before it.
 */
export function exitAfterFatal(opts: {
  logger: Logger;
  output: LogOutput;
  err: unknown;
  msg: string;
  code: number;
}): void {
  opts.logger.fatal({ err: opts.err }, opts.msg);
  void opts.output.close().finally(() => process.exit(opts.code));
}

/**
 * A write error (a full disk, a rename that fails) does not take the daemon down: lines are
 * dropped and counted, and the file is opened again on the first line REOPEN_AFTER_MS later,
 * starting with a line that says how many were lost.
 */
class RotatingLogFile implements LogOutput {
  readonly destination: DestinationStream = { write: (line: string) => this.write(line) };
  private stream: RotatingFileStream | null = null;
  private failedAt: number | null = null;
  private failure = "";
  private dropped = 0;
  private closing: Promise<void> | null = null;

  private readonly path: string;
  private readonly now: () => number;

  constructor(
    private readonly opts: {
      path: string;
      maxBytes: number;
      files: number;
      now: () => number;
      warn: (text: string) => void;
    },
  ) {
    this.path = opts.path;
    this.now = opts.now;
    this.stream = this.open();
  }

  close(withinMs = CLOSE_WITHIN_MS): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const stream = this.stream;
      this.stream = null;
      if (!stream) return resolve();
      const timer = setTimeout(resolve, withinMs);
      stream.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closing;
  }

  private write(line: string): void {
    if (this.closing) return;
    if (!this.stream) {
      if (this.failedAt !== null && this.now() - this.failedAt < REOPEN_AFTER_MS) {
        this.dropped++;
        return;
      }
      this.stream = this.open();
      this.stream.write(this.lossNotice());
      this.dropped = 0;
    }
    this.stream.write(line);
  }

  private open(): RotatingFileStream {
    this.removeBeyondLimit();
    // With `rotate`, the library asks for the active file's name with null, then for 1 … rotate.
    const name: Generator = (index) =>
      typeof index === "number" && index > 0 ? rotatedLogPath(this.path, index) : this.path;
    const stream = createStream(name, {
      size: `${this.opts.maxBytes}B`,
      rotate: this.opts.files - 1,
      mode: 0o600,
    });
    stream.on("error", (err: NodeJS.ErrnoException) => this.failed(stream, err));
    return stream;
  }

  private failed(stream: RotatingFileStream, err: NodeJS.ErrnoException): void {
    // Later errors of a stream already given up (writes queued before it failed) say nothing new.
    if (this.stream !== stream) return;
    this.stream = null;
    this.failedAt = this.now();
    this.failure = err.code ?? err.message;
    stream.destroy();
    this.opts.warn(
      `cannot write the log file ${this.path} (${this.failure}); trying again in ${REOPEN_AFTER_MS / 1000} s`,
    );
  }

  /** Rotated files left by a larger `files` setting: rotation would never touch them again. */
  private removeBeyondLimit(): void {
    for (let i = this.opts.files; existsSync(rotatedLogPath(this.path, i)); i++) {
      try {
        unlinkSync(rotatedLogPath(this.path, i));
      } catch {
        return;
      }
    }
  }

  /** A line in the daemon's own format (src/log/logger.ts), so `caro-sync logs` shows it. */
  private lossNotice(): string {
    const notice = {
      level: 40,
      time: this.now(),
      pid: process.pid,
      name: "caro-sync",
      failure: this.failure,
      dropped: this.dropped,
      msg: "the log file could not be written for a while: lines were lost",
    };
    return JSON.stringify(notice) + "\n";
  }
}
