import assert from "node:assert/strict";
import { chmodSync, existsSync } from "node:fs";
import { afterEach, describe, it } from "node:test";
import { ErrorCode, SyncError, type SyncState } from "../../src/protocol.js";
import { CredentialsError } from "../../src/sync/credentials.js";
import { localDeriveIdentity } from "../../src/sync/identity.js";
import { IllegalTransitionError, StateMachine, TRANSITIONS } from "../../src/sync/stateMachine.js";
import { FakeRemote } from "./fakeRemote.js";
import { AUTH_KEY, command, harness, harnessAt, pullAll, type Harness } from "./support.js";

const isSyncError =
  (code: number, check: (e: SyncError) => boolean = () => true) =>
  (err: unknown) =>
    err instanceof SyncError && err.code === code && check(err);

describe("sync lifecycle", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("starts UNINITIALIZED with no identity and refuses other calls with -32001 and a hint", async () => {
    h = await harness({ init: false });
    assert.equal(h.manager.state, "UNINITIALIZED");
    assert.throws(
      () => h.manager.getStatus(),
      isSyncError(ErrorCode.NotInitialized, (e) => e.data.hint === "run `caro sync init` first"),
    );
    await assert.rejects(h.manager.pushEntries({ entries: [] }), isSyncError(ErrorCode.NotInitialized));
    assert.throws(() => h.manager.pullEntries({}), isSyncError(ErrorCode.NotInitialized));
    await assert.rejects(h.manager.reset(), isSyncError(ErrorCode.NotInitialized));
    assert.equal(h.manager.healthReport().state, "UNINITIALIZED");
  });

  it("initialises offline with a local identity: 0600 credentials, registered device, OFFLINE", async () => {
    h = await harness({ init: false });
    const states: SyncState[] = [];
    h.manager.on("stateChange", (e) => states.push(e.to));
    const result = await h.manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    const expectedId = localDeriveIdentity(Buffer.from(AUTH_KEY, "base64")).accountId;
    assert.match(expectedId, /^local:[0-9a-f]{32}$/);
    assert.deepEqual(result, {
      success: true,
      deviceId: result.deviceId,
      syncRootId: null,
      accountId: expectedId,
      state: "OFFLINE",
    });
    assert.match(result.deviceId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(states, ["INITIALIZING", "OFFLINE"]);
    const stored = h.credentials.load();
    assert.equal(stored?.deviceId, result.deviceId);
    assert.equal(stored?.agentSecret, null);
    const devices = h.manager.listDevices().devices;
    assert.equal(devices.length, 1);
    assert.equal(devices[0]?.isCurrentDevice, true);
    assert.equal(devices[0]?.name, "laptop");
    await assert.rejects(
      h.manager.initialize({ authKey: AUTH_KEY, deviceName: "x", platform: "linux" }),
      isSyncError(ErrorCode.AlreadyInitialized, (e) => /reset/.test(e.data.hint ?? "")),
    );
  });

  it("rejects an authKey that is not base64 of 32 bytes with -32602 naming the field", async () => {
    h = await harness({ init: false });
    for (const authKey of [
      Buffer.alloc(31).toString("base64"),
      Buffer.alloc(33).toString("base64"),
      "",
      "AAAA",
    ]) {
      await assert.rejects(
        h.manager.initialize({ authKey, deviceName: "x", platform: "linux" }),
        isSyncError(ErrorCode.InvalidParams, (e) => e.data.field === "authKey"),
      );
    }
    assert.equal(h.manager.state, "UNINITIALIZED");
  });

  it("refuses a joining accountId that the authKey does not derive, storing nothing", async () => {
    h = await harness({ init: false, deriveIdentity: () => ({ accountId: "co_zRight", agentSecret: "s" }) });
    await assert.rejects(
      h.manager.initialize({ accountId: "co_zWrong", authKey: AUTH_KEY, deviceName: "x", platform: "linux" }),
      isSyncError(ErrorCode.InvalidCredentials),
    );
    assert.equal(h.manager.state, "UNINITIALIZED");
    assert.equal(existsSync(h.config.credentialsPath), false);
    const joined = await h.manager.initialize({
      accountId: "co_zRight",
      authKey: AUTH_KEY,
      deviceName: "x",
      platform: "linux",
    });
    assert.equal(joined.accountId, "co_zRight");
    assert.equal(h.credentials.load()?.mode, "join");
  });

  it("restarts into OFFLINE from stored credentials, keeping the device id and the data", async () => {
    h = await harness();
    const { deviceId } = h.manager.getStatus();
    await h.manager.pushEntries({ entries: [command()] });
    h = await h.restart();
    assert.equal(h.manager.state, "OFFLINE");
    assert.equal(h.manager.getStatus().deviceId, deviceId);
    assert.equal(pullAll(h.manager).entries.length, 2);
  });

  it("keeps pendingDown across restarts, and a manager that never started does not overwrite it", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command(), command()] });
    pullAll(h.manager);
    await h.manager.pushEntries({ entries: [command()] });
    assert.equal(h.manager.getStatus().pendingDown, 1);
    await h.manager.shutdown(); // saves the cursor handed out
    // A second daemon opens the same files, is refused at the socket, and shuts down unstarted.
    const refused = await harnessAt(h.dir, { start: false });
    await refused.manager.shutdown();
    h = await h.restart();
    assert.equal(h.manager.getStatus().pendingDown, 1);
  });

  // The daemon's order: restore() before the socket accepts, start() after; a client may send
  // sync.init as soon as the socket answers, while start-up is still running.
  it("an init sent while start-up runs opens the account once, and start-up leaves it alone", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote, start: false });
    let release!: () => void;
    remote.openGate = new Promise((r) => (release = r));
    h.manager.restore();
    const init = h.manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    const started = h.manager.start();
    release();
    await Promise.all([init, started]);
    assert.equal(remote.opens, 1);
    assert.equal(h.manager.state, "OFFLINE");
    assert.equal(remote.sessions.filter((s) => !s.closed).length, 1);
  });

  // A Remote that loads its implementation on first use (jazz/lazyRemote.ts) is ready only later.
  it("sync.init waits for the Remote to be ready before deriving; a second init meanwhile gets -32004", async () => {
    let release!: () => void;
    const remote = new LoadingRemote(new Promise((r) => (release = r)));
    h = await harness({ remote, start: false });
    h.manager.restore();
    const params = { authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" };
    const first = h.manager.initialize(params);
    const second = h.manager.initialize(params);
    assert.equal(h.manager.state, "UNINITIALIZED");
    release();
    assert.equal((await first).state, "OFFLINE");
    await assert.rejects(second, isSyncError(ErrorCode.AlreadyInitialized));
    assert.equal(remote.opens, 1);
  });

  it("a second open asked for while one is under way waits for it instead of racing it", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote, start: false });
    let release!: () => void;
    remote.openGate = new Promise((r) => (release = r));
    const init = h.manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    // start() without an earlier restore() finds the identity init just stored and opens it too.
    const started = h.manager.start();
    release();
    await Promise.all([init, started]);
    assert.equal(remote.opens, 1, "one open of the account");
    assert.equal(h.manager.state, "OFFLINE");
  });

  it("refuses to start with a credentials file readable by others", async () => {
    h = await harness();
    chmodSync(h.config.credentialsPath, 0o644);
    await h.manager.shutdown();
    await assert.rejects(
      h.restart(),
      (err: unknown) => err instanceof CredentialsError && err.reason === "insecure_permissions",
    );
    chmodSync(h.config.credentialsPath, 0o600);
  });

  it("reset refuses while changes are unconfirmed by the relay, naming their count, and forgets nothing", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command(), command()] });
    const err = await h.manager.reset().catch((e: unknown) => e);
    assert.ok(err instanceof SyncError);
    assert.equal(err.code, ErrorCode.InvalidParams);
    assert.equal(err.data.reason, "unsynced_changes");
    // The two commands and this device's own record, all still queued.
    assert.equal(err.data.pending, 3);
    assert.notEqual(h.manager.state, "UNINITIALIZED");
    assert.equal(existsSync(h.config.credentialsPath), true);
    assert.equal(h.cache.queue.size(), 3);
  });

  it("reset forgets identity, cache and queue, returns to UNINITIALIZED, and stays so after a restart", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command(), command()] });
    h.manager.pause();
    assert.deepEqual(await h.manager.reset({ discardUnsynced: true }), { reset: true });
    assert.equal(h.manager.state, "UNINITIALIZED");
    assert.equal(existsSync(h.config.credentialsPath), false);
    assert.equal(h.cache.entries.count(), 0);
    assert.equal(h.cache.queue.size(), 0);
    assert.equal(h.manager.healthReport().paused, false);
    h = await h.restart();
    assert.equal(h.manager.state, "UNINITIALIZED");
    const again = await h.manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    assert.equal(again.state, "OFFLINE");
    assert.equal(pullAll(h.manager).entries.length, 1, "only the new device record");
  });

  it("pause and resume persist the flag, reported by status and health", async () => {
    h = await harness();
    const wanted: string[] = [];
    h.manager.on("connectionWanted", (e) => wanted.push(e.reason));
    assert.deepEqual(h.manager.pause(), { paused: true });
    assert.equal(h.manager.getStatus().paused, true);
    assert.equal(
      (await h.manager.pushEntries({ entries: [command()] })).synced,
      1,
      "pushes are still accepted",
    );
    h = await h.restart();
    assert.equal(h.manager.healthReport().paused, true);
    assert.equal(h.manager.wantsConnection(), false);
    h.manager.on("connectionWanted", (e) => wanted.push(e.reason));
    assert.deepEqual(h.manager.resume(), { paused: false });
    assert.equal(h.manager.getStatus().paused, false);
    assert.deepEqual(wanted, ["resume"]);
  });

  it("sync.now without a connected relay fails with -32003 and a hint", async () => {
    h = await harness();
    await assert.rejects(
      h.manager.syncNow(),
      isSyncError(ErrorCode.NetworkUnreachable, (e) => typeof e.data.hint === "string"),
    );
  });

  it("reports health from the real cache file", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command(), command()] });
    h.clock.advance(2500);
    const health = h.manager.healthReport();
    assert.equal(health.healthy, true);
    assert.equal(health.state, "OFFLINE");
    assert.deepEqual(health.jazz, { connected: false, relay: "ws://127.0.0.1:9", latency: null });
    assert.equal(health.cache.entries, 3);
    assert.equal(health.cache.writable, true);
    assert.ok(health.cache.sizeBytes > 4096);
    assert.deepEqual(health.queue, { pending: 3, failed: 0, oldestAgeMs: 2500 });
    assert.equal(h.manager.pendingOperations(), 3);
  });

  it("shutdown is idempotent and closes the cache", async () => {
    h = await harness();
    await Promise.all([
      h.manager.shutdown({ finalUploadMs: 100 }),
      h.manager.shutdown({ finalUploadMs: 100 }),
    ]);
    assert.throws(() => h.cache.entries.count(), /not open/);
  });
});

describe("state machine", () => {
  it("allows exactly the transitions of the table", () => {
    const all: SyncState[] = ["UNINITIALIZED", "INITIALIZING", "ONLINE", "OFFLINE"];
    for (const from of all) {
      for (const to of all) {
        if (from === to) continue;
        const seen: string[] = [];
        const m = new StateMachine((a, b) => seen.push(`${a}>${b}`));
        // Walk to `from` along legal edges first.
        const path: Record<SyncState, SyncState[]> = {
          UNINITIALIZED: [],
          INITIALIZING: ["INITIALIZING"],
          OFFLINE: ["INITIALIZING", "OFFLINE"],
          ONLINE: ["INITIALIZING", "OFFLINE", "ONLINE"],
        };
        for (const step of path[from]) m.transition(step);
        if (TRANSITIONS[from].includes(to)) {
          m.transition(to);
          assert.equal(m.state, to);
        } else {
          assert.throws(() => m.transition(to), IllegalTransitionError, `${from} → ${to} must be refused`);
          assert.equal(m.state, from);
        }
      }
    }
    assert.deepEqual(TRANSITIONS.UNINITIALIZED, ["INITIALIZING"]);
    assert.ok(!TRANSITIONS.ONLINE.includes("INITIALIZING"));
  });
});

/** A FakeRemote whose deriveIdentity works only once ready() has resolved (after `loaded`). */
class LoadingRemote extends FakeRemote {
  private isReady = false;

  constructor(private readonly loaded: Promise<void>) {
    super();
  }

  async ready(): Promise<void> {
    await this.loaded;
    this.isReady = true;
  }

  override deriveIdentity(authKey: Uint8Array) {
    if (!this.isReady) throw new Error("deriveIdentity before ready()");
    return super.deriveIdentity(authKey);
  }
}
