// A failure that repeats (a connection attempt every few seconds, a probe, a background retry) is
// logged in full once, not once per attempt: a stack trace every 5 s is 30 MB a day and hides
// everything else. The first occurrence, and each change to a different failure, is logged with
// its stack; repeats of the same failure are one short debug line each and, at the guard's level,
// a count summarised every `summaryEveryMs`, before a different failure, and on recovery.
import type { Logger } from "./logger.js";

export type GuardLevel = "info" | "warn" | "error";

export interface RepeatGuardOptions {
  logger: Logger;
  /** Only now() is used: the summary is written by the next occurrence, no timer is left running. */
  clock: { now(): number };
  /** The message of the full line, e.g. "could not open the sync account". */
  msg: string;
  /** The message logged once when it works again after failing, e.g. "opened the sync account". */
  recoveredMsg: string;
  level?: GuardLevel;
  summaryEveryMs?: number;
}

/** One occurrence: `err` is logged with its stack (the err serializer); `fields` go on the full line. */
export interface Occurrence {
  err?: unknown;
  /** What makes two occurrences the same failure; by default the error's type, code and message. */
  key?: string;
  fields?: Record<string, unknown>;
}

export const DEFAULT_SUMMARY_EVERY_MS = 10 * 60_000;

interface Streak {
  key: string;
  /** Since the first occurrence of any failure in this run of failures (until recovery). */
  since: number;
  total: number;
  /** Repeats of `key` not yet in a summary, and since when. */
  unsummarised: number;
  windowStart: number;
}

export class RepeatGuard {
  private streak: Streak | null = null;
  private readonly level: GuardLevel;
  private readonly summaryEveryMs: number;

  constructor(private readonly opts: RepeatGuardOptions) {
    this.level = opts.level ?? "warn";
    this.summaryEveryMs = opts.summaryEveryMs ?? DEFAULT_SUMMARY_EVERY_MS;
  }

  /** Records one failure: logged in full if it differs from the last one, counted otherwise. */
  failed(occurrence: Occurrence): void {
    const now = this.opts.clock.now();
    const key = occurrence.key ?? failureKey(occurrence.err);
    const s = this.streak;
    if (s && s.key === key) {
      s.total++;
      s.unsummarised++;
      this.opts.logger.debug({ failure: key, repeat: s.total }, `${this.opts.msg} (again)`);
      if (now - s.windowStart >= this.summaryEveryMs) this.summarise(s, now);
      return;
    }
    if (s) this.summarise(s, now);
    this.streak = {
      key,
      since: s?.since ?? now,
      total: (s?.total ?? 0) + 1,
      unsummarised: 0,
      windowStart: now,
    };
    const err = occurrence.err === undefined ? {} : { err: occurrence.err };
    this.opts.logger[this.level]({ ...occurrence.fields, ...err }, this.opts.msg);
  }

  /** It works again: once after failures, with how many there were and for how long; else nothing. */
  recovered(fields: Record<string, unknown> = {}): void {
    const s = this.streak;
    if (!s) return;
    const now = this.opts.clock.now();
    this.summarise(s, now);
    this.streak = null;
    this.opts.logger.info(
      { ...fields, failures: s.total, overMs: now - s.since },
      `${this.opts.recoveredMsg} after ${plural(s.total, "failure")} over ${duration(now - s.since)}`,
    );
  }

  private summarise(s: Streak, now: number): void {
    if (s.unsummarised > 0) {
      this.opts.logger[this.level](
        { failure: s.key, repeated: s.unsummarised, overMs: now - s.windowStart },
        `${this.opts.msg}: the same failure ${plural(s.unsummarised, "more time")} over ${duration(now - s.windowStart)}`,
      );
    }
    s.unsummarised = 0;
    s.windowStart = now;
  }
}

/** "Type [code]: message" of an error (or of a {kind, message} failure), the identity of a failure. */
export function failureKey(err: unknown): string {
  if (err === null || typeof err !== "object") return String(err);
  const e = err as { name?: unknown; code?: unknown; kind?: unknown; message?: unknown };
  const type = typeof e.name === "string" ? e.name : typeof e.kind === "string" ? e.kind : "failure";
  const code = typeof e.code === "string" || typeof e.code === "number" ? ` [${e.code}]` : "";
  const message = typeof e.message === "string" ? e.message : "";
  return `${type}${code}: ${message}`;
}

function plural(n: number, word: string): string {
  return n === 1 ? `1 ${word}` : `${n} ${word}s`;
}

/** "850 ms", "12 s", "10 min", "3 h" (rounded down; enough for a log line). */
export function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.floor(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${Math.floor(ms / 3_600_000)} h`;
}
