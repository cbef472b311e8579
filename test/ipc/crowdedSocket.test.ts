// A crowded socket never locks out a new client: one process holding 1,000 idle connections to the
// real daemon (a child process, default limits) leaves the CLI and new clients served.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DEFAULT_IPC_LIMITS } from "../../src/ipc/server.js";
import { ErrorCode } from "../../src/protocol.js";
import { caroSync, oneJson } from "../cli/run.js";
import { spawnDaemon } from "../helpers/daemon.js";
import { waitFor } from "../helpers/wait.js";
import { TestClient } from "./helpers.js";

const HELD = 1000;

/** The soft limit on open files of this process (Node raises it to the hard limit at start-up). */
function openFileLimit(): number | undefined {
  if (!existsSync("/proc/self/limits")) return undefined;
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
}

describe("a crowded socket", () => {
  it("1,000 idle connections held by one process do not stop the CLI or a new client", async () => {
    const limit = openFileLimit();
    assert.ok(
      limit === undefined || limit > HELD + 200,
      `this test holds ${HELD} sockets; ulimit -n is ${limit}`,
    );
    const daemon = await spawnDaemon();
    const held: TestClient[] = [];
    try {
      const subscriber = await TestClient.connect(daemon.socketPath);
      await subscriber.call("daemon.subscribe", {});
      for (let i = 0; i < HELD; i++) held.push(await TestClient.connectThroughBacklog(daemon.socketPath));

      // A new client retries a connect the full accept queue refuses (EAGAIN), as SyncClient does.
      const fresh = await TestClient.connectThroughBacklog(daemon.socketPath);
      await fresh.send(`{"jsonrpc":"2.0","id":1,"method":"daemon.ping"}\n`);
      assert.equal((await fresh.next("the answer to a new client")).result?.pong, true);
      fresh.destroy();
      const warnings = () =>
        daemon
          .stderr()
          .split("\n")
          .filter((l) => l.includes("too many IPC connections"));
      await waitFor(() => warnings().length > 0, { what: "the daemon's warning" });
      assert.equal(warnings().length, 1, `one warning for the burst: ${warnings().join("\n")}`);

      const opts = { home: daemon.home, socket: daemon.socketPath };
      const ping = await caroSync(["ping", "--json"], opts);
      assert.equal(ping.code, 0, ping.stderr);
      assert.equal((oneJson(ping) as { pong: boolean }).pong, true);
      const health = await caroSync(["health", "--json"], opts);
      assert.equal(health.code, 0, health.stderr);
      assert.equal((oneJson(health) as { state: string }).state, "UNINITIALIZED");
      // Reached the daemon (exit 3 would be "not reachable"); before init its answer is -32001.
      const status = await caroSync(["status", "--json"], opts);
      assert.equal(status.code, 4, status.stderr);
      assert.equal(
        (JSON.parse(status.stderr) as { error: { reason: string } }).error.reason,
        "not_initialized",
      );
      assert.equal(subscriber.closed, false, "the subscriber was never closed");
      assert.equal((await subscriber.call("daemon.ping")).result?.pong, true);

      // The daemon closed the held connections oldest first, each after one error line, and kept
      // the newest within its idle budget.
      const closed = held.filter((c) => c.closed).length;
      const budget = DEFAULT_IPC_LIMITS.maxIdleConnections;
      assert.ok(closed >= HELD - budget && closed < HELD, `${closed} of ${HELD} held connections closed`);
      for (const [i, c] of held.entries()) {
        assert.equal(c.closed, i < closed, `held connection ${i}: the oldest ones are closed`);
        if (!c.closed) continue;
        assert.equal(c.lines.length, 1, `held connection ${i} got one line before its close`);
        const line = c.flat[0]!;
        assert.deepEqual(
          [line.id, line.error?.code, line.error?.data.reason],
          [null, ErrorCode.RateLimited, "too_many_connections"],
        );
      }
    } finally {
      for (const c of held) c.destroy();
      await daemon.cleanup();
    }
  });
});
