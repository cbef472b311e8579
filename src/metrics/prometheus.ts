// The Prometheus metrics themselves (prom-client), behind metrics.ts, which loads this module when
// they are first needed. Names are the seed's; each daemon has its own Registry so tests can run
// several in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface PromMetrics {
  readonly registry: Registry;
  /** Entries accepted by sync.push, by result ("synced" or "failed"). */
  readonly pushTotal: Counter<"result">;
  /** Entries handed out by sync.pull. */
  readonly pullTotal: Counter;
  /** Duration of sync operations in ms (push, pull, now), by operation. */
  readonly latencyMs: Histogram<"operation">;
  readonly queueSize: Gauge;
  readonly rpcTotal: Counter<"method" | "outcome">;
}

/** Requests counted since the last read, by method (metrics.ts countRequest); drained into rpcTotal. */
export type RpcCounts = Map<string, { ok: number; error: number }>;

export function createPromMetrics(opts: { queueSize: () => number; rpcCounts: RpcCounts }): PromMetrics {
  const registry = new Registry();
  // The default metrics are already named process_* and nodejs_*: "caro_sync_" alone gives
  // caro_sync_process_resident_memory_bytes, not caro_sync_process_process_….
  collectDefaultMetrics({ register: registry, prefix: "caro_sync_" });
  return {
    registry,
    pushTotal: new Counter({
      name: "caro_sync_push_total",
      help: "Entries received by sync.push, by result",
      labelNames: ["result"],
      registers: [registry],
    }),
    pullTotal: new Counter({
      name: "caro_sync_pull_total",
      help: "Entries returned by sync.pull",
      registers: [registry],
    }),
    latencyMs: new Histogram({
      name: "caro_sync_latency_ms",
      help: "Duration of sync operations in milliseconds",
      labelNames: ["operation"],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000],
      registers: [registry],
    }),
    queueSize: new Gauge({
      name: "caro_sync_queue_size",
      help: "Changes accepted locally and not yet confirmed by the relay",
      registers: [registry],
      collect() {
        this.set(opts.queueSize());
      },
    }),
    rpcTotal: new Counter({
      name: "caro_sync_rpc_total",
      help: "JSON-RPC requests handled, by method and outcome",
      labelNames: ["method", "outcome"],
      registers: [registry],
      collect() {
        for (const [method, counts] of opts.rpcCounts) {
          if (counts.ok > 0) this.inc({ method, outcome: "ok" }, counts.ok);
          if (counts.error > 0) this.inc({ method, outcome: "error" }, counts.error);
          counts.ok = counts.error = 0;
        }
      },
    }),
  };
}
