// `caro-sync status --watch` off a terminal, against a scripted peer on a real Unix socket: a new
// block only when the status (or the last error) changed, and the last error in plain words.
import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import type { LastError, StatusResult } from "../../src/protocol.js";
import { healthResult, startPeer, type Peer } from "../client/peer.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

// lastSync null and an error 3 days and 30 minutes old: the relative times shown ("never", "3 d
// ago") stay the same while a test runs, so only what the test changes changes the text.
const THREE_DAYS_AGO = Date.now() - (3 * 24 * 60 + 30) * 60_000;

const STATUS: StatusResult = {
  state: "OFFLINE",
  connected: false,
  paused: false,
  lastSync: null,
  pendingUp: 3,
  pendingDown: 0,
  deviceId: "dev-1",
  accountId: "co_zAccount",
};

const HEALTH = healthResult({
  cache: { entries: 3, sizeBytes: 4096, writable: true, error: null },
  queue: { pending: 3, failed: 0, oldestAgeMs: null },
});

const RELAY_UNREACHABLE: LastError = {
  code: -32003,
  reason: "relay_unreachable",
  message: "relay unreachable (ECONNREFUSED)",
  at: THREE_DAYS_AGO,
};

const EVENT = { from: "OFFLINE", to: "CONNECTING", at: 1 };

/** A peer whose status and health the test sets, and `status --watch` (human output) on it. */
interface Watch {
  peer: Peer;
  state: { status: StatusResult; lastError: LastError | null };
  /** The blocks printed so far (each ends with an empty line). */
  blocks(): string[];
  /** How many refreshes the peer answered completely (health is asked after status). */
  refreshes(): number;
  stop(): Promise<number | null>;
}

async function watch(home: string): Promise<Watch> {
  const state = { status: STATUS, lastError: null as LastError | null };
  const peer = await startPeer({
    "daemon.subscribe": () => ({ subscribed: ["sync.stateChange", "sync.error"] }),
    "sync.status": () => state.status,
    "daemon.health": () => ({ ...HEALTH, lastError: state.lastError }),
  });
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [BIN_PATH, "status", "--watch"],
    {
      env: { PATH: process.env.PATH ?? "", HOME: home, CARO_SYNC_SOCKET: peer.socketPath },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const w: Watch = {
    peer,
    state,
    blocks: () => stdout.split("\n\n").filter((b) => b !== ""),
    refreshes: () => peer.requests.filter((r) => r.method === "daemon.health").length,
    stop: async () => {
      child.kill("SIGINT");
      const code = await exited;
      await peer.close();
      assert.equal(stderr, "");
      return code;
    },
  };
  await waitFor(() => w.blocks().length === 1, { what: `the first status block; stderr: ${stderr}` });
  return w;
}

/**
 * Sends an event that changes nothing and waits until the watcher has fetched status and health
 * for it (the answers are computed then), so whatever the test changes next comes after.
 */
async function eventWithoutChange(w: Watch): Promise<void> {
  const before = w.refreshes();
  w.peer.notifyAll("sync.stateChange", EVENT);
  await waitFor(() => w.refreshes() > before, { what: "the refresh after the event" });
}

describe("caro-sync status --watch without a terminal", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  before(async () => (home = await tempDir("cs-watch-")));
  after(async () => await home.cleanup());

  it("prints a new block only when the status changed, not on every event; Ctrl-C exits 0", async () => {
    const w = await watch(home.path);
    try {
      assert.match(w.blocks()[0]!, /^pending: +3 to upload, 0 to pull$/m);
      await eventWithoutChange(w);
      await eventWithoutChange(w);
      w.state.status = { ...STATUS, pendingUp: 4 };
      w.peer.notifyAll("sync.stateChange", EVENT);
      await waitFor(() => w.blocks().some((b) => b.includes("4 to upload")), { what: "the changed status" });
      // The two events that changed nothing printed nothing: they would sit before the change.
      const blocks = w.blocks();
      assert.equal(blocks.length, 2, blocks.join("\n---\n"));
      assert.match(blocks[1]!, /^pending: +4 to upload, 0 to pull$/m);
      assert.match(blocks[1]!, /^state: +OFFLINE$/m);
    } finally {
      assert.equal(await w.stop(), 0, "Ctrl-C is the normal end");
    }
  });

  it("shows the last error in plain words, once, when it appears", async () => {
    const w = await watch(home.path);
    try {
      assert.doesNotMatch(w.blocks()[0]!, /last error/);
      w.state.lastError = RELAY_UNREACHABLE;
      w.peer.notifyAll("sync.error", { ...RELAY_UNREACHABLE, retryInMs: 4000 });
      await waitFor(() => w.blocks().length === 2, { what: "the block with the last error" });
      await eventWithoutChange(w);
      w.state.status = { ...STATUS, pendingUp: 5 };
      w.peer.notifyAll("sync.stateChange", EVENT);
      await waitFor(() => w.blocks().some((b) => b.includes("5 to upload")), { what: "the changed status" });
      const blocks = w.blocks();
      assert.equal(blocks.length, 3, blocks.join("\n---\n"));
      const iso = new Date(THREE_DAYS_AGO).toISOString().replace(/\.\d{3}Z$/, "Z");
      const line = `last error: relay unreachable (ECONNREFUSED) (code -32003, ${iso} (3 d ago))`;
      for (const block of blocks.slice(1)) {
        assert.ok(block.split("\n").includes(line), block);
        // Words, not the wire's shape: no reason key, no JSON.
        assert.doesNotMatch(block, /relay_unreachable|[{}"]/);
      }
    } finally {
      assert.equal(await w.stop(), 0);
    }
  });
});
