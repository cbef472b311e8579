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

export function instrumentMethods(table: MethodTable, metrics: Metrics): MethodTable {
  const wrapped: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(table) as [
    MethodName,
    (p: unknown, c: unknown) => unknown,
  ][]) {
    wrapped[name] = async (params: unknown, ctx: unknown) => {
      const operation = TIMED[name];
      const stop = operation ? metrics.latencyMs.startTimer({ operation }) : undefined;
      try {
        const result = await handler(params, ctx);
        metrics.rpcTotal.inc({ method: name, outcome: "ok" });
        count(name, result, metrics);
        return result;
      } catch (err) {
        metrics.rpcTotal.inc({ method: name, outcome: "error" });
        throw err;
      } finally {
        stop?.();
      }
    };
  }
  return wrapped as MethodTable;
}

function count(name: MethodName, result: unknown, metrics: Metrics): void {
  if (name === "sync.push") {
    const r = result as { synced: number; failed: string[] };
    metrics.pushTotal.inc({ result: "synced" }, r.synced);
    metrics.pushTotal.inc({ result: "failed" }, r.failed.length);
  } else if (name === "sync.pull") {
    metrics.pullTotal.inc((result as { entries: unknown[] }).entries.length);
  }
}
