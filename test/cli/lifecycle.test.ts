// End to end through the real daemon: `caro-sync start` → ping → status → push → history → stop,
// with a temp HOME and an unreachable relay (the daemon works offline against its cache).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SyncClient } from "../../src/client/SyncClient.js";
import type { PulledEntry, PushResult, StatusResult } from "../../src/protocol.js";
import { lockCacheFile } from "../../src/cache/lock.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faultProxy.js";
import { alive } from "../helpers/process.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync, oneJson, type CliRun } from "./run.js";

describe("caro-sync start / stop with the real daemon", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let socket: string;
  const pids: number[] = [];
  let run: (args: string[], input?: string) => Promise<CliRun>;

  before(async () => {
    home = await tempDir("cs-e2e-");
    socket = join(home.path, ".config", "cmdai", "sync.sock");
    run = (args, input) =>
      caroSync(args, {
        home: home.path,
        env: { CARO_SYNC_RELAY: "ws://127.0.0.1:9" },
        ...(input ? { input } : {}),
      });
  });
  after(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    await waitFor(() => pids.every((pid) => !alive(pid)), { what: "the daemon to exit" });
    await home.cleanup();
  });

  it("starts, answers, syncs offline, stops, and leaves no process behind", async () => {
    const started = await run(["start", "--json"]);
    assert.equal(started.code, 0, started.stderr);
    const s = oneJson(started) as { started: boolean; pid: number; socket: string };
    assert.equal(s.started, true);
    assert.equal(s.socket, socket);
    pids.push(s.pid);
    assert.ok(alive(s.pid));

    const again = await run(["start", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((oneJson(again) as { started: boolean }).started, false);

    const ping = await run(["ping", "--json"]);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal((oneJson(ping) as { pong: boolean }).pong, true);

    // No identity yet: the state gate answers -32001, which is exit 4.
    const uninitialized = await run(["status", "--json"]);
    assert.equal(uninitialized.code, 4, uninitialized.stderr);
    assert.equal(uninitialized.stdout, "");
    assert.equal(
      (JSON.parse(uninitialized.stderr) as { error: { reason: string } }).error.reason,
      "not_initialized",
    );

    // An identity over the protocol (test/e2e/cliFlow.test.ts covers `caro-sync init` itself).
    await initOverSocket({ socketPath: socket });
    const status = await waitFor(
      async () => {
        const r = await run(["status", "--json"]);
        return r.code === 0 ? (oneJson(r) as StatusResult) : null;
      },
      { timeoutMs: 15_000, what: "sync.status to answer after init" },
    );
    assert.ok(["ONLINE", "OFFLINE"].includes(status.state), status.state);

    const id = randomUUID();
    const entry = {
      id,
      type: "command",
      encrypted: Buffer.concat([Buffer.from([1]), randomBytes(40)]).toString("base64"),
      metadata: { deviceId: status.deviceId, createdAt: Date.now(), safetyLevel: "safe" },
    };
    const pushed = await run(["push", "--json"], JSON.stringify([entry]));
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((oneJson(pushed) as PushResult).synced, 1);

    const history = await run(["pull", "--json", "--all", "--type", "command"]);
    assert.equal(history.code, 0, history.stderr);
    const entries = history.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as PulledEntry);
    assert.deepEqual(
      entries.map((e) => [e.id, e.encrypted]),
      [[id, entry.encrypted]],
    );

    const stopped = await run(["stop", "--json"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((oneJson(stopped) as { stopped: boolean }).stopped, true);
    await waitFor(() => !alive(s.pid), { what: "the daemon process to exit" });
    assert.equal(existsSync(socket), false, "the daemon removed its socket");

    const notRunning = await run(["ping"]);
    assert.equal(notRunning.code, 3);
  });

  it("reset refuses while changes are not on the relay (exit 2, their count), and --discard-unsynced resets", async () => {
    // The first test's device: its identity comes back, its entry still unsent (no relay).
    assert.equal((await run(["start"])).code, 0);
    const refused = await run(["reset", "--yes", "--json"]);
    assert.equal(refused.code, 2, refused.stderr);
    const { error } = JSON.parse(refused.stderr) as { error: { reason: string; data: { pending: number } } };
    assert.equal(error.reason, "unsynced_changes");
    assert.ok(error.data.pending >= 1, "this device's own record at least");
    const status = await run(["status", "--json"]);
    assert.equal(status.code, 0, "still initialized");
    const reset = await run(["reset", "--yes", "--discard-unsynced", "--json"]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await run(["status", "--json"])).code, 4, "now uninitialized");
    assert.equal((await run(["stop"])).code, 0);
  });

  it("start shows config warnings (a misspelt key) on the terminal, not only in the log", async () => {
    await mkdir(join(home.path, ".config", "cmdai"), { recursive: true, mode: 0o700 });
    await writeFile(join(home.path, ".config", "cmdai", "sync-daemon.json"), '{"syncIntervalMS": 1000}');
    const started = await run(["start", "--json"]);
    assert.equal(started.code, 0, started.stderr);
    pids.push((oneJson(started) as { pid: number }).pid);
    assert.match(started.stderr, /^warning: .*sync-daemon\.json: unknown key "syncIntervalMS" ignored$/m);
    const stopped = await run(["stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});

describe("caro-sync stop with a final upload under way", () => {
  let relay: TestRelay;
  let proxy: FaultProxy;
  let home: { path: string; cleanup: () => Promise<void> };
  let socket: string;
  let run: (args: string[], input?: string) => Promise<CliRun>;

  before(async () => {
    relay = await startTestRelay();
    proxy = await startFaultProxy(relay.port);
    home = await tempDir("cs-stop-");
    socket = join(home.path, ".config", "cmdai", "sync.sock");
    run = (args, input) =>
      caroSync(args, { home: home.path, env: { CARO_SYNC_RELAY: proxy.url }, ...(input ? { input } : {}) });
  });
  after(async () => {
    await run(["stop"]);
    await proxy.stop();
    await relay.stop();
    await home.cleanup();
  });

  it("returns only once the daemon has closed its cache, so another can start at once", async () => {
    assert.equal((await run(["start"])).code, 0);
    await initOverSocket({ socketPath: socket });
    const status = await waitFor(
      async () => {
        const r = await run(["status", "--json"]);
        const s = r.code === 0 ? (oneJson(r) as StatusResult) : null;
        return s?.state === "ONLINE" ? s : null;
      },
      { timeoutMs: 20_000, what: "the daemon to be ONLINE" },
    );
    // The relay goes silent (no FIN, no RST): the entry stays queued, and the shutdown's final
    // upload waits its whole shutdownFlushMs for a confirmation that never comes.
    proxy.setFaults({ drop: 1 });
    const entry = {
      id: randomUUID(),
      type: "command",
      encrypted: Buffer.concat([Buffer.from([1]), randomBytes(40)]).toString("base64"),
      metadata: { deviceId: status.deviceId, createdAt: Date.now(), safetyLevel: "safe" },
    };
    const pushed = await run(["push", "--json"], JSON.stringify([entry]));
    assert.equal(pushed.code, 0, pushed.stderr);

    const stopped = await run(["stop", "--json"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok((oneJson(stopped) as { pendingOperations: number }).pendingOperations >= 1);
    // Not a wait: the lock must be free the moment stop returns.
    lockCacheFile(join(home.path, ".cache", "cmdai", "sync.db")).release();

    proxy.setFaults({});
    const started = await run(["start", "--json"]);
    assert.equal(started.code, 0, started.stderr);
  });
});

/** sync.init with a random authKey, as a client that derived it would. */
async function initOverSocket(opts: { socketPath: string }): Promise<void> {
  const client = await SyncClient.connect(opts);
  try {
    await client.init({ authKey: randomBytes(32).toString("base64"), deviceName: "e2e", platform: "linux" });
  } finally {
    client.close();
  }
}
