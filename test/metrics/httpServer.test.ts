// GET /metrics on 127.0.0.1: in process (routes, binding, a taken port), then through the real
// daemon started with --metrics-port, scraped over HTTP.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { Socket, createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { METRICS_HOST, MetricsPortError, startMetricsServer } from "../../src/metrics/httpServer.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { freePort } from "../helpers/relay.js";
import { waitFor } from "../helpers/wait.js";

const silent = pino({ level: "silent" });

/** A non-loopback IPv4 address of this machine, if it has one (to show nothing listens there). */
function externalAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

/** Resolves with the error code of a TCP connect to host:port ("connected" if it succeeds). */
function connectOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    socket.connect(port, host);
  });
}

function listenOn(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

describe("startMetricsServer", () => {
  it("serves the registry on 127.0.0.1 only, and 404s every other path", async () => {
    const metrics = createMetrics({ queueSize: () => 7 });
    metrics.countPush(3, 0);
    const port = await freePort();
    const server = await startMetricsServer({ registry: await metrics.registry(), port, logger: silent });
    try {
      assert.deepEqual(server.address, { host: "127.0.0.1", port });
      assert.equal(METRICS_HOST, "127.0.0.1");

      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), (await metrics.registry()).contentType);
      const text = await res.text();
      assert.match(text, /^caro_sync_push_total\{result="synced"\} 3$/m);
      assert.match(text, /^caro_sync_queue_size 7$/m);
      assert.match(text, /^# TYPE caro_sync_latency_ms histogram$/m);

      const withQuery = await fetch(`http://127.0.0.1:${port}/metrics?name[]=x`);
      assert.equal(withQuery.status, 200);
      await withQuery.arrayBuffer();
      for (const path of ["/", "/metrics/", "/health", "/metricsx"]) {
        const other = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(other.status, 404, path);
        await other.arrayBuffer();
      }
      const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST" });
      assert.equal(post.status, 405);
      await post.arrayBuffer();

      const external = externalAddress();
      if (external) assert.equal(await connectOutcome(external, port), "ECONNREFUSED");
    } finally {
      await server.close();
    }
    assert.equal(await connectOutcome("127.0.0.1", port), "ECONNREFUSED");
  });

  it("rejects a taken port with MetricsPortError naming the port", async () => {
    const port = await freePort();
    const squatter = await listenOn(port, "127.0.0.1");
    try {
      const metrics = createMetrics({ queueSize: () => 0 });
      await assert.rejects(
        startMetricsServer({ registry: await metrics.registry(), port, logger: silent }),
        (err: unknown) =>
          err instanceof MetricsPortError &&
          err.errno === "EADDRINUSE" &&
          err.message.includes(`127.0.0.1:${port} is already in use`),
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("closes promptly while a scraper holds a keep-alive connection", async () => {
    const metrics = createMetrics({ queueSize: () => 0 });
    const port = await freePort();
    const server = await startMetricsServer({ registry: await metrics.registry(), port, logger: silent });
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: "keep-alive" } });
    await res.text();
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1_000, "close did not wait for the idle connection");
  });
});

describe("caro-sync daemon --metrics-port", () => {
  let daemon: DaemonProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    daemon = await spawnDaemon({ args: ["--metrics-port", String(port)] });
  });
  after(() => daemon.cleanup());

  it("serves GET /metrics on 127.0.0.1 with the daemon's counters", async () => {
    // Real traffic first, so the counters have samples: one entry pushed (offline, queued).
    const client = await daemon.client();
    try {
      await client.init({
        authKey: randomBytes(32).toString("base64"),
        deviceName: "metrics-test",
        platform: "linux",
      });
      const encrypted = Buffer.concat([Buffer.from([1]), randomBytes(40)]).toString("base64");
      const pushed = await client.push({
        entries: [
          {
            id: randomUUID(),
            type: "command",
            encrypted,
            metadata: { deviceId: "d", createdAt: Date.now(), safetyLevel: "safe" },
          },
        ],
      });
      assert.equal(pushed.synced, 1);
    } finally {
      client.close();
    }

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^caro_sync_push_total\{result="synced"\} 1$/m);
    assert.match(text, /^caro_sync_latency_ms_count\{operation="push"\} 1$/m);
    assert.match(text, /^caro_sync_rpc_total\{method="sync.init",outcome="ok"\} 1$/m);
    assert.match(text, /^caro_sync_queue_size \d+$/m);
    assert.match(text, /^caro_sync_process_resident_memory_bytes \d+/m);

    // The same registry as daemon.metrics over the socket.
    const viaSocket = await daemon.client();
    try {
      const { text: socketText } = await viaSocket.metrics();
      assert.match(socketText, /^caro_sync_push_total\{result="synced"\} 1$/m);
    } finally {
      viaSocket.close();
    }

    const notFound = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(notFound.status, 404);
    await notFound.arrayBuffer();
  });

  it("binds 127.0.0.1 only (as it logs, and nothing answers on another interface)", async () => {
    const line = await waitFor(
      () =>
        daemon
          .stderr()
          .split("\n")
          .find((l) => l.includes('"metrics endpoint"')),
      { what: "the metrics endpoint log line" },
    );
    const logged = JSON.parse(line) as { host: string; port: number };
    assert.deepEqual({ host: logged.host, port: logged.port }, { host: "127.0.0.1", port });
    const external = externalAddress();
    if (external) assert.equal(await connectOutcome(external, port), "ECONNREFUSED");
  });

  it("refuses to start, exit 78, when the port is taken; the first daemon keeps serving", async () => {
    const second = await spawnDaemon({ args: ["--metrics-port", String(port)], waitReady: false });
    try {
      assert.equal(await second.exited, 78);
      assert.match(second.stderr(), new RegExp(`metrics port 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      await second.cleanup();
    }
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  it("closes the endpoint in the ordered shutdown", async () => {
    assert.equal(await daemon.stop(), 0);
    assert.equal(await connectOutcome("127.0.0.1", port), "ECONNREFUSED");
    assert.match(daemon.stderr(), /"daemon stopped"/);
  });
});

describe("metricsPort validation", () => {
  it("rejects an out-of-range --metrics-port with exit 78 before starting", async () => {
    const daemon = await spawnDaemon({ args: ["--metrics-port", "70000"], waitReady: false });
    try {
      assert.equal(await daemon.exited, 78);
      assert.match(daemon.stderr(), /--metrics-port.*expected an integer port from 0 to 65535/);
    } finally {
      await daemon.cleanup();
    }
  });
});
