// The data commands of `caro-sync` on two devices and a real relay, beyond cliFlow's walk-through:
// the default device name and platform, the `history` filters (--device, --since, --all,
// --deleted) and its human table, `delete` seen on both devices, `pref list`, and `status`
// starting a stopped daemon.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeysFile } from "../../src/client/crypto/index.js";
import { commandEntry } from "../../src/cli/records.js";
import { caroSync, oneJson, type CliRun } from "../cli/run.js";
import { PeerError, startPeer } from "../client/peer.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

interface Home {
  path: string;
  cleanup: () => Promise<void>;
}

type Line = Record<string, unknown>;

const HOUR = 3_600_000;
const OLD = 21;
/** Not a terminal, yet a terminal type and no NO_COLOR: only the missing TTY keeps colour off. */
const COLOUR_ENV = { TERM: "xterm-256color" };
const ESC = "\x1b";

describe("e2e: caro-sync history filters, delete, pref list, device defaults, status autostart", () => {
  let relay: TestRelay;
  let a: Home;
  let b: Home;
  let aId: string;
  let bId: string;
  let id1: string;
  let id2: string;
  let t1: number;
  let t2: number;

  const on = (home: Home, args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    caroSync(args, {
      home: home.path,
      env: { CARO_SYNC_RELAY: relay.url, ...opts.env },
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
  const ok = async (
    home: Home,
    args: string[],
    opts: { input?: string; env?: Record<string, string> } = {},
  ) => {
    const run = await on(home, args, opts);
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return run;
  };
  const json = async (home: Home, args: string[], input?: string): Promise<Line> =>
    oneJson(await ok(home, [...args, "--json"], input === undefined ? {} : { input })) as Line;
  const jsonLines = async (home: Home, args: string[]): Promise<Line[]> =>
    lines(await ok(home, [...args, "--json"])).map((l) => JSON.parse(l) as Line);
  const commands = async (home: Home, args: string[]): Promise<unknown[]> =>
    (await jsonLines(home, ["history", ...args])).map((h) => h.command);

  before(async () => {
    relay = await startTestRelay();
    [a, b] = await Promise.all([tempDir("cs-da-"), tempDir("cs-db-")]);
    const init = await json(a, ["init", "--device-name", "laptop"]);
    aId = init.deviceId as string;
    // B is named by default: the defaults are what test 1 checks.
    const joined = await json(b, ["join", "--phrase-stdin"], `${init.phrase as string}\n`);
    bId = joined.deviceId as string;
  });
  after(async () => {
    // A failed `before` may leave a home or the relay unset.
    for (const home of [a, b]) if (home && relay) await on(home, ["stop"]);
    await relay?.stop();
    for (const home of [a, b]) await home?.cleanup();
  });

  it("join without --device-name names the device after the host, with this OS as its platform", async () => {
    const expectedPlatform = process.platform === "darwin" ? "macos" : process.platform;
    const own = (await json(b, ["devices"])).devices as Line[];
    const me = own.find((d) => d.isCurrentDevice === true);
    assert.deepEqual(
      { deviceId: me?.deviceId, name: me?.name, platform: me?.platform },
      { deviceId: bId, name: hostname(), platform: expectedPlatform },
    );
    assert.equal(own.find((d) => d.deviceId === aId)?.name, "laptop");
    // And A, through the relay, knows B by that name (history's DEVICE column and --device use it).
    const seen = await waitFor(
      async () => ((await json(a, ["devices"])).devices as Line[]).find((d) => d.deviceId === bId),
      { timeoutMs: 30_000, what: "A to see B's device" },
    );
    assert.deepEqual([seen.name, seen.platform], [hostname(), expectedPlatform]);
  });

  it("history --device keeps one device's commands, named by its id or its name", async () => {
    id1 = (await json(a, ["add", "list files by size", "ls -lS", "--safety", "moderate"])).id as string;
    t1 = (await jsonLines(a, ["history"]))[0]!.createdAt as number;
    // --since needs the second command created strictly later (a poll, not a sleep).
    await waitFor(() => Date.now() > t1, { what: "the clock to pass the first command" });
    id2 = (await json(b, ["add", "disk usage of this folder", "du -sh ."])).id as string;
    const both = await waitFor(
      async () => {
        const h = await jsonLines(a, ["history"]);
        return h.length === 2 ? h : null;
      },
      { timeoutMs: 30_000, what: "A to hold B's command" },
    );
    assert.deepEqual(
      both.map((h) => [h.id, h.deviceId]),
      [
        [id2, bId],
        [id1, aId],
      ],
    );
    t2 = both[0]!.createdAt as number;

    assert.deepEqual(await commands(a, ["--device", "laptop"]), ["ls -lS"]);
    assert.deepEqual(await commands(a, ["--device", aId]), ["ls -lS"]);
    assert.deepEqual(await commands(a, ["--device", bId]), ["du -sh ."]);
    assert.deepEqual(await commands(a, ["--device", hostname()]), ["du -sh ."]);
    assert.deepEqual(await commands(a, ["--device", "no-such-device"]), []);
    const none = await ok(a, ["history", "--device", "no-such-device"]);
    assert.equal(none.stdout, "no commands\n");
  });

  it("history --since leaves out commands created before the bound: epoch ms, a date-time, a duration", async () => {
    assert.ok(t2 > t1, `${t2} > ${t1}`);
    assert.deepEqual(await commands(a, ["--since", String(t2)]), ["du -sh ."]);
    assert.deepEqual(await commands(a, ["--since", new Date(t2).toISOString()]), ["du -sh ."]);
    assert.deepEqual(
      await commands(a, ["--since", String(t1)]),
      ["du -sh .", "ls -lS"],
      "the bound is inclusive",
    );

    // Commands from three hours ago, encrypted with A's keys and pushed as the caro CLI would.
    const keys = new KeysFile(join(a.path, ".config", "cmdai", "sync-keys.json")).load()!.keys;
    const now = Date.now();
    const old = Array.from({ length: OLD }, (_, i) =>
      commandEntry(
        keys,
        aId,
        { prompt: `old ${i}`, command: `echo old-${i}`, safetyLevel: "safe" },
        now - 3 * HOUR - i,
      ),
    );
    const pushed = await json(a, ["push"], JSON.stringify(old));
    assert.equal(pushed.synced, OLD);
    assert.deepEqual(await commands(a, ["--since", "2h", "--all"]), ["du -sh .", "ls -lS"]);
    assert.equal((await commands(a, ["--since", "4h", "--all"])).length, OLD + 2);

    const bad = await on(a, ["history", "--since", "yesterday"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /expected a duration/);
  });

  it("history lists 20 by default, --limit N that many, --all every command", async () => {
    const all = await jsonLines(a, ["history", "--all"]);
    assert.equal(all.length, OLD + 2);
    assert.deepEqual(
      (await jsonLines(a, ["history"])).map((h) => h.id),
      all.slice(0, 20).map((h) => h.id),
    );
    assert.deepEqual(
      (await jsonLines(a, ["history", "--limit", "3"])).map((h) => h.id),
      all.slice(0, 3).map((h) => h.id),
    );
  });

  it("the human history table: its columns, decrypted rows with device names, no escape codes off a terminal", async () => {
    const run = await ok(a, ["history"], { env: COLOUR_ENV });
    assert.ok(!(run.stdout + run.stderr).includes(ESC), run.stdout);
    const out = lines(run);
    assert.deepEqual(cells(out[0]!), ["WHEN", "DEVICE", "SAFETY", "COMMAND", "PROMPT"]);
    assert.deepEqual(cells(out[1]!).slice(1), [hostname(), "safe", "du -sh .", "disk usage of this folder"]);
    assert.deepEqual(cells(out[2]!).slice(1), ["laptop", "moderate", "ls -lS", "list files by size"]);
    assert.equal(out.length, 1 + 20 + 1, "a header, 20 rows and the paging hint");
    const twentieth = (await jsonLines(a, ["history"]))[19]!.cursor as string;
    assert.equal(out[21], `${OLD + 2 - 20} older: caro-sync history --before ${twentieth} (or --all)`);
  });

  it("delete ID hides the command from history on A and, once synced, on B; --deleted shows it", async () => {
    const deleted = await json(a, ["delete", id1]);
    assert.deepEqual(deleted, { deleted: 1 });

    const shown = await jsonLines(a, ["history", "--all"]);
    assert.equal(shown.length, OLD + 1);
    assert.ok(!shown.some((h) => h.id === id1), "hidden by default");
    const withDeleted = await jsonLines(a, ["history", "--all", "--deleted"]);
    assert.equal(withDeleted.length, OLD + 2);
    const tomb = withDeleted.find((h) => h.id === id1)!;
    assert.equal(typeof tomb.deletedAt, "number");
    assert.deepEqual([tomb.prompt, tomb.command], ["list files by size", "ls -lS"], "still decrypted");
    const human = lines(await ok(a, ["history", "--deleted", "--limit", "2"]));
    assert.equal(cells(human[2]!).at(-1), "list files by size (deleted)");

    const onB = await waitFor(
      async () => {
        const h = await jsonLines(b, ["history", "--all", "--deleted"]);
        return h.find((x) => x.id === id1 && typeof x.deletedAt === "number") ? h : null;
      },
      { timeoutMs: 30_000, what: "B to get A's delete" },
    );
    assert.equal(onB.length, OLD + 2);
    const visibleOnB = await jsonLines(b, ["history", "--all"]);
    assert.equal(visibleOnB.length, OLD + 1);
    assert.ok(!visibleOnB.some((h) => h.id === id1));
    assert.ok(visibleOnB.some((h) => h.id === id2));
  });

  it("delete of an unknown id is not an error: exit 0, nothing counted; no id at all is a usage error", async () => {
    const unknown = randomUUID();
    assert.deepEqual(await json(a, ["delete", unknown]), { deleted: 0 });
    const human = await ok(a, ["delete", unknown, id2]);
    assert.equal(human.stdout, "deleted 1 of 2 entries\n");
    const missing = await on(a, ["delete", "--json"]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(missing.stdout, "");
    assert.equal((JSON.parse(missing.stderr) as { error: { exitCode: number } }).error.exitCode, 2);
  });

  it("pref list shows every preference set with pref set on either device, decrypted, as JSON and as a table", async () => {
    assert.deepEqual(await json(a, ["pref", "list"]), { preferences: [] });
    assert.equal((await ok(a, ["pref", "list"])).stdout, "no preferences\n");
    await json(a, ["pref", "set", "theme", "dark"]);
    await json(b, ["pref", "set", "editor", "vim"]);
    const prefs = await waitFor(
      async () => {
        const p = (await json(a, ["pref", "list"])).preferences as Line[];
        return p.length === 2 ? p : null;
      },
      { timeoutMs: 30_000, what: "A to see B's preference" },
    );
    assert.deepEqual(
      prefs.map(({ key, value, deviceId }) => ({ key, value, deviceId })),
      [
        { key: "editor", value: "vim", deviceId: bId },
        { key: "theme", value: "dark", deviceId: aId },
      ],
    );
    for (const p of prefs) assert.equal(typeof p.updatedAt, "number");
    const run = await ok(a, ["pref", "list"], { env: COLOUR_ENV });
    assert.ok(!run.stdout.includes(ESC), run.stdout);
    const table = lines(run);
    assert.equal(table.length, 3);
    assert.deepEqual(cells(table[0]!), ["KEY", "VALUE", "UPDATED"]);
    assert.deepEqual(cells(table[1]!).slice(0, 2), ["editor", "vim"]);
    assert.deepEqual(cells(table[2]!).slice(0, 2), ["theme", "dark"]);
  });

  it("status starts a stopped daemon (an initialized home), waits for it to load the identity, and reports its state", async () => {
    assert.equal((await json(b, ["stop"])).stopped, true);
    const without = await on(b, ["status", "--json", "--no-auto-start"]);
    assert.equal(without.code, 3, `stopped: ${without.stderr}`);
    const status = await json(b, ["status"]);
    // Loaded: the daemon refuses sync.status while INITIALIZING, and status waits that out.
    assert.ok(["ONLINE", "OFFLINE"].includes(status.state as string), String(status.state));
    assert.equal(status.deviceId, bId);
    // Started for good, not just for that command: ping never starts one.
    assert.equal((await json(b, ["ping"])).pong, true);
  });
});

// The same wait, deterministic: a peer that answers as a daemon loading its identity would.
describe("caro-sync commands and a daemon still loading its identity", () => {
  const notReady = (state: string) =>
    new PeerError(-32001, `Not ready: the daemon is ${state}`, { state, reason: "not_initialized" });

  it("run again while the daemon refuses them as INITIALIZING, and not for another refusal", async () => {
    const home = await tempDir("cs-dl-");
    let refusals = 2;
    const peer = await startPeer({
      "sync.status": () => {
        if (refusals-- > 0) throw notReady("INITIALIZING");
        return { state: "OFFLINE", deviceId: "dev-1" };
      },
    });
    try {
      const run = await caroSync(["status", "--json"], { home: home.path, socket: peer.socketPath });
      assert.equal(run.code, 0, run.stderr);
      assert.equal((oneJson(run) as { state: string }).state, "OFFLINE");
      assert.equal(peer.requests.filter((r) => r.method === "sync.status").length, 3);

      peer.handlers.set("sync.status", () => {
        throw notReady("UNINITIALIZED");
      });
      const before = peer.requests.length;
      const refused = await caroSync(["status", "--json"], { home: home.path, socket: peer.socketPath });
      assert.equal(refused.code, 4, refused.stderr);
      assert.equal(peer.requests.slice(before).filter((r) => r.method === "sync.status").length, 1);
    } finally {
      await peer.close();
      await home.cleanup();
    }
  });
});

function lines(run: CliRun): string[] {
  return run.stdout.split("\n").filter((l) => l !== "");
}

/** A table line's cells: columns are two spaces or more apart, values hold single spaces at most. */
function cells(line: string): string[] {
  return line.trim().split(/ {2,}/);
}
