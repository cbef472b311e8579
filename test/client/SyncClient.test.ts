import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ConnectionError,
  RpcError,
  SyncClient,
  TimeoutError,
  defaultTimeoutMs,
} from "../../src/client/index.js";
import { MAX_LINE_BYTES, TIMEOUTS, type StatusResult } from "../../src/protocol.js";
import { FakeClock } from "../helpers/fakeClock.js";
import { once, waitFor } from "../helpers/wait.js";
import { startHarness } from "../ipc/helpers.js";
import { tempDir } from "../helpers/tmp.js";
import { HOLD, PeerError, startPeer, type Peer } from "./peer.js";

function status(deviceId: string): StatusResult {
  return {
    state: "ONLINE",
    connected: true,
    paused: false,
    lastSync: null,
    pendingUp: 0,
    pendingDown: 0,
    deviceId,
    accountId: "co_zAccount",
  };
}

describe("SyncClient against a JSON-RPC peer on a real socket", () => {
  let peer: Peer;
  before(async () => {
    peer = await startPeer();
  });
  after(() => peer.close());

  const connect = () => SyncClient.connect({ socketPath: peer.socketPath });

  it("matches responses by id when they arrive in reverse order", async () => {
    peer.handlers.set("sync.status", () => HOLD);
    const client = await connect();
    try {
      const before = peer.requests.length;
      const calls = [client.status(), client.status(), client.status()];
      await waitFor(() => peer.requests.length === before + 3, { what: "three requests" });
      const held = peer.requests.slice(before);
      assert.equal(new Set(held.map((r) => r.id)).size, 3, "ids are distinct");
      for (const req of [...held].reverse()) req.reply(status(`device-${String(req.id)}`));
      const results = await Promise.all(calls);
      assert.deepEqual(
        results.map((r) => r.deviceId),
        held.map((r) => `device-${String(r.id)}`),
      );
    } finally {
      client.close();
    }
  });

  it("rejects with TimeoutError when the peer never answers, and ignores the late answer", async () => {
    peer.handlers.set("sync.status", () => HOLD);
    const client = await connect();
    try {
      const start = peer.requests.length;
      await assert.rejects(client.status({ timeoutMs: 30 }), (err) => {
        assert.ok(err instanceof TimeoutError);
        assert.equal(err.method, "sync.status");
        assert.equal(err.timeoutMs, 30);
        return true;
      });
      peer.requests[start]!.reply(status("late"));
      // The connection stays usable and the late answer went nowhere.
      assert.equal((await client.ping()).pong, true);
    } finally {
      client.close();
    }
  });

  it("delivers notifications to listeners until they unsubscribe", async () => {
    const client = await connect();
    try {
      const seen: number[] = [];
      const off = client.on("sync.entries", (p) => seen.push(p.count));
      const first = once<{ count: number }>((l) => client.on("sync.entries", l), { what: "notification" });
      await waitFor(() => peer.connections.size > 0);
      peer.notifyAll("sync.entries", { count: 1, cursor: 10 });
      assert.equal((await first).count, 1);
      off();
      peer.notifyAll("sync.entries", { count: 2, cursor: 11 });
      // Messages on one connection are handled in order: once the ping answer is in, so is count 2.
      await client.ping();
      assert.deepEqual(seen, [1]);
    } finally {
      client.close();
    }
  });

  it("rejects with RpcError carrying the code, reason, hint and data", async () => {
    peer.handlers.set("sync.status", () => {
      throw new PeerError(-32001, "Not Initialized", {
        reason: "not_initialized",
        hint: "run init",
        state: "UNINITIALIZED",
      });
    });
    const client = await connect();
    try {
      await assert.rejects(client.status(), (err) => {
        assert.ok(err instanceof RpcError);
        assert.equal(err.code, -32001);
        assert.equal(err.reason, "not_initialized");
        assert.equal(err.hint, "run init");
        assert.equal(err.data?.state, "UNINITIALIZED");
        assert.equal(err.method, "sync.status");
        return true;
      });
    } finally {
      client.close();
    }
  });

  it("attributes an error with id null to the only call in flight", async () => {
    peer.handlers.set("sync.status", (req) => {
      req.socket.write(
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }) + "\n",
      );
      return HOLD;
    });
    const client = await connect();
    try {
      await assert.rejects(client.status(), (err) => err instanceof RpcError && err.code === -32700);
    } finally {
      client.close();
    }
  });

  it("receives a 20 MiB response line", async () => {
    const big = "x".repeat(20 * 1024 * 1024);
    peer.handlers.set("daemon.metrics", () => ({ contentType: "text/plain", text: big }));
    const client = await connect();
    try {
      const result = await client.metrics();
      assert.equal(result.text.length, big.length);
    } finally {
      client.close();
    }
  });

  it("closes the connection when a response exceeds maxResponseBytes", async () => {
    peer.handlers.set("daemon.metrics", () => ({ contentType: "text/plain", text: "y".repeat(4096) }));
    const client = await SyncClient.connect({ socketPath: peer.socketPath, maxResponseBytes: 1024 });
    await assert.rejects(
      client.metrics(),
      (err) => err instanceof ConnectionError && /exceeds 1024 bytes/.test(err.message),
    );
    assert.equal(client.closed, true);
  });

  it("refuses a request over the 1 MiB line limit without sending it", async () => {
    const client = await connect();
    try {
      const before = peer.requests.length;
      const entry = { id: "p", type: "preference", encrypted: "A".repeat(MAX_LINE_BYTES), metadata: {} };
      await assert.rejects(
        client.push({ entries: [entry] }),
        (err) => err instanceof RpcError && err.code === -32006,
      );
      await client.ping();
      assert.equal(peer.requests.length, before + 1, "only the ping reached the peer");
    } finally {
      client.close();
    }
  });

  it("rejects pending calls with ConnectionError when the connection drops, and later calls at once", async () => {
    peer.handlers.set("sync.status", () => HOLD);
    const client = await connect();
    const closed = once<ConnectionError>((l) => client.onClose(l), { what: "close" });
    const pending = client.status();
    await waitFor(() => peer.requests.at(-1)?.method === "sync.status" && peer.connections.size > 0);
    for (const s of peer.connections) s.destroy();
    await assert.rejects(
      pending,
      (err) => err instanceof ConnectionError && err.socketPath === peer.socketPath,
    );
    assert.ok((await closed) instanceof ConnectionError);
    await assert.rejects(client.ping(), ConnectionError);
  });

  it("sends notifications without an id and gets no answer", async () => {
    const client = await connect();
    try {
      const before = peer.requests.length;
      client.notify("daemon.ping", {});
      await client.ping();
      const [note, ping] = peer.requests.slice(before);
      assert.equal(note?.id, undefined);
      assert.equal(note?.method, "daemon.ping");
      assert.equal(typeof ping?.id, "number");
    } finally {
      client.close();
    }
  });

  it("sends the typed params of the convenience methods", async () => {
    const client = await connect();
    try {
      for (const m of ["sync.reset", "sync.delete", "device.remove", "daemon.shutdown"])
        peer.handlers.set(m, () => ({}));
      const before = peer.requests.length;
      await client.reset();
      await client.delete({ ids: ["a", "b"] });
      await client.removeDevice({ deviceId: "dev-2" });
      await client.shutdown({ reason: "test" });
      assert.deepEqual(
        peer.requests.slice(before).map((r) => [r.method, r.params]),
        [
          ["sync.reset", { confirm: true }],
          ["sync.delete", { ids: ["a", "b"] }],
          ["device.remove", { deviceId: "dev-2" }],
          ["daemon.shutdown", { reason: "test" }],
        ],
      );
    } finally {
      client.close();
    }
  });
});

describe("SyncClient against the daemon's IPC server", () => {
  it("reopens a connection the daemon closed as idle on the next call, and stays usable", async () => {
    const clock = new FakeClock();
    const h = await startHarness({ clock, limits: { maxIdleConnections: 2, maxConnections: 10 } });
    const client = await SyncClient.connect({ socketPath: h.socketPath });
    try {
      assert.equal((await client.ping()).pong, true);
      clock.advance(10);
      // Two newer idle connections: the third evicts the client, idle the longest.
      for (let i = 0; i < 3; i++) {
        await (await h.connect()).call("daemon.ping");
        clock.advance(10);
      }
      await waitFor(() => !client.connected, { what: "the client's connection closed as idle" });
      assert.equal(client.closed, false, "the client itself is not closed");
      const pings = h.ctl.pings;
      assert.equal((await client.ping()).pong, true);
      assert.equal(h.ctl.pings, pings + 1, "the ping reached the daemon on a new connection");
      assert.equal(client.connected, true);
    } finally {
      client.close();
      await h.cleanup();
    }
  });

  it("does not reopen a connection closed without an idle notice: the client is closed", async () => {
    const h = await startHarness();
    const client = await SyncClient.connect({ socketPath: h.socketPath });
    assert.equal((await client.ping()).pong, true);
    await h.cleanup();
    await waitFor(() => client.closed, { what: "the client closed with the server" });
    await assert.rejects(client.ping(), ConnectionError);
  });
});

describe("SyncClient.connect when nothing answers", () => {
  it("throws ConnectionError naming the socket when there is no socket file (ENOENT)", async () => {
    const dir = await tempDir();
    try {
      const socketPath = join(dir.path, "none.sock");
      await assert.rejects(SyncClient.connect({ socketPath }), (err) => {
        assert.ok(err instanceof ConnectionError);
        assert.equal(err.errno, "ENOENT");
        assert.ok(err.notRunning);
        assert.ok(err.message.includes(socketPath));
        assert.match(err.hint, /caro-sync start/);
        return true;
      });
    } finally {
      await dir.cleanup();
    }
  });

  it("throws ConnectionError for a stale socket file nobody listens on (ECONNREFUSED)", async () => {
    const dir = await tempDir();
    try {
      const socketPath = join(dir.path, "stale.sock");
      // A process that binds the socket and dies without removing it leaves a stale file.
      const script = `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`;
      const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
      await new Promise((resolve) => child.once("exit", resolve));
      assert.ok(existsSync(socketPath), "the stale socket file exists");
      await assert.rejects(
        SyncClient.connect({ socketPath }),
        (err) => err instanceof ConnectionError && err.errno === "ECONNREFUSED" && err.notRunning,
      );
    } finally {
      await dir.cleanup();
    }
  });
});

describe("defaultTimeoutMs", () => {
  it("follows SPEC §4: 30 s, push 60 s, full pull 300 s, paged pull 30 s", () => {
    assert.equal(defaultTimeoutMs("sync.status", {}), TIMEOUTS.request);
    assert.equal(defaultTimeoutMs("sync.push", { entries: [] }), 60_000);
    assert.equal(defaultTimeoutMs("sync.pull", {}), 300_000);
    assert.equal(defaultTimeoutMs("sync.pull", { since: null }), 300_000);
    assert.equal(defaultTimeoutMs("sync.pull", undefined), 300_000);
    assert.equal(defaultTimeoutMs("sync.pull", { since: 5 }), 30_000);
  });
});
