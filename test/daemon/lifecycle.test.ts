// The daemon as a process: start on defaults, the state gate, socket permissions, one daemon per
// socket, stale sockets, shutdown by request and by signal, config errors and log redaction.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { RpcError } from "../../src/client/errors.js";
import { SyncClient } from "../../src/client/SyncClient.js";
import { ErrorCode, PROTOCOL_VERSION } from "../../src/protocol.js";
import { BIN, spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { RECORD_MODULES_FLAG, readLoadedModules } from "../helpers/loadedModules.js";
import { alive } from "../helpers/process.js";
import { tempDir } from "../helpers/tmp.js";
import { once, waitFor } from "../helpers/wait.js";

const AUTH_KEY = Buffer.alloc(32, 7).toString("base64");

async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  const err = await promise.then(
    () => assert.fail("expected an error response"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
  return err;
}

describe("daemon lifecycle", () => {
  const started: DaemonProcess[] = [];
  const start = async (opts?: Parameters<typeof spawnDaemon>[0]) => {
    const d = await spawnDaemon(opts);
    started.push(d);
    return d;
  };
  after(async () => {
    await Promise.all(started.map((d) => d.cleanup()));
  });

  it("starts on its defaults with no relay, UNINITIALIZED, and answers ping, handshake and health", async () => {
    const d = await start();
    const client = await d.client();
    try {
      const ping = await client.ping();
      assert.equal(ping.pong, true);
      assert.equal(typeof ping.version, "string");
      assert.ok(ping.uptime >= 0);

      const hs = await client.handshake({ clientVersion: "test", protocolVersion: PROTOCOL_VERSION });
      assert.equal(hs.protocolVersion, PROTOCOL_VERSION);
      assert.ok(hs.capabilities.length > 0);
      const bad = await rpcError(client.handshake({ clientVersion: "test", protocolVersion: "2.0.0" }));
      assert.equal(bad.code, ErrorCode.InvalidParams);
      assert.deepEqual(bad.data?.supported, [PROTOCOL_VERSION]);

      const health = await client.health();
      assert.equal(health.state, "UNINITIALIZED");
      assert.equal(health.jazz.connected, false);
      assert.equal(health.jazz.latency, null);
      assert.equal(health.queue.pending, 0);
      assert.equal(typeof health.cache.entries, "number");
    } finally {
      client.close();
    }
  });

  // Jazz is needed only to open an account, prom-client only for metrics: an empty HOME answers
  // without either (docs/performance.md).
  it("answers on an empty HOME without Jazz, prom-client or the other commands; loads each when needed", async () => {
    const home = await tempDir("csd-");
    const file = join(home.path, "modules.txt");
    const d = await start({
      home: home.path,
      env: { NODE_OPTIONS: RECORD_MODULES_FLAG, LOADED_MODULES_FILE: file },
    });
    const of = (pattern: RegExp) => (urls: string[]) => urls.filter((u) => pattern.test(u));
    const jazz = of(/\/node_modules\/(cojson|jazz-tools)[^/]*\//);
    const promClient = of(/\/node_modules\/prom-client\//);
    const client = await d.client();
    try {
      assert.equal((await client.health()).state, "UNINITIALIZED");
      const atStart = readLoadedModules(file);
      assert.deepEqual(jazz(atStart), []);
      assert.deepEqual(promClient(atStart), []);
      const commands = atStart.filter((u) => u.includes("/dist/src/cli/commands/"));
      assert.deepEqual(
        commands.map((u) => u.replace(/.*\//, "")),
        ["daemon.js"],
      );
      // The requests made before prom-client loaded are counted.
      const { text } = await client.metrics();
      assert.match(text, /^caro_sync_rpc_total\{method="daemon.health",outcome="ok"\} 1$/m);
      assert.notDeepEqual(promClient(readLoadedModules(file)), []);
      const init = await client.init({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
      assert.match(init.accountId, /^co_z/, "a Jazz account, not a local placeholder");
      assert.notDeepEqual(jazz(readLoadedModules(file)), []);
    } finally {
      client.close();
      await d.stop();
      await home.cleanup();
    }
  });

  it("refuses sync and device calls until initialized, with a hint, and lets sync.init through", async () => {
    const d = await start();
    const client = await d.client();
    try {
      for (const call of [() => client.status(), () => client.pull({}), () => client.listDevices()]) {
        const err = await rpcError(call());
        assert.equal(err.code, ErrorCode.NotInitialized);
        assert.equal(err.data?.reason, "not_initialized");
        assert.match(String(err.data?.hint), /init/);
      }
      // Past the gate, sync.init validates its params: a short key is -32602, not -32001.
      const err = await rpcError(client.init({ authKey: "c2hvcnQ=", deviceName: "test", platform: "linux" }));
      assert.equal(err.code, ErrorCode.InvalidParams);
    } finally {
      client.close();
    }
  });

  it("creates the socket 0600 in a 0700 directory", async () => {
    const d = await start();
    assert.equal(statSync(d.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(d.socketPath)).mode & 0o777, 0o700);
  });

  it("refuses to start a second daemon on a live socket and leaves the first one serving", async () => {
    const first = await start();
    const second = await spawnDaemon({ home: first.home, waitReady: false });
    assert.equal(await second.exited, 75);
    assert.match(second.stderr(), /already running/i);
    assert.match(second.stderr(), new RegExp(first.socketPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    const client = await first.client();
    assert.equal((await client.ping()).pong, true);
    client.close();
  });

  it("replaces a stale socket file left by a dead process", async () => {
    const { path: home, cleanup } = await tempDir("csd-");
    const socketPath = join(home, ".config", "cmdai", "sync.sock");
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
    // A socket file nobody listens on: the listener is killed with SIGKILL, so it cannot unlink it.
    const holder = spawn(
      process.execPath,
      ["-e", "require('net').createServer().listen(process.argv[1], () => console.log('up'))", socketPath],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    await once<Buffer>((listener) => {
      holder.stdout.on("data", listener);
      return () => holder.stdout.off("data", listener);
    });
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.once("exit", resolve));
    assert.ok(existsSync(socketPath));

    const d = await spawnDaemon({ home });
    started.push(d);
    const client = await d.client();
    assert.equal((await client.ping()).pong, true);
    client.close();
    await d.cleanup();
    await cleanup();
  });

  it("shuts down on daemon.shutdown: acknowledges, exits 0 and removes its socket", async () => {
    const d = await start();
    const client = await d.client();
    const result = await client.shutdown({ reason: "test" });
    assert.deepEqual(result, { acknowledged: true, pendingOperations: 0 });
    assert.equal(await d.exited, 0);
    assert.ok(!existsSync(d.socketPath));
    client.close();
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`shuts down cleanly on ${signal}`, async () => {
      const d = await start();
      d.child.kill(signal);
      assert.equal(await d.exited, 0);
      assert.ok(!existsSync(d.socketPath));
      assert.match(d.stderr(), /daemon stopped/);
    });
  }

  it("stops with exit code 78 on a bad config file, naming the file, the key and the expectation", async () => {
    const { path: home, cleanup } = await tempDir("csd-");
    const file = join(home, ".config", "cmdai", "sync-daemon.json");
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ syncIntervalMs: "soon" }));
    const d = await spawnDaemon({ home, waitReady: false });
    assert.equal(await d.exited, 78);
    assert.match(d.stderr(), new RegExp(`${file}.*"syncIntervalMs".*expected number`));
    await cleanup();
  });

  it("never writes the authKey or payloads to its log, even at trace level", async () => {
    const d = await start({ env: { CARO_SYNC_LOG_LEVEL: "trace" } });
    const client = await d.client();
    await client
      .init({ authKey: AUTH_KEY, deviceName: "secret-laptop-name", platform: "linux" })
      .catch(() => {});
    const blob = Buffer.concat([Buffer.from([1]), Buffer.alloc(40, 9)]).toString("base64");
    await client
      .push({
        entries: [
          {
            id: "6f1c0a52-3c3e-4a57-9f35-0f5e6f2c1b11",
            type: "command",
            encrypted: blob,
            metadata: { deviceId: "d1", createdAt: 1, safetyLevel: "safe" },
          },
        ],
      })
      .catch(() => {});
    client.close();
    await d.stop();
    const log = d.stderr();
    assert.ok(log.length > 0);
    assert.ok(!log.includes(AUTH_KEY), "the authKey reached the log");
    assert.ok(!log.includes(blob), "a payload reached the log");
  });

  it("runs with `npm start` on its defaults", async () => {
    const { path: home, cleanup } = await tempDir("csd-");
    const root = dirname(dirname(BIN));
    const child = spawn("npm", ["start", "--silent"], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: home, CARO_SYNC_RELAY: "ws://127.0.0.1:9" },
      stdio: "ignore",
      detached: true,
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const socketPath = join(home, ".config", "cmdai", "sync.sock");
      const health = await waitFor(
        async () => {
          const client = await SyncClient.connect({ socketPath });
          try {
            return await client.health();
          } finally {
            client.close();
          }
        },
        { timeoutMs: 30_000, what: "the daemon started by npm start" },
      );
      assert.equal(health.state, "UNINITIALIZED");
    } finally {
      process.kill(-child.pid!, "SIGTERM");
      await exited;
      // npm exits before the daemon it started has finished (closing its files, and on Node 22+
      // writing the compile cache into this HOME): wait until no process of the group is left (a
      // negative pid names the group).
      await waitFor(() => !alive(-child.pid!), {
        timeoutMs: 15_000,
        what: "npm start's daemon to exit",
      });
      await cleanup();
    }
  });
});
