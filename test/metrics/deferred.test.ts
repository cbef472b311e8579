// prom-client loads when the metrics are first needed (metrics.ts), and nothing recorded before is
// lost. Its own file: the other metrics tests load prom-client into this process at once.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { EARLY_RECORDS_MAX, createMetrics } from "../../src/metrics/metrics.js";
import { waitFor } from "../helpers/wait.js";

const promClientLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("/node_modules/prom-client/"));

const sample = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(`${series} `))
      ?.slice(series.length + 1),
  );

describe("metrics before prom-client is loaded", () => {
  it("keeps up to EARLY_RECORDS_MAX records, loads it with the next, and loses none", async () => {
    assert.equal(promClientLoaded(), false);
    const metrics = createMetrics({ queueSize: () => 4 });
    // Requests are counted in a field per method, not kept as records: any number waits.
    for (let i = 0; i < 3 * EARLY_RECORDS_MAX; i++) metrics.countRequest("daemon.ping", "ok");
    metrics.countRequest("sync.push", "error");
    metrics.countPush(5, 2);
    metrics.observeLatency("push", 42);
    for (let i = 2; i < EARLY_RECORDS_MAX - 1; i++) metrics.countPull(1);
    assert.equal(promClientLoaded(), false, "loaded before the bound");
    metrics.countPull(1);
    await waitFor(promClientLoaded, { what: "prom-client to load" });

    metrics.countRequest("sync.push", "error"); // counted from now on too
    const text = await (await metrics.registry()).metrics();
    assert.equal(
      sample(text, 'caro_sync_rpc_total{method="daemon.ping",outcome="ok"}'),
      3 * EARLY_RECORDS_MAX,
    );
    assert.equal(sample(text, 'caro_sync_rpc_total{method="sync.push",outcome="error"}'), 2);
    assert.equal(sample(text, 'caro_sync_push_total{result="synced"}'), 5);
    assert.equal(sample(text, 'caro_sync_push_total{result="failed"}'), 2);
    assert.equal(sample(text, "caro_sync_pull_total"), EARLY_RECORDS_MAX - 2);
    assert.equal(sample(text, 'caro_sync_latency_ms_count{operation="push"}'), 1);
    assert.equal(sample(text, "caro_sync_queue_size"), 4);
  });
});
