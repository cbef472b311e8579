import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import type { PulledEntry, StatusResult, VerifyResult } from "../../src/protocol.js";
import { tempDir } from "../helpers/tmp.js";
import { PeerError, healthResult, startPeer, type Peer } from "../client/peer.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync, oneJson } from "./run.js";

const STATUS: StatusResult = {
  state: "OFFLINE",
  connected: false,
  paused: false,
  lastSync: 1_700_000_000_000,
  pendingUp: 3,
  pendingDown: 1,
  deviceId: "dev-1",
  accountId: "co_zAccount",
};

const entry = (id: string): PulledEntry => ({
  id,
  type: "command",
  encrypted: "AQID",
  metadata: {
    deviceId: "dev-1",
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    safetyLevel: "safe",
  },
});

describe("caro-sync command line", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  let peer: Peer;
  let run: (args: string[], extra?: { input?: string; socket?: string }) => ReturnType<typeof caroSync>;

  before(async () => {
    home = await tempDir("cs-home-");
    peer = await startPeer({ "sync.status": () => STATUS });
    run = (args, extra = {}) =>
      caroSync(args, { home: home.path, socket: extra.socket ?? peer.socketPath, ...extra });
  });
  after(async () => {
    await peer.close();
    await home.cleanup();
  });

  describe("usage errors exit 2 and print to stderr only", () => {
    for (const args of [
      ["bogus"],
      ["ping", "--bogus"],
      ["pull", "--limit", "abc"],
      ["pull", "--limit", "5000"],
      ["pull", "--type", "cmd"],
      ["delete"],
      ["devices", "remove"],
      ["push", "--ack", "maybe"],
      ["reset", "--json"],
      ["ping", "extra-argument"],
    ]) {
      it(`caro-sync ${args.join(" ")}`, async () => {
        const r = await run(args);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /error/);
      });
    }

    for (const args of [
      ["bogus"],
      ["history", "--limit", "abc"],
      ["add", "only-a-prompt"],
      ["pref", "get"],
    ]) {
      it(`caro-sync ${args.join(" ")} --json: one JSON error line on stderr`, async () => {
        const r = await run([...args, "--json"]);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assert.equal(lines.length, 1, r.stderr);
        const { error } = JSON.parse(lines[0]!) as {
          error: { reason: string; exitCode: number; message: string };
        };
        assert.equal(error.reason, "usage");
        assert.equal(error.exitCode, 2);
        assert.ok(error.message.length > 0);
      });
    }

    it("rejects a push file that is not JSON", async () => {
      const r = await run(["push", "--json"], { input: "not json" });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /not valid JSON/);
    });
  });

  it("--help exits 0", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: caro-sync/);
  });

  it("ping --json prints one document with the round trip", async () => {
    const r = await run(["ping", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const doc = oneJson(r) as Record<string, unknown>;
    assert.equal(doc.pong, true);
    assert.equal(doc.version, "0.0.0-peer");
    assert.equal(typeof doc.uptime, "number");
    assert.equal(typeof doc.roundTripMs, "number");
  });

  it("status --json prints the method's result; --json may come before the command", async () => {
    for (const args of [
      ["status", "--json"],
      ["--json", "status"],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(oneJson(r), STATUS);
    }
  });

  it("status prints aligned human output", async () => {
    const r = await run(["status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^state: +OFFLINE$/m);
    assert.match(r.stdout, /^pending: +3 to upload, 1 to pull$/m);
    assert.match(r.stdout, /^last sync: +2023-11-14T22:13:20Z \(/m);
  });

  it("maps a daemon error to its exit code and prints reason and hint", async () => {
    peer.handlers.set("sync.now", () => {
      throw new PeerError(-32001, "Not Initialized", {
        reason: "not_initialized",
        hint: "run `caro sync init` first",
      });
    });
    const r = await run(["now"]);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "error: Not Initialized (not_initialized)\nhint: run `caro-sync init` first\n");

    const j = await run(["now", "--json"]);
    assert.equal(j.code, 4);
    assert.equal(j.stdout, "");
    const err = (JSON.parse(j.stderr) as { error: Record<string, unknown> }).error;
    assert.equal(err.code, -32001);
    assert.equal(err.reason, "not_initialized");
    assert.equal(err.exitCode, 4);
  });

  it("health exits 1 when the daemon is unhealthy, still printing the report", async () => {
    const health = healthResult({
      healthy: false,
      jazz: { connected: false, relay: "ws://127.0.0.1:1", latency: null },
      lastError: { code: -32002, reason: "auth_refused", message: "auth failed", at: 1 },
    });
    peer.handlers.set("daemon.health", () => health);
    const r = await run(["health", "--json"]);
    assert.equal(r.code, 1);
    assert.deepEqual(oneJson(r), health);
    const h = await run(["health"]);
    assert.equal(h.code, 1);
    assert.match(h.stdout, /^healthy: +NO$/m);
  });

  it("verify prints the three places per device and what is missing, exits 1 until complete; --repair asks for it", async () => {
    const s = (commands: number, digest: string) => ({ commands, digest });
    const incomplete: VerifyResult = {
      complete: false,
      checkedAt: 1_700_000_000_000,
      relayChecked: true,
      total: { cache: s(3, "a".repeat(64)), jazz: s(3, "a".repeat(64)), relay: s(1, "b".repeat(64)) },
      devices: [
        {
          deviceId: "dev-1",
          cache: s(3, "a".repeat(64)),
          jazz: s(3, "a".repeat(64)),
          relay: s(1, "b".repeat(64)),
        },
      ],
      missing: {
        parts: [{ where: "relay", part: "commandHistory", state: "partial" }],
        commands: [{ where: "relay", deviceId: "dev-1", absent: 2, behind: 0, ids: ["c-1", "c-2"] }],
      },
      repaired: null,
    };
    const seen: unknown[] = [];
    peer.handlers.set("sync.verify", (req) => {
      seen.push(req.params);
      const repair = (req.params as { repair?: boolean }).repair === true;
      return repair
        ? {
            ...incomplete,
            complete: true,
            missing: { parts: [], commands: [] },
            repaired: { downloaded: 0, uploaded: 2 },
          }
        : incomplete;
    });
    const r = await run(["verify"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^DEVICE +CACHE +JAZZ +RELAY$/m);
    assert.match(r.stdout, /^dev-1 +3 aaaaaaaa +3 aaaaaaaa +1 bbbbbbbb$/m);
    assert.match(r.stdout, /^missing on the relay: commandHistory \(partial\)$/m);
    assert.match(r.stdout, /^missing in the relay, device dev-1: 2 absent \(c-1, c-2\)$/m);
    assert.match(r.stdout, /verify --repair/);
    const j = await run(["verify", "--repair", "--json"]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual((oneJson(j) as VerifyResult).repaired, { downloaded: 0, uploaded: 2 });
    assert.deepEqual(seen, [{ repair: false }, { repair: true }]);
  });

  it("pull --json --all pages with nextCursor and prints one raw entry per line", async () => {
    const pages = new Map<number | null, { entries: PulledEntry[]; hasMore: boolean; nextCursor: number }>([
      [null, { entries: [entry("a"), entry("b")], hasMore: true, nextCursor: 20 }],
      [20, { entries: [entry("c")], hasMore: false, nextCursor: 30 }],
    ]);
    const seen: unknown[] = [];
    peer.handlers.set("sync.pull", (req) => {
      const p = req.params as { since: number | null; limit?: number; types?: string[] };
      seen.push(p);
      return { ...pages.get(p.since)!, syncTimestamp: 1 };
    });
    const r = await run(["pull", "--json", "--all", "--limit", "2", "--type", "command"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as PulledEntry),
      [entry("a"), entry("b"), entry("c")],
    );
    assert.deepEqual(seen, [
      { since: null, limit: 2, types: ["command"] },
      { since: 20, limit: 2, types: ["command"] },
    ]);

    const one = await run(["pull", "--since", "20"]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^ID +TYPE +DEVICE +CREATED +STATE$/m);
    assert.match(one.stdout, /^c +command +dev-1 /m);
  });

  it("a push the daemon's disk refuses (-32008) exits 12 with the hint; health names the storage fault", async () => {
    peer.handlers.set("sync.push", () => {
      throw new PeerError(-32008, "the cache cannot be written: the disk is full", {
        reason: "disk_full",
        hint: "free disk space where the daemon keeps its cache, then send the request again: nothing of it was stored",
      });
    });
    const r = await run(["push"], { input: JSON.stringify({ entries: [{ id: "x" }] }) });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /^error: the cache cannot be written: the disk is full \(disk_full\)$/m);
    assert.match(r.stderr, /^hint: free disk space/m);

    const error = {
      code: -32008,
      reason: "disk_full",
      message: "the cache cannot be written: the disk is full",
      at: 1,
    };
    peer.handlers.set("daemon.health", () => ({
      healthy: false,
      uptime: 5,
      state: "OFFLINE",
      paused: false,
      jazz: { connected: false, relay: "ws://127.0.0.1:1", latency: null },
      cache: { entries: 0, sizeBytes: 4096, writable: false, error },
      queue: { pending: 0, failed: 0, oldestAgeMs: null },
      lastSync: null,
      lastError: null,
      nextRetryAt: null,
    }));
    const h = await run(["health"]);
    assert.equal(h.code, 1);
    assert.match(
      h.stdout,
      /^cache: +0 entries, .*, NOT writable: the cache cannot be written: the disk is full \(disk_full\)$/m,
    );
  });

  it("push reads {entries} from stdin and exits 1 when an entry failed", async () => {
    peer.handlers.set("sync.push", (req) => {
      const { entries } = req.params as { entries: { id: string }[] };
      return {
        synced: entries.length - 1,
        failed: ["bad"],
        errors: [{ id: "bad", code: -32007, message: "Encryption Error" }],
      };
    });
    const input = JSON.stringify({ entries: [{ id: "ok" }, { id: "bad" }] });
    const r = await run(["push", "--json"], { input });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(oneJson(r), {
      synced: 1,
      failed: ["bad"],
      errors: [{ id: "bad", code: -32007, message: "Encryption Error" }],
    });
  });

  it("push reads a JSON array from FILE", async () => {
    peer.handlers.set("sync.push", (req) => ({
      synced: (req.params as { entries: unknown[] }).entries.length,
      failed: [],
      errors: [],
    }));
    const file = join(home.path, "entries.json");
    await writeFile(file, JSON.stringify([{ id: "x" }, { id: "y" }]));
    const r = await run(["push", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pushed 2 of 2 entries/);
  });

  it("devices lists as a table and devices remove sends the id", async () => {
    const now = Date.now();
    peer.handlers.set("device.list", () => ({
      devices: [
        {
          deviceId: "dev-1",
          name: "laptop",
          platform: "linux",
          lastSeen: now,
          firstSeen: now,
          isActive: true,
          isCurrentDevice: true,
          schemaVersion: 1,
        },
        {
          deviceId: "dev-2",
          name: "old",
          platform: "darwin",
          lastSeen: now - 86_400_000 * 3,
          firstSeen: now,
          isActive: false,
          isCurrentDevice: false,
          schemaVersion: 1,
        },
      ],
    }));
    peer.handlers.set("device.remove", () => ({ removed: true }));
    const r = await run(["devices"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\* dev-1 +laptop +linux +just now +active$/m);
    assert.match(r.stdout, /^ {2}dev-2 +old +darwin +3 d ago +removed$/m);
    const rm = await run(["devices", "remove", "dev-2", "--json"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(oneJson(rm), { removed: true });
    assert.deepEqual(peer.requests.at(-1)?.params, { deviceId: "dev-2" });
  });

  describe("when no daemon is running", () => {
    let socket: string;
    before(() => {
      socket = join(home.path, "none.sock");
    });

    it("ping exits 3 with a message naming the socket and a hint", async () => {
      const r = await run(["ping"], { socket });
      assert.equal(r.code, 3);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.includes(`cannot connect to the caro-sync daemon at ${socket}`), r.stderr);
      assert.match(r.stderr, /hint: is the daemon running\? try `caro-sync start`/);
    });

    it("ping --json exits 3 with a JSON error on stderr and nothing on stdout", async () => {
      const r = await run(["ping", "--json"], { socket });
      assert.equal(r.code, 3);
      assert.equal(r.stdout, "");
      const err = (JSON.parse(r.stderr) as { error: Record<string, unknown> }).error;
      assert.equal(err.reason, "daemon_unavailable");
      assert.equal(err.exitCode, 3);
    });

    it("push --no-auto-start exits 3 instead of starting it", async () => {
      const r = await run(["push", "--no-auto-start"], { socket, input: "[]" });
      assert.equal(r.code, 3, r.stderr);
    });

    it("stop says it is not running and exits 0", async () => {
      const r = await run(["stop", "--json"], { socket });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(oneJson(r), { stopped: false, wasRunning: false, pendingOperations: 0, socket });
    });
  });

  it("a broken config file is exit 78 naming the file, unless the socket is given", async () => {
    const badHome = await tempDir("cs-home-");
    try {
      const configDir = join(badHome.path, ".config", "cmdai");
      await mkdir(configDir, { recursive: true });
      await writeFile(join(configDir, "sync-daemon.json"), "{ nope");
      const r = await caroSync(["ping"], { home: badHome.path });
      assert.equal(r.code, 78);
      assert.ok(r.stderr.includes(join(configDir, "sync-daemon.json")), r.stderr);
      const withSocket = await caroSync(["ping", "--json"], { home: badHome.path, socket: peer.socketPath });
      assert.equal(withSocket.code, 0, withSocket.stderr);
      assert.match(withSocket.stderr, /^warning: .*sync-daemon\.json/);
    } finally {
      await badHome.cleanup();
    }
  });
});

describe("caro-sync status --watch", () => {
  it("prints the status again after each event, as JSON lines, and exits 3 when the daemon goes away", async () => {
    const home = await tempDir("cs-home-");
    let n = 0;
    const peer = await startPeer({
      "daemon.subscribe": () => ({ subscribed: ["sync.stateChange"] }),
      "sync.status": () => ({ ...STATUS, pendingUp: n++ }),
    });
    try {
      const child = spawn(process.execPath, [BIN_PATH, "status", "--watch", "--json"], {
        env: { PATH: process.env.PATH ?? "", HOME: home.path, CARO_SYNC_SOCKET: peer.socketPath },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
      const lines = () => stdout.split("\n").filter((l) => l !== "");
      await waitFor(() => lines().length === 1, { what: "the first status" });
      peer.notifyAll("sync.stateChange", { from: "OFFLINE", to: "ONLINE", at: 1 });
      await waitFor(() => lines().length === 2, { what: "the status after the event" });
      for (const s of peer.connections) s.destroy();
      assert.equal(await exited, 3);
      assert.deepEqual(
        lines().map((l) => (JSON.parse(l) as StatusResult).pendingUp),
        [0, 1],
      );
      assert.equal(peer.requests[0]?.method, "daemon.subscribe");
    } finally {
      await peer.close();
      await home.cleanup();
    }
  });
});
