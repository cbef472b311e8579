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
    wrapped[name] = async (params: unknown, ctx: unknown) => {
      const operation = TIMED[name];
      const startedAt = operation ? now() : 0;
      try {
        const result = await handler(params, ctx);
        metrics.countRequest(name, "ok");
        count(name, result, metrics);
        return result;
      } catch (err) {
        metrics.countRequest(name, "error");
        throw err;
      } finally {
        if (operation) metrics.observeLatency(operation, now() - startedAt);
      }
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
