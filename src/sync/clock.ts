// Time comes in through this interface so that the retry policy, TTLs, rate limits and deadlines
// run on a fake clock in tests, with no sleeps.
export type TimerHandle = { readonly __timer: unique symbol };

export interface TimerOptions {
  /**
   * The timer must not keep the process alive (a grace period while something closes, a periodic
   * measurement). Default false: a timer the daemon is waiting for holds the process until it
   * fires or is cleared, like any Node timer.
   */
  unref?: boolean;
}

export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number, opts?: TimerOptions): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, opts) => {
    const t = setTimeout(fn, ms);
    if (opts?.unref) t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
