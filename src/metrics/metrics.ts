// Prometheus metrics (prom-client), served by `daemon.metrics` over the socket and, when
// `metricsPort` is set, by `GET /metrics` on 127.0.0.1 (httpServer.ts).
// Names are the seed's; each daemon has its own Registry so tests can run several in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  /** Entries accepted by sync.push, by result ("synced" or "failed"). */
  readonly pushTotal: Counter<"result">;
  /** Entries handed out by sync.pull. */
  readonly pullTotal: Counter;
  /** Duration of sync operations in ms (push, pull, now), by operation. */
  readonly latencyMs: Histogram<"operation">;
  readonly queueSize: Gauge;
  readonly rpcTotal: Counter<"method" | "outcome">;
  /**
   * Counts one JSON-RPC request in rpcTotal. Cheap (a field incremented, no label hashing: it runs
   * for every request, daemon.ping included); added to rpcTotal when the metrics are read.
   */
  countRpc(method: string, outcome: "ok" | "error"): void;
}

export function createMetrics(opts: { queueSize: () => number }): Metrics {
  const registry = new Registry();
  /** Requests counted and not yet added to rpcTotal, by method. */
  const rpcCounts = new Map<string, { ok: number; error: number }>();
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
        for (const [method, counts] of rpcCounts) {
          if (counts.ok > 0) this.inc({ method, outcome: "ok" }, counts.ok);
          if (counts.error > 0) this.inc({ method, outcome: "error" }, counts.error);
          counts.ok = counts.error = 0;
        }
      },
    }),
    countRpc(method, outcome) {
      let counts = rpcCounts.get(method);
      if (counts === undefined) rpcCounts.set(method, (counts = { ok: 0, error: 0 }));
      counts[outcome]++;
    },
  };
}
