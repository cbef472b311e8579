// `caro-sync join` when it cannot finish at once, through the command alone on a real relay: with
// the relay unreachable (the devices' path to it is a proxy that refuses every connection) the
// join says so in plain words, exits 0 with its documented --json document and stores the keys;
// once the path opens, the daemon completes the join by itself and the account's history shows up
// decrypted, with no second `join`. A valid phrase whose account the relay does not know is
// refused (exit 6, account_not_found) with nothing stored.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeysFile, generatePhrase } from "../../src/client/crypto/index.js";
import { caroSync, jsonLines, oneJson, type CliRun } from "../cli/run.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faultProxy.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

type Home = Awaited<ReturnType<typeof tempDir>>;

const COMMANDS = [
  { prompt: "list files by size", command: "ls -lS" },
  { prompt: "disk usage of this folder", command: "du -sh ." },
];
const UNREACHABLE =
  "The relay is not reachable: this device finishes joining as soon as it is (see `caro-sync status`).";
/** What every escape sequence (a progress bar's redraw, a colour) starts with. */
const ESC = "\x1b";

const configDir = (home: Home) => join(home.path, ".config", "cmdai");
const keysPath = (home: Home) => join(configDir(home), "sync-keys.json");
const credentialsPath = (home: Home) => join(configDir(home), "sync-credentials.json");

describe("e2e: caro-sync join with the relay unreachable, and with a phrase the relay does not know", () => {
  let relay: TestRelay;
  /** B's and C's only path to the relay; closed until the test opens it. */
  let path: FaultProxy;
  let a: Home;
  let b: Home; // joins in human mode
  let c: Home; // joins with --json
  let d: Home; // an unknown account
  let phrase: string;
  let accountId: string;
  const added: string[] = [];

  // A talks to the relay directly; the others go through the proxy.
  const urlOf = (home: Home) => (home === a ? relay.url : path.url);
  const on = (home: Home, args: string[], input?: string): Promise<CliRun> =>
    caroSync(args, {
      home: home.path,
      env: { CARO_SYNC_RELAY: urlOf(home) },
      ...(input === undefined ? {} : { input }),
    });
  const json = async (home: Home, args: string[]): Promise<unknown> => {
    const run = await on(home, [...args, "--json"]);
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return oneJson(run);
  };
  const history = async (home: Home): Promise<Record<string, unknown>[]> => {
    const run = await on(home, ["history", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    return jsonLines(run);
  };

  before(async () => {
    relay = await startTestRelay();
    path = await startFaultProxy(relay.port);
    path.cut();
    [a, b, c, d] = await Promise.all([
      tempDir("cs-join-a-"),
      tempDir("cs-join-b-"),
      tempDir("cs-join-c-"),
      tempDir("cs-join-d-"),
    ]);
  });
  after(async () => {
    path.restore();
    for (const home of [a, b, c, d]) await on(home, ["stop"]);
    await path.stop();
    await relay.stop();
    for (const home of [a, b, c, d]) await home.cleanup();
  });

  it("init and add on A, which reaches the relay", async () => {
    const init = (await json(a, ["init", "--device-name", "first"])) as { phrase: string; accountId: string };
    phrase = init.phrase;
    accountId = init.accountId;
    for (const cmd of COMMANDS)
      added.push(((await json(a, ["add", cmd.prompt, cmd.command])) as { id: string }).id);
    await waitFor(async () => ((await json(a, ["status"])) as { pendingUp: number }).pendingUp === 0, {
      timeoutMs: 30_000,
      what: "A's commands to reach the relay",
    });
  });

  it("join while the relay is unreachable says so, exits 0, prints {accountId, deviceId, state, entries} with --json, and stores the keys", async () => {
    // Both at once: each waits (up to 15 s) for the relay before it gives up on the download.
    const [human, scripted] = await Promise.all([
      on(b, ["join", "--phrase-stdin", "--device-name", "human"], `${phrase}\n`),
      on(c, ["join", "--phrase-stdin", "--device-name", "scripted", "--json"], `${phrase}\n`),
    ]);
    assert.equal(path.stats().connections, 0, "the proxy let no connection through");

    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split("\n");
    assert.match(
      lines[0]!,
      new RegExp(`^joined account ${accountId} as device \\S+: \\d+ entries in the local cache$`),
    );
    assert.equal(lines[1], UNREACHABLE);
    assert.equal(lines.length, 2, human.stdout);
    // Not a terminal: no progress bar, no colour, on either stream.
    assert.ok(!(human.stdout + human.stderr).includes(ESC), "no escape sequences off a terminal");
    assert.ok(!human.stderr.includes("downloading history"), human.stderr);

    assert.equal(scripted.code, 0, scripted.stderr);
    assert.equal(scripted.stderr, "");
    const doc = oneJson(scripted) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc).sort(), ["accountId", "deviceId", "entries", "state"]);
    assert.equal(doc.accountId, accountId, "the account ID comes from the phrase, not from the relay");
    assert.equal(typeof doc.deviceId, "string");
    assert.equal(doc.state, "OFFLINE");
    assert.equal(typeof doc.entries, "number");

    // The keys from the phrase (the same as A's), 0600; the daemon's identity beside them.
    const keysOfA = new KeysFile(keysPath(a)).load();
    for (const home of [b, c]) {
      const stored = new KeysFile(keysPath(home)).load();
      assert.ok(stored, "the keys are stored");
      assert.equal(stored.accountId, accountId);
      assert.deepEqual(stored.keys, keysOfA?.keys);
      assert.equal(statSync(keysPath(home)).mode & 0o777, 0o600);
      assert.ok(existsSync(credentialsPath(home)), "the daemon stored its identity");
      assert.deepEqual(await history(home), [], "nothing downloaded yet");
      assert.equal(((await json(home, ["status"])) as { state: string }).state, "OFFLINE");
    }
    // The join is done as far as the user goes: another one is refused.
    const again = await on(b, ["join", "--phrase-stdin", "--json"], `${phrase}\n`);
    assert.equal(again.code, 8, again.stderr);
    assert.equal(
      (JSON.parse(again.stderr) as { error: { reason: string } }).error.reason,
      "already_initialized",
    );
  });

  it("completes the join once the relay is reachable: A's commands show decrypted, with no second join", async () => {
    path.restore();
    for (const home of [b, c]) {
      const shown = await waitFor(
        async () => {
          const lines = await history(home);
          return lines.length === COMMANDS.length ? lines : null;
        },
        { timeoutMs: 45_000, what: "the joined device's history to hold A's commands" },
      );
      assert.deepEqual(shown.map((h) => h.id).sort(), [...added].sort());
      assert.deepEqual(
        shown.map((h) => [h.prompt, h.command]),
        COMMANDS.map((x) => [x.prompt, x.command]).reverse(),
      );
      assert.equal(((await json(home, ["status"])) as { state: string }).state, "ONLINE");
    }
  });

  it("a valid phrase whose account the relay does not know: exit 6, account_not_found, nothing stored", async () => {
    const run = await caroSync(["join", "--phrase-stdin", "--json"], {
      home: d.path,
      env: { CARO_SYNC_RELAY: relay.url },
      input: `${generatePhrase()}\n`,
    });
    assert.equal(run.code, 6, run.stderr);
    assert.equal(run.stdout, "");
    const { error } = JSON.parse(run.stderr) as {
      error: { message: string; code: number; reason: string; hint: string; exitCode: number };
    };
    assert.equal(error.reason, "account_not_found");
    assert.equal(error.code, -32002);
    assert.equal(error.exitCode, 6);
    assert.equal(error.message, "the relay has no account for this recovery phrase");
    assert.ok(error.hint, "a hint says what to do");
    assert.equal(existsSync(keysPath(d)), false, "no keys file");
    assert.equal(existsSync(credentialsPath(d)), false, "no credentials");
    // The daemon is back to no identity: the user can join again with the right phrase.
    const status = await caroSync(["status", "--json"], {
      home: d.path,
      env: { CARO_SYNC_RELAY: relay.url },
    });
    assert.equal(status.code, 4, status.stderr);
    assert.equal(
      (JSON.parse(status.stderr) as { error: { reason: string } }).error.reason,
      "not_initialized",
    );
  });
});
