// The daemon's log as a process writes it: the background log file is rotated by size while
// `caro-sync logs -f` follows it, and a failure that repeats on every attempt leaves one stack
// trace, not one per attempt.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BIN_PATH } from "../../src/client/launch.js";
import { caroSync } from "../cli/run.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { startStubRelay, type StubRelay } from "../helpers/stubRelay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

interface LogLine {
  msg: string;
  id?: string;
  method?: string;
  err?: { stack?: string };
}

const parse = (text: string): LogLine[] =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);

/** A HOME whose config file holds `settings`. */
async function homeWith(settings: Record<string, unknown>): Promise<string> {
  const home = (await tempDir("csl-")).path;
  await mkdir(join(home, ".config", "cmdai"), { recursive: true, mode: 0o700 });
  await writeFile(join(home, ".config", "cmdai", "sync-daemon.json"), JSON.stringify(settings));
  return home;
}

/** Sends `ids.length` daemon.ping requests on one connection and waits for every answer. */
async function pings(socketPath: string, ids: string[]): Promise<void> {
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    let answers = 0;
    socket.setEncoding("utf8");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      answers += chunk.split("\n").length - 1;
      if (answers >= ids.length) resolve();
    });
    socket.write(
      ids.map((id) => JSON.stringify({ jsonrpc: "2.0", id, method: "daemon.ping" }) + "\n").join(""),
    );
  });
  socket.end();
}

describe("the daemon's log", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  const daemon = async (opts: Parameters<typeof spawnDaemon>[0]) => {
    const d = await spawnDaemon(opts);
    cleanups.push(() => d.cleanup());
    return d;
  };

  it("in the background, is rotated by size into logFiles files, 0600, shown and followed by caro-sync logs", async () => {
    const maxBytes = 8192;
    const home = await homeWith({ logMaxBytes: maxBytes, logFiles: 3 });
    // debug: every request is one line, so the test controls how much is written.
    const d = await daemon({ home, env: { CARO_SYNC_LOG_LEVEL: "debug" }, args: ["--background"] });
    const cacheDir = join(home, ".cache", "cmdai");

    const follower = spawn(process.execPath, [BIN_PATH, "logs", "-f", "--json", "--lines", "0"], {
      env: { PATH: process.env.PATH ?? "", HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(() => Promise.resolve(follower.kill("SIGKILL")));
    let followed = "";
    follower.stdout.setEncoding("utf8").on("data", (d: string) => (followed += d));
    const followedIds = () =>
      parse(followed)
        .filter((l) => l.msg === "request" && l.id?.startsWith("p"))
        .map((l) => l.id);
    // The follower is reading once the next line it sees is printed.
    await waitFor(
      async () => {
        await pings(d.socketPath, ["ready"]);
        return parse(followed).some((l) => l.id === "ready");
      },
      { timeoutMs: 30_000, what: "the follower to print a line" },
    );

    // About 130 bytes a request line: 600 of them rotate the 8 KiB file nine times or so. Sent in
    // batches of 40 (~5 KiB, at most one rotation each), each followed before the next: a follower
    // that does not run between two rotations cannot see the file in the middle (as `tail -F`).
    const ids = Array.from({ length: 600 }, (_, i) => `p${i}`);
    for (let i = 0; i < ids.length; i += 40) {
      const batch = ids.slice(i, i + 40);
      await pings(d.socketPath, batch);
      await waitFor(() => followedIds().includes(batch.at(-1)), {
        timeoutMs: 20_000,
        what: `the follower to print request ${batch.at(-1)}`,
      });
    }
    assert.deepEqual(followedIds(), ids, "followed through every rotation: each line once, in order");

    const names = (await readdir(cacheDir)).filter((n) => n.startsWith("sync-daemon.log")).sort();
    assert.deepEqual(names, ["sync-daemon.log", "sync-daemon.log.1", "sync-daemon.log.2"]);
    for (const name of names) {
      const info = await stat(join(cacheDir, name));
      assert.equal(info.mode & 0o777, 0o600, `${name} is the user's alone`);
      // Rotated right after the write that reaches the limit: the limit plus one line at most.
      assert.ok(info.size < maxBytes + 1024, `${name}: ${info.size} bytes`);
    }
    // Oldest file first (.2, .1, the active one), the requests are the newest ones in order. Not
    // "p599 is in the active file": a rotation right after its line leaves that file without one.
    const requestIds = (text: string) =>
      parse(text)
        .filter((l) => l.msg === "request" && l.id?.startsWith("p"))
        .map((l) => l.id);
    const kept = (
      await Promise.all(
        [...names].reverse().map(async (n) => requestIds(await readFile(join(cacheDir, n), "utf8"))),
      )
    ).flat();
    assert.deepEqual(kept, ids.slice(-kept.length), "oldest file first, the newest lines last, none missing");

    const shown = await caroSync(["logs", "--json", "--lines", "150"], { home });
    assert.equal(shown.code, 0, shown.stderr);
    const shownIds = parse(shown.stdout)
      .filter((l) => l.msg === "request" && l.id?.startsWith("p"))
      .map((l) => l.id);
    assert.ok(shownIds.length > 100, `more lines than the active file holds: ${shownIds.length}`);
    assert.deepEqual(shownIds, ids.slice(-shownIds.length), "the newest lines, in order, none missing");
    follower.kill("SIGINT");
  });

  it("holds one stack trace, not one per attempt, while the account cannot be opened", async () => {
    const relay: TestRelay = await startTestRelay();
    cleanups.push(() => relay.stop());
    const stub: StubRelay = await startStubRelay({ status: 503 });
    cleanups.push(() => stub.stop());

    // A device joined to an account, whose local copy of it is gone: opening it needs the relay.
    const authKey = randomBytes(32).toString("base64");
    const first = await daemon({ env: { CARO_SYNC_RELAY: relay.url } });
    const firstClient = await first.client();
    const { accountId } = await firstClient.init({ authKey, deviceName: "first", platform: "linux" });
    firstClient.close();
    const home = await homeWith({ syncIntervalMs: 100 });
    const joined: DaemonProcess = await daemon({ home, env: { CARO_SYNC_RELAY: relay.url } });
    const joinedClient = await joined.client();
    await joinedClient.init({ authKey, accountId, deviceName: "second", platform: "linux" });
    joinedClient.close();
    assert.equal(await joined.stop(), 0);
    const cacheDir = join(home, ".cache", "cmdai");
    for (const name of await readdir(cacheDir)) if (name.includes("jazz")) await rm(join(cacheDir, name));

    // Now every attempt fails the same way: the relay answers 503.
    const d = await daemon({ home, env: { CARO_SYNC_RELAY: stub.url }, args: ["--background"] });
    await waitFor(() => stub.attempts >= 30, { timeoutMs: 30_000, what: "30 attempts at the relay" });
    assert.equal(await d.stop(), 0);

    const lines = parse(await readFile(join(cacheDir, "sync-daemon.log"), "utf8"));
    const stacks = lines.filter((l) => l.err?.stack);
    assert.equal(
      stacks.length,
      1,
      `one stack trace for ${stub.attempts} attempts: ${stacks.map((l) => l.msg).join(", ")}`,
    );
    assert.equal(stacks[0]?.msg, "could not open the sync account");
    assert.equal(lines.filter((l) => l.msg === "relay connection failed").length, 1, "one line per kind");
    assert.equal(lines.at(-1)?.msg, "daemon stopped", "the file is complete once the daemon has exited");
  });
});
