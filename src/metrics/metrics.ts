// The daemon's metrics, served by `daemon.metrics` over the socket and, when `metricsPort` is set,
// by `GET /metrics` on 127.0.0.1 (httpServer.ts), in Prometheus's text format.
//
// prom-client and its default metrics (some 90 modules with @opentelemetry/api) are loaded when
// first needed, not at start-up: on the first scrape, when the HTTP endpoint starts, or once
// EARLY_RECORDS_MAX records have waited for them. Until then each record (a push, a pull, a latency)
// waits in a list and is applied when they load, and requests are counted per method in plain
// fields, drained into the counter at each read: the counters count every request since start.
// The default metrics (event loop lag, GC) start counting when prom-client loads.
import type { Registry } from "prom-client";
import type { PromMetrics, RpcCounts } from "./prometheus.js";

/** Records kept before prom-client is loaded: the next one loads it (bounded memory, no timer). */
export const EARLY_RECORDS_MAX = 1_000;

export interface Metrics {
  /**
   * A handled JSON-RPC request, by method and outcome. Cheap (it runs for every request,
   * daemon.ping included): a field incremented, added to the counter when the metrics are read.
   */
  countRequest(method: string, outcome: "ok" | "error"): void;
  /** The entries of one sync.push, by result. */
  countPush(synced: number, failed: number): void;
  /** Entries handed out by one sync.pull. */
  countPull(entries: number): void;
  /** Duration of a sync operation (push, pull, now) in milliseconds. */
  observeLatency(operation: string, ms: number): void;
  /** The Registry, once prom-client is loaded. */
  registry(): Promise<Registry>;
}

export function createMetrics(opts: { queueSize: () => number }): Metrics {
  let loaded: PromMetrics | null = null;
  let loading: Promise<PromMetrics> | null = null;
  let failed = false;
  const early: ((m: PromMetrics) => void)[] = [];
  const rpcCounts: RpcCounts = new Map();

  const load = (): Promise<PromMetrics> =>
    (loading ??= import("./prometheus.js").then(
      ({ createPromMetrics }) => {
        const m = createPromMetrics({ ...opts, rpcCounts });
        for (const apply of early.splice(0)) apply(m);
        loaded = m;
        return m;
      },
      (err: unknown) => {
        // A broken installation: daemon.metrics fails (-32603), and nothing more is kept.
        failed = true;
        early.length = 0;
        throw err;
      },
    ));
  const record = (apply: (m: PromMetrics) => void): void => {
    if (loaded) return apply(loaded);
    if (failed) return;
    early.push(apply);
    if (early.length >= EARLY_RECORDS_MAX) load().catch(() => {});
  };

  return {
    countRequest: (method, outcome) => {
      let counts = rpcCounts.get(method);
      if (counts === undefined) rpcCounts.set(method, (counts = { ok: 0, error: 0 }));
      counts[outcome]++;
    },
    countPush: (synced, failedEntries) =>
      record((m) => {
        m.pushTotal.inc({ result: "synced" }, synced);
        m.pushTotal.inc({ result: "failed" }, failedEntries);
      }),
    countPull: (entries) => record((m) => m.pullTotal.inc(entries)),
    observeLatency: (operation, ms) => record((m) => m.latencyMs.observe({ operation }, ms)),
    registry: async () => (await load()).registry,
  };
}
