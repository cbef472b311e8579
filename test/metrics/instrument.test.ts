// caro_sync_latency_ms through the real instrumentation: a known duration must land in the
// millisecond bucket it belongs to (prom-client's startTimer() measures seconds, which put every
// operation in the `le="1"` bucket).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MethodTable } from "../../src/ipc/methods/types.js";
import { instrumentMethods } from "../../src/metrics/instrument.js";
import { createMetrics } from "../../src/metrics/metrics.js";

/** The sample `name{labels}` of the exposition text, as a number (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const bucket = (text: string, operation: string, le: string) =>
  sample(text, `caro_sync_latency_ms_bucket{le="${le}",operation="${operation}"}`);

/** Only the handlers a test calls; the wrapper treats every entry alike. */
function table(handlers: Record<string, (params: unknown) => unknown>): MethodTable {
  return handlers as unknown as MethodTable;
}

type Call = (params: unknown, ctx: unknown) => unknown;
/** As the dispatcher calls a handler: the result awaited (a synchronous one is returned as is). */
const call = async (t: MethodTable, name: string, params: unknown = {}) =>
  await (t as unknown as Record<string, Call>)[name]!(params, {});

describe("instrumentMethods: caro_sync_latency_ms", () => {
  it("observes a 42 ms push in the 50 ms bucket, not the 1 ms one", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    const readings = [1_000, 1_042];
    const methods = instrumentMethods(
      table({ "sync.push": () => ({ synced: 2, failed: ["x"], errors: [] }) }),
      metrics,
      { now: () => readings.shift() ?? assert.fail("the clock was read more than twice") },
    );

    await call(methods, "sync.push", { entries: [] });

    const text = await (await metrics.registry()).metrics();
    assert.equal(bucket(text, "push", "1"), 0);
    assert.equal(bucket(text, "push", "25"), 0);
    assert.equal(bucket(text, "push", "50"), 1);
    assert.equal(bucket(text, "push", "+Inf"), 1);
    assert.equal(sample(text, 'caro_sync_latency_ms_sum{operation="push"}'), 42);
    assert.equal(sample(text, 'caro_sync_latency_ms_count{operation="push"}'), 1);
    assert.equal(sample(text, 'caro_sync_push_total{result="synced"}'), 2);
    assert.equal(sample(text, 'caro_sync_push_total{result="failed"}'), 1);
  });

  it("times failed operations too, and counts them as errors", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    const readings = [0, 3_000];
    const methods = instrumentMethods(
      table({
        "sync.now": () => {
          throw new Error("relay unreachable");
        },
      }),
      metrics,
      { now: () => readings.shift() ?? 0 },
    );

    await assert.rejects(call(methods, "sync.now"), /relay unreachable/);

    const text = await (await metrics.registry()).metrics();
    assert.equal(bucket(text, "now", "2500"), 0);
    assert.equal(bucket(text, "now", "5000"), 1);
    assert.equal(sample(text, 'caro_sync_rpc_total{method="sync.now",outcome="error"}'), 1);
  });

  it("measures milliseconds with the default clock", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    const methods = instrumentMethods(
      table({
        // A handler that takes a measured 30 ms of real time (the duration under test, not a wait
        // for something else to happen).
        "sync.pull": async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          return { entries: [], hasMore: false, nextCursor: 0, syncTimestamp: 0 };
        },
      }),
      metrics,
    );
    const started = performance.now();
    await call(methods, "sync.pull");
    const elapsed = performance.now() - started;

    const text = await (await metrics.registry()).metrics();
    const sum = sample(text, 'caro_sync_latency_ms_sum{operation="pull"}');
    assert.ok(sum !== undefined && sum >= 25 && sum <= elapsed + 1, `sum ${sum} ms, elapsed ${elapsed} ms`);
    assert.equal(bucket(text, "pull", "10"), 0);
    assert.equal(bucket(text, "pull", "+Inf"), 1);
  });

  it("does not time methods other than push, pull and now", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    let reads = 0;
    const methods = instrumentMethods(table({ "daemon.ping": () => ({ pong: true }) }), metrics, {
      now: () => ++reads,
    });
    await call(methods, "daemon.ping");
    assert.equal(reads, 0);
    const text = await (await metrics.registry()).metrics();
    assert.equal(sample(text, 'caro_sync_rpc_total{method="daemon.ping",outcome="ok"}'), 1);
  });

  it("answers a synchronous handler synchronously, and counts every call once across reads", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    const methods = instrumentMethods(
      table({
        "daemon.ping": () => ({ pong: true }),
        "daemon.health": () => {
          throw new Error("broken");
        },
      }),
      metrics,
    );
    const ping = (methods as unknown as Record<string, Call>)["daemon.ping"]!;
    assert.deepEqual(ping(undefined, {}), { pong: true });
    await call(methods, "daemon.ping");
    await assert.rejects(call(methods, "daemon.health"), /broken/);
    const series = (method: string, outcome: string) =>
      `caro_sync_rpc_total{method="${method}",outcome="${outcome}"}`;
    let text = await (await metrics.registry()).metrics();
    assert.equal(sample(text, series("daemon.ping", "ok")), 2);
    assert.equal(sample(text, series("daemon.health", "error")), 1);
    ping(undefined, {});
    text = await (await metrics.registry()).metrics();
    assert.equal(sample(text, series("daemon.ping", "ok")), 3);
    assert.equal(sample(text, series("daemon.health", "error")), 1);
  });
});

describe("createMetrics", () => {
  it("prefixes the default process metrics once: caro_sync_process_*, caro_sync_nodejs_*", async () => {
    const text = await (await createMetrics({ queueSize: () => 0 }).registry()).metrics();
    assert.match(text, /^caro_sync_process_resident_memory_bytes \d+/m);
    assert.match(text, /^caro_sync_nodejs_eventloop_lag_seconds /m);
    assert.doesNotMatch(text, /process_process_|caro_sync_process_nodejs_/);
  });
});
