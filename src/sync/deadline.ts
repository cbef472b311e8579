// The one deadline helper: every "wait for this, but not longer than that" in the daemon goes
// through withDeadline, on the injected clock, so tests drive deadlines with the fake clock and a
// timer is never left behind (it is cleared whichever way the wait ends).
import type { Clock, TimerOptions } from "./clock.js";

/** Why a wait ended before its work settled. */
export type DeadlineEnd = "timeout" | "aborted";

export interface DeadlineOptions<T> extends TimerOptions {
  ms: number;
  clock: Clock;
  /**
   * The outcome when the deadline passes (or `signal` aborts) before `work` settles: return a
   * fallback value, or throw to reject. `work` itself is not cancelled: its later result is dropped.
   */
  onTimeout: (why: DeadlineEnd) => T | PromiseLike<T>;
  /** Ends the wait early (e.g. the client that asked has disconnected). */
  signal?: AbortSignal;
}

/**
 * Settles like `work` if it settles within `ms` on `clock`; otherwise with `onTimeout("timeout")`.
 * An aborted `signal` ends the wait at once with `onTimeout("aborted")`. With `ms <= 0` only work
 * that has already settled counts; nothing waits on the clock.
 */
export function withDeadline<T>(work: PromiseLike<T>, opts: DeadlineOptions<T>): Promise<T> {
  const { clock, signal } = opts;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    const end = (why: DeadlineEnd): void =>
      finish(() => {
        try {
          Promise.resolve(opts.onTimeout(why)).then(resolve, reject);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    const onAbort = (): void => end("aborted");
    const timer = opts.ms > 0 ? clock.setTimeout(() => end("timeout"), opts.ms, { unref: opts.unref }) : null;
    if (signal?.aborted) return end("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))),
    );
    // Queued after work's own reaction: work that has already settled still wins.
    if (timer === null) queueMicrotask(() => end("timeout"));
  });
}
