// The user's own flow through the `caro-sync` command alone, on three devices and a real relay:
// init on A and three commands added; join on B with the phrase, B's history decrypted; a
// preference set on B read on A; a mistyped phrase refused on C with nothing stored; export on B.
// Then privacy: the phrase is in no file any of these processes wrote, neither cache holds a
// prompt or a command in plaintext, and no file is readable by others.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { caroSync, jsonLines as linesOf, oneJson, type CliRun } from "../cli/run.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

interface Home {
  path: string;
  cleanup: () => Promise<void>;
}

const COMMANDS = [
  { prompt: "list files by size", command: "ls -lS", explanation: "-S sorts by size" },
  { prompt: "disk usage of this folder", command: "du -sh ." },
  { prompt: "find big logs", command: "find /var/log -size +10M" },
];

describe("e2e: the caro-sync command, from a phrase to history on another device", () => {
  let relay: TestRelay;
  let a: Home;
  let b: Home;
  let c: Home;
  let phrase: string;
  const added: string[] = [];

  const on = (home: Home, args: string[], input?: string): Promise<CliRun> =>
    caroSync(args, {
      home: home.path,
      env: { CARO_SYNC_RELAY: relay.url },
      ...(input === undefined ? {} : { input }),
    });
  const json = async (home: Home, args: string[], input?: string): Promise<unknown> => {
    const run = await on(home, [...args, "--json"], input);
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return oneJson(run);
  };
  const jsonLines = async (home: Home, args: string[]): Promise<Record<string, unknown>[]> => {
    const run = await on(home, [...args, "--json"]);
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return linesOf(run);
  };

  before(async () => {
    relay = await startTestRelay();
    [a, b, c] = await Promise.all([tempDir("cs-a-"), tempDir("cs-b-"), tempDir("cs-c-")]);
  });
  after(async () => {
    for (const home of [a, b, c]) await on(home, ["stop"]);
    await relay.stop();
    for (const home of [a, b, c]) await home.cleanup();
  });

  it("init on A prints the phrase once, with the account and device", async () => {
    const init = (await json(a, ["init", "--device-name", "laptop"])) as Record<string, string>;
    phrase = init.phrase!;
    assert.equal(phrase.split(" ").length, 24);
    assert.match(init.accountId!, /^co_/);
    assert.ok(init.deviceId);
    assert.ok(["ONLINE", "OFFLINE"].includes(init.state!));
  });

  it("add on A encrypts and pushes three commands", async () => {
    for (const cmd of COMMANDS) {
      const args = ["add", cmd.prompt, cmd.command, "--safety", "moderate"];
      if (cmd.explanation) args.push("--explanation", cmd.explanation);
      added.push(((await json(a, args)) as { id: string }).id);
    }
    await waitFor(async () => ((await json(a, ["status"])) as { pendingUp: number }).pendingUp === 0, {
      timeoutMs: 30_000,
      what: "A's commands to reach the relay",
    });
  });

  it("join on B with the phrase shows the three commands decrypted in B's history", async () => {
    const joined = (await json(b, ["join", "--phrase-stdin", "--device-name", "desktop"], `${phrase}\n`)) as {
      accountId: string;
    };
    assert.match(joined.accountId, /^co_/);
    const history = await waitFor(
      async () => {
        const lines = await jsonLines(b, ["history"]);
        return lines.length === 3 ? lines : null;
      },
      { timeoutMs: 30_000, what: "B's history to hold the three commands" },
    );
    assert.deepEqual(history.map((h) => h.id).sort(), [...added].sort());
    // Newest first, decrypted, with the metadata the caro CLI wrote.
    assert.deepEqual(
      history.map((h) => h.command),
      COMMANDS.map((x) => x.command).reverse(),
    );
    const first = history.find((h) => h.command === "ls -lS")!;
    assert.equal(first.prompt, "list files by size");
    assert.equal(first.explanation, "-S sorts by size");
    assert.equal(first.safetyLevel, "moderate");
    assert.equal(first.executed, false);
    assert.equal(typeof first.createdAt, "number");
    // Filters and paging.
    const found = await jsonLines(b, ["history", "--search", "DISK"]);
    assert.deepEqual(
      found.map((h) => h.command),
      ["du -sh ."],
    );
    const page1 = await jsonLines(b, ["history", "--limit", "2"]);
    const page2 = await jsonLines(b, ["history", "--limit", "2", "--before", String(page1[1]!.cursor)]);
    assert.deepEqual(
      [...page1, ...page2].map((h) => h.id),
      history.map((h) => h.id),
    );
  });

  it("a preference set on B is read on A", async () => {
    await json(b, ["pref", "set", "theme", "dark"]);
    const pref = await waitFor(
      async () => {
        const run = await on(a, ["pref", "get", "theme", "--json"]);
        return run.code === 0 ? (oneJson(run) as { key: string; value: string }) : null;
      },
      { timeoutMs: 30_000, what: "A to see B's preference" },
    );
    assert.deepEqual({ key: pref.key, value: pref.value }, { key: "theme", value: "dark" });
  });

  it("a phrase with a wrong checksum is refused on C, and nothing is stored on C", async () => {
    const words = phrase.split(" ");
    // Swapping two different words keeps every word valid and breaks the checksum.
    const i = words.findIndex((w) => w !== words[0]);
    [words[0], words[i]] = [words[i]!, words[0]!];
    const run = await on(c, ["join", "--phrase-stdin", "--json"], words.join(" "));
    assert.equal(run.code, 6, run.stderr);
    assert.equal(run.stdout, "");
    const error = (JSON.parse(run.stderr) as { error: { reason: string; message: string } }).error;
    assert.equal(error.reason, "phrase_checksum");
    // A fixed text, built from nothing the user typed (a substring test cannot tell: BIP39 has
    // everyday words such as "check" and "match").
    assert.equal(error.message, "the recovery phrase checksum does not match");
    assert.equal(existsSync(join(c.path, ".config", "cmdai", "sync-keys.json")), false);
    assert.equal(existsSync(join(c.path, ".config", "cmdai", "sync-credentials.json")), false);
    assert.equal(existsSync(join(c.path, ".cache", "cmdai", "sync.db")), false, "no daemon was started");
  });

  it("export on B prints every command, the preference and both devices, decrypted", async () => {
    const lines = await jsonLines(b, ["export"]);
    const commands = lines.filter((l) => l.type === "command");
    assert.deepEqual(commands.map((l) => l.command).sort(), COMMANDS.map((x) => x.command).sort());
    const prefs = lines.filter((l) => l.type === "preference");
    assert.deepEqual(
      prefs.map((l) => [l.key, l.value]),
      [["theme", "dark"]],
    );
    const devices = lines.filter((l) => l.type === "device").map((l) => l.name);
    assert.deepEqual(devices.sort(), ["desktop", "laptop"]);
  });

  it("writes the phrase to no file, and keeps no prompt or command in plaintext in either cache", async () => {
    for (const home of [a, b]) await on(home, ["stop"]);
    const files = (await Promise.all([a, b, c].map((h) => filesUnder(h.path)))).flat();
    assert.ok(
      files.some((f) => f.endsWith("sync-daemon.log")),
      "the daemons' logs are among them",
    );
    assert.ok(
      files.some((f) => f.endsWith("sync.jazz.db")),
      "Jazz's storage is among them",
    );
    // Every run of three consecutive words: a part of the phrase, and never there by chance (one
    // BIP39 word alone can be: "time" and "level" are in every log line).
    const words = phrase.split(" ");
    const secrets = words.slice(0, -2).map((_, i) => words.slice(i, i + 3).join(" "));
    const plaintexts = COMMANDS.flatMap((x) => [x.prompt, x.command]);
    for (const file of files) {
      // A daemon still closing SQLite after `stop` may remove its -shm file meanwhile: gone is not a leak.
      const [info, bytes] = await Promise.all([stat(file), readFile(file)]).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") return [null, null] as const;
          throw err;
        },
      );
      if (!info || !bytes) continue;
      assert.equal(info.mode & 0o077, 0, `${file} is readable by others`);
      const text = bytes.toString("latin1");
      assert.ok(!text.includes(phrase), `the phrase is in ${file}`);
      for (const s of secrets) assert.ok(!text.includes(s), `part of the phrase is in ${file}`);
      for (const p of plaintexts) assert.ok(!text.includes(p), `"${p}" is in plaintext in ${file}`);
    }
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}
