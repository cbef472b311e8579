// `caro-sync doctor` against real daemons initialised with `caro-sync init` on a real relay, each
// fault made for real: a daemon of another version on the socket, the socket, its directory and the
// credentials file opened to others, the Jazz storage overwritten. Each is reported by its own
// check with a fix, exit 1; and applying the fix makes that check ok again.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { chmod, cp, mkdir, readFile, rename, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { lockCacheFile } from "../../src/cache/lock.js";
import { BIN_PATH } from "../../src/client/launch.js";
import type { CheckResult } from "../../src/cli/doctor/check.js";
import { DAEMON_VERSION } from "../../src/version.js";
import { PeerError, healthResult, startPeer } from "../client/peer.js";
import { overwritePages } from "../helpers/corrupt.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { caroSync, oneJson, type CliRun } from "./run.js";

interface Home {
  path: string;
  cleanup: () => Promise<void>;
}

interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

const PACKAGE_ROOT = dirname(dirname(BIN_PATH));
/** Another major version than this client's: the doctor must call it a failure, not a warning. */
const OTHER_VERSION = `${Number(DAEMON_VERSION.split(".")[0]) + 1}.0.0`;

/** What a daemon loading its account reports (its answer to daemon.health while INITIALIZING). */
const LOADING_HEALTH = healthResult({
  healthy: false,
  uptime: 1,
  state: "INITIALIZING",
  jazz: { connected: false, relay: "", latency: null },
  cache: { entries: 0, sizeBytes: 45_056, writable: true, error: null },
});

const configDir = (home: Home) => join(home.path, ".config", "cmdai");
const socketOf = (home: Home) => join(configDir(home), "sync.sock");
const keysOf = (home: Home) => join(configDir(home), "sync-keys.json");
const credentialsOf = (home: Home) => join(configDir(home), "sync-credentials.json");
const jazzStorageOf = (home: Home) => join(home.path, ".cache", "cmdai", "sync.jazz.db");

function check(doc: DoctorReport, name: string): CheckResult {
  const found = doc.checks.find((c) => c.name === name);
  assert.ok(found, `no check ${name}`);
  return found;
}

const failures = (doc: DoctorReport) => doc.checks.filter((c) => c.status === "fail").map((c) => c.name);

/**
 * This package as another version would be installed: bin/, the compiled src/ and a package.json
 * with OTHER_VERSION (what the daemon reports in daemon.ping), sharing the dependencies.
 */
async function installOtherVersion(dir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };
  await writeFile(join(dir, "package.json"), JSON.stringify({ ...pkg, version: OTHER_VERSION }));
  await mkdir(join(dir, "dist"));
  await cp(join(PACKAGE_ROOT, "dist", "bundle"), join(dir, "dist", "bundle"), { recursive: true });
  await cp(join(PACKAGE_ROOT, "bin"), join(dir, "bin"), { recursive: true });
  await symlink(realpathSync(join(PACKAGE_ROOT, "node_modules")), join(dir, "node_modules"));
  return join(dir, "bin", "caro-sync");
}

describe("caro-sync doctor finds real faults", () => {
  let relay: TestRelay;
  let home: Home;
  let oldHome: Home;
  let oldPackage: Home;
  let accountId: string;

  const run = (on: Home, args: string[]): Promise<CliRun> =>
    caroSync(args, { home: on.path, env: { CARO_SYNC_RELAY: relay.url } });
  const doctor = async (on: Home = home): Promise<{ run: CliRun; doc: DoctorReport }> => {
    const r = await run(on, ["doctor", "--json"]);
    return { run: r, doc: oneJson(r) as DoctorReport };
  };
  /** The doctor exits 1 and `name` is the one failing check; returns it. */
  const failsOnly = async (name: string): Promise<CheckResult> => {
    const { run: r, doc } = await doctor();
    assert.equal(r.code, 1, r.stderr);
    assert.equal(doc.ok, false);
    assert.deepEqual(failures(doc), [name], JSON.stringify(doc.checks));
    return check(doc, name);
  };
  /** After the fix: exit 0 and `name` is ok. */
  const passes = async (name: string): Promise<void> => {
    const { run: r, doc } = await doctor();
    assert.equal(r.code, 0, JSON.stringify(doc.checks));
    assert.equal(check(doc, name).status, "ok");
  };

  /** `path` at `badMode`, `fn` checks doctor's verdict, then the fix (`goodMode`) makes `name` pass. */
  const withMode = async (
    path: string,
    badMode: number,
    goodMode: number,
    name: string,
    fn: () => Promise<void>,
  ) => {
    await chmod(path, badMode);
    try {
      await fn();
    } finally {
      await chmod(path, goodMode);
    }
    await passes(name);
  };

  before(async () => {
    relay = await startTestRelay();
    [home, oldHome, oldPackage] = await Promise.all([
      tempDir("cs-dr-"),
      tempDir("cs-dr-old-"),
      tempDir("cs-dr-pkg-"),
    ]);
    const oldBin = await installOtherVersion(oldPackage.path);
    const [init] = await Promise.all([
      run(home, ["init", "--json", "--device-name", "x"]),
      promisify(execFile)(process.execPath, [oldBin, "init", "--json", "--device-name", "old"], {
        env: { PATH: process.env.PATH ?? "", HOME: oldHome.path, CARO_SYNC_RELAY: relay.url },
      }),
    ]);
    assert.equal(init.code, 0, init.stderr);
    ({ accountId } = oneJson(init) as { accountId: string });
  });
  after(async () => {
    for (const h of [home, oldHome]) await run(h, ["stop"]);
    await relay.stop();
    for (const h of [home, oldHome, oldPackage]) await h.cleanup();
  });

  it("a freshly initialised home has no failure", async () => {
    const { run: r, doc } = await doctor();
    assert.deepEqual(failures(doc), [], JSON.stringify(doc.checks));
    assert.equal(r.code, 0);
  });

  it("a daemon of another major version fails daemon-version with `caro-sync restart`, which fixes it", async () => {
    const { run: r, doc } = await doctor(oldHome);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(failures(doc), ["daemon-version"], JSON.stringify(doc.checks));
    const version = check(doc, "daemon-version");
    assert.equal(version.detail, `the daemon runs ${OTHER_VERSION}, this client is ${DAEMON_VERSION}`);
    assert.match(version.hint ?? "", /`caro-sync restart`/);

    const restarted = await run(oldHome, ["restart", "--json"]);
    assert.equal(restarted.code, 0, restarted.stderr);
    const after = await doctor(oldHome);
    assert.equal(after.run.code, 0, JSON.stringify(after.doc.checks));
    assert.equal(
      check(after.doc, "daemon-version").detail,
      `daemon ${DAEMON_VERSION} = client ${DAEMON_VERSION}`,
    );
  });

  it("a daemon still loading its identity (INITIALIZING) is compared by its credentials file, not told to join", async () => {
    // The daemon's answers while INITIALIZING (docs/protocol.md §4): health, and sync.status refused.
    const peer = await startPeer({
      "daemon.ping": () => ({ pong: true, version: DAEMON_VERSION, uptime: 1 }),
      "daemon.health": () => ({ ...LOADING_HEALTH, jazz: { ...LOADING_HEALTH.jazz, relay: relay.url } }),
      "sync.status": () => {
        throw new PeerError(-32001, "Not Initialized", {
          reason: "not_initialized",
          state: "INITIALIZING",
          retryAfterMs: 100,
        });
      },
    });
    try {
      const r = await caroSync(["doctor", "--json"], {
        home: home.path,
        socket: peer.socketPath,
        env: { CARO_SYNC_RELAY: relay.url },
      });
      const doc = oneJson(r) as DoctorReport;
      assert.match(check(doc, "daemon").detail, /\(INITIALIZING\)/);
      const account = check(doc, "account");
      assert.deepEqual(account, {
        name: "account",
        status: "ok",
        detail: `keys and the credentials file both belong to ${accountId}`,
      });
      // With no credentials file yet (sync.init still running), there is nothing to compare.
      const bare = await tempDir("cs-dr-bare-");
      try {
        await mkdir(configDir(bare), { recursive: true, mode: 0o700 });
        await cp(keysOf(home), keysOf(bare));
        const early = await caroSync(["doctor", "--json"], {
          home: bare.path,
          socket: peer.socketPath,
          env: { CARO_SYNC_RELAY: relay.url },
        });
        assert.deepEqual(check(oneJson(early) as DoctorReport, "account"), {
          name: "account",
          status: "skip",
          detail: "the daemon is still initializing: run `caro-sync doctor` again",
        });
      } finally {
        await bare.cleanup();
      }
    } finally {
      await peer.close();
    }
  });

  it("a socket others can use (0666) fails the socket check with chmod 600", async () => {
    const socket = socketOf(home);
    const mode = (await stat(socket)).mode & 0o777;
    await withMode(socket, 0o666, mode, "socket", async () => {
      const found = await failsOnly("socket");
      assert.match(found.detail, /mode 666/);
      assert.equal(found.hint, `chmod 600 ${socket}`);
    });
  });

  it("a socket directory others can write (0777) fails socket-directory with chmod 700", async () => {
    const dir = configDir(home);
    await withMode(dir, 0o777, 0o700, "socket-directory", async () => {
      const found = await failsOnly("socket-directory");
      assert.match(found.detail, /mode 777: others can replace the socket/);
      assert.equal(found.hint, `chmod 700 ${dir}`);
      // The table says it too, with the fix.
      const human = await run(home, ["doctor"]);
      assert.equal(human.code, 1);
      assert.ok(
        human.stdout
          .split("\n")
          .some((l) => /^FAIL\s+socket-directory\s/.test(l) && l.endsWith(`(fix: chmod 700 ${dir})`)),
        human.stdout,
      );
    });
  });

  it("a credentials file readable by others (0644) fails credentials-file with chmod 600", async () => {
    const credentials = credentialsOf(home);
    await withMode(credentials, 0o644, 0o600, "credentials-file", async () => {
      const found = await failsOnly("credentials-file");
      assert.match(found.detail, /mode 644: group or others can use it/);
      assert.equal(found.hint, `chmod 600 ${credentials}`);
    });
  });

  it("damaged Jazz storage fails jazz-storage; moving it away and starting again, as the hint says, fixes it", async () => {
    const storage = jazzStorageOf(home);
    assert.equal((await run(home, ["stop"])).code, 0);
    // `stop` returns once the daemon has closed its files: the cache lock is free at once.
    lockCacheFile(join(home.path, ".cache", "cmdai", "sync.db")).release();
    // Any WAL folded into the main file first (so the pages overwritten are the ones read), then
    // the leaf pages of the transactions table overwritten: the account as stored, now random bytes.
    new Database(storage).close();
    const db = new Database(storage, { readonly: true, fileMustExist: true });
    const pages = db
      .prepare<[], number>("SELECT pageno FROM dbstat WHERE name = 'transactions' AND pagetype = 'leaf'")
      .pluck()
      .all();
    db.close();
    assert.ok(pages.length > 0, "the account's transactions are on leaf pages");
    overwritePages(storage, pages);

    const { run: r, doc } = await doctor();
    assert.equal(r.code, 1);
    // The daemon is down (stopped to damage its file); the damage is the other failure.
    assert.deepEqual(failures(doc), ["daemon", "jazz-storage"], JSON.stringify(doc.checks));
    const found = check(doc, "jazz-storage");
    assert.ok(found.detail.startsWith(`${storage} is damaged: `), found.detail);
    assert.equal(
      found.hint,
      `run \`caro-sync stop\`, move ${storage} away, then \`caro-sync start\` (Jazz loads the account from the relay again)`,
    );

    for (const file of [storage, `${storage}-wal`, `${storage}-shm`].filter((f) => existsSync(f)))
      await rename(file, `${file}.damaged`);
    assert.equal((await run(home, ["start"])).code, 0);
    // The daemon answers before Jazz opens its storage again.
    await waitFor(() => existsSync(storage), { what: "new Jazz storage" });
    const fixed = await doctor();
    assert.deepEqual(failures(fixed.doc), [], JSON.stringify(fixed.doc.checks));
    assert.equal(fixed.run.code, 0);
    assert.equal(check(fixed.doc, "jazz-storage").status, "ok");
    assert.equal(check(fixed.doc, "account").status, "ok", JSON.stringify(fixed.doc.checks));
  });
});
