// Wraps every handler of the method table to count requests and time sync operations, so no
// handler carries metrics code of its own.
import type { MethodName } from "../protocol.js";
import type { MethodTable } from "../ipc/methods/types.js";
import type { Metrics } from "./metrics.js";

const TIMED: Partial<Record<MethodName, string>> = {
  "sync.push": "push",
  "sync.pull": "pull",
  "sync.now": "now",
};

export interface InstrumentOptions {
  /**
   * A monotonic clock in milliseconds (default `performance.now`). `caro_sync_latency_ms` observes
   * the difference of two readings as is, so it must count milliseconds: prom-client's
   * `startTimer()` measures seconds, which would put every operation in the lowest bucket.
   */
  now?: () => number;
}

export function instrumentMethods(
  table: MethodTable,
  metrics: Metrics,
  opts: InstrumentOptions = {},
): MethodTable {
  const now = opts.now ?? (() => performance.now());
  const wrapped: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(table) as [
    MethodName,
    (p: unknown, c: unknown) => unknown,
  ][]) {
    const operation = TIMED[name];
    const done = (outcome: "ok" | "error", result: unknown, startedAt: number) => {
      metrics.countRequest(name, outcome);
      if (outcome === "ok") count(name, result, metrics);
      if (operation) metrics.observeLatency(operation, now() - startedAt);
    };
    // Synchronous for a synchronous handler (daemon.ping): no promise, no extra microtask.
    wrapped[name] = (params: unknown, ctx: unknown) => {
      const startedAt = operation ? now() : 0;
      let result: unknown;
      try {
        result = handler(params, ctx);
      } catch (err) {
        done("error", undefined, startedAt);
        throw err;
      }
      if (!(result instanceof Promise)) {
        done("ok", result, startedAt);
        return result;
      }
      return result.then(
        (value: unknown) => {
          done("ok", value, startedAt);
          return value;
        },
        (err: unknown) => {
          done("error", undefined, startedAt);
          throw err;
        },
      );
    };
  }
  return wrapped as MethodTable;
}

function count(name: MethodName, result: unknown, metrics: Metrics): void {
  if (name === "sync.push") {
    const r = result as { synced: number; failed: string[] };
    metrics.countPush(r.synced, r.failed.length);
  } else if (name === "sync.pull") {
    metrics.countPull((result as { entries: unknown[] }).entries.length);
  }
}
