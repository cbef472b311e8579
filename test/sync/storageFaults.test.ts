// Storage faults inside the manager, on a real SQLite cache: the one mapping to -32008 (by SQLite
// and errno codes), an I/O error injected by its code, and a real full disk (a tmpfs,
// test/helpers/smallDisk.ts) under the cache: health's probe, uploads, records from the relay,
// pause and reset. The daemon-process view is test/daemon/storageFaults.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, describe, it, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { ErrorCode } from "../../src/protocol.js";
import { toSyncError } from "../../src/sync/failures.js";
import { StorageFaultError, storageFaultReason } from "../../src/sync/storageFault.js";
import { command as remoteCommand } from "../helpers/records.js";
import { mountSmallDisk, type SmallDisk } from "../helpers/smallDisk.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { AUTH_KEY, command, harness, pullAll, type Harness } from "./support.js";

const MARKER = "SECRET-MARKER-91c2";

/** What the wire makes of a thrown error (ipc/dispatch.ts maps it the same way) is -32008 `reason`. */
const isStorageError = (reason: string) => (err: unknown) => {
  const wire = toSyncError(err);
  return wire.code === ErrorCode.StorageUnavailable && wire.data.reason === reason;
};

describe("storage faults: the mapping", () => {
  it("maps SQLite's and the OS's codes to disk_full, read_only or io_error, and nothing else", () => {
    const cases: [string, string | null][] = [
      ["SQLITE_FULL", "disk_full"],
      ["SQLITE_IOERR_NOSPC", "disk_full"],
      ["ENOSPC", "disk_full"],
      ["EDQUOT", "disk_full"],
      ["SQLITE_READONLY", "read_only"],
      ["SQLITE_READONLY_DBMOVED", "read_only"],
      ["SQLITE_READONLY_RECOVERY", "read_only"],
      ["EROFS", "read_only"],
      ["SQLITE_IOERR", "io_error"],
      ["SQLITE_IOERR_WRITE", "io_error"],
      ["SQLITE_IOERR_FSYNC", "io_error"],
      ["SQLITE_CANTOPEN", "io_error"],
      ["EIO", "io_error"],
      ["SQLITE_CONSTRAINT_PRIMARYKEY", null],
      ["SQLITE_CORRUPT", null],
      ["SQLITE_BUSY", null],
      ["ECONNREFUSED", null],
    ];
    for (const [code, reason] of cases) {
      const err = new Database.SqliteError(`${MARKER} ${code}`, code);
      assert.equal(storageFaultReason(err), reason, code);
      const wire = toSyncError(err);
      if (reason === null) {
        assert.equal(wire.code, ErrorCode.InternalError, code);
        continue;
      }
      assert.equal(wire.code, ErrorCode.StorageUnavailable, code);
      assert.equal(wire.data.reason, reason, code);
      assert.match(wire.data.hint ?? "", /send the request again: nothing of it was stored/, code);
      assert.ok(!JSON.stringify(wire.toJSON()).includes(MARKER), "the error's own text stays out");
    }
    assert.equal(storageFaultReason(new Error("no code")), null);
    const fault = new StorageFaultError({ store: "jazz", reason: "disk_full", at: 1 });
    assert.deepEqual(toSyncError(fault).toJSON(), {
      code: -32008,
      message: "Jazz's local storage cannot be written: the disk is full",
      data: {
        reason: "disk_full",
        hint: "free disk space where the daemon keeps its cache, then send the request again: nothing of it was stored",
      },
    });
  });
});

describe("storage faults in the manager", () => {
  let h: Harness | null = null;
  let disk: SmallDisk | null = null;
  afterEach(async () => {
    await h?.cleanup();
    h = null;
    await disk?.cleanup();
    disk = null;
  });

  /** A manager whose cache lives on a small tmpfs; null when the test was skipped. */
  async function onSmallDisk(t: TestContext, remote?: FakeRemote): Promise<Harness | null> {
    disk = await mountSmallDisk(t, { sizeBytes: 4 * 1024 * 1024 });
    if (!disk) return null;
    h = await harness({ config: { cachePath: join(disk.path, "sync.db") }, ...(remote && { remote }) });
    return h;
  }

  it("an I/O error (injected by its code) fails the push with -32008 io_error, stores nothing, and health stays false until a write succeeds", async () => {
    h = await harness();
    const { cache, manager } = h;
    const kept = command();
    await manager.pushEntries({ entries: [kept] });
    const ioError = () => new Database.SqliteError(`disk I/O error ${MARKER}`, "SQLITE_IOERR_WRITE");
    const put = cache.entries.put.bind(cache.entries);
    const set = cache.meta.set.bind(cache.meta);
    cache.entries.put = () => {
      throw ioError();
    };
    cache.meta.set = () => {
      throw ioError();
    };
    const lost = command();
    await assert.rejects(manager.pushEntries({ entries: [lost] }), isStorageError("io_error"));
    const failing = manager.healthReport();
    assert.equal(failing.healthy, false);
    assert.deepEqual(
      failing.cache.error && { code: failing.cache.error.code, reason: failing.cache.error.reason },
      {
        code: -32008,
        reason: "io_error",
      },
    );
    assert.deepEqual(
      pullAll(manager)
        .entries.map((e) => e.id)
        .filter((id) => id === lost.id),
      [],
      "nothing of the refused push",
    );

    cache.entries.put = put;
    cache.meta.set = set;
    assert.equal(manager.healthReport().healthy, true, "the probe's write works again");
    await manager.pushEntries({ entries: [lost] });
    assert.deepEqual(
      new Set(pullAll(manager).entries.map((e) => e.id)),
      new Set([kept.id, lost.id, ...manager.listDevices().devices.map((d) => d.deviceId)]),
    );
  });

  it("on a full disk a tiny write still fits in SQLite's WAL, yet health says disk_full and a push fails", async (t) => {
    const stack = await onSmallDisk(t);
    if (!stack || !disk) return;
    const { cache, manager } = stack;
    const stored = Array.from({ length: 400 }, () => command());
    await manager.pushEntries({ entries: stored });
    const queued = manager.getStatus().pendingUp;
    // A checkpoint that restarts the WAL: the next writes reuse its pages and need no new space.
    const other = new Database(stack.config.cachePath);
    other.pragma("wal_checkpoint(RESTART)");
    other.close();
    disk.fill();

    cache.meta.set("tiny", "fits"); // what the old probe did, and it succeeds
    const health = manager.healthReport();
    assert.equal(health.healthy, false);
    assert.equal(health.cache.writable, false);
    assert.equal(health.cache.error?.reason, "disk_full");
    await assert.rejects(
      manager.pushEntries({ entries: Array.from({ length: 2000 }, () => command()) }),
      isStorageError("disk_full"),
    );
    assert.equal(manager.getStatus().pendingUp, queued, "reads work; the refused push is not there");

    disk.free();
    assert.equal(manager.healthReport().healthy, true);
  });

  it("an upload whose confirmation the full disk refuses leaves the entries queued; with room the next sync confirms them", async (t) => {
    const remote = new FakeRemote();
    const stack = await onSmallDisk(t, remote);
    if (!stack || !disk) return;
    const { manager } = stack;
    await manager.connect();
    await waitFor(() => manager.pendingOperations() === 0, { what: "the device record uploaded" });
    let release!: () => void;
    remote.session.uploadGate = new Promise((resolve) => (release = resolve));
    const rounds: { code: number; reason: string }[] = [];
    manager.on("error", (e) => rounds.push({ code: e.code, reason: e.reason }));
    await manager.pushEntries({ entries: [command()] });
    await waitFor(() => remote.session.writes.length === 2, { what: "the push written to the relay" });
    disk.fill();
    remote.session.uploadGate = null;
    release();
    await waitFor(() => rounds.length > 0, { what: "the round to end in a failure" });
    assert.equal(
      manager.pendingOperations(),
      1,
      "the relay has it, the cache could not say so: still queued",
    );
    // The disk's failure, not the relay's: sync.error, lastError and sync.now all say so.
    assert.deepEqual(rounds[0], { code: ErrorCode.StorageUnavailable, reason: "disk_full" });
    assert.equal(manager.healthReport().lastError?.reason, "disk_full");
    await assert.rejects(manager.syncNow(), isStorageError("disk_full"));

    disk.free();
    assert.deepEqual(await manager.syncNow(), { pushed: 1, pulled: 0 });
    assert.equal(manager.pendingOperations(), 0);
  });

  it("records from the relay that arrive while the disk is full land once a write succeeds", async (t) => {
    const remote = new FakeRemote();
    const stack = await onSmallDisk(t, remote);
    if (!stack || !disk) return;
    const { manager } = stack;
    await manager.connect();
    disk.fill();
    const arrived = Array.from({ length: 300 }, () => remoteCommand());
    remote.session.deliver(arrived);
    const ids = () => new Set(pullAll(manager).entries.map((e) => e.id));
    assert.ok(!ids().has(arrived[0]?.id ?? ""), "not merged: the disk refused it");

    disk.free();
    await manager.pushEntries({ entries: [command()] });
    const now = ids();
    assert.ok(
      arrived.every((r) => now.has(r.id)),
      "held in memory and merged after the write",
    );
  });

  it("pause, reset and init on a full disk answer -32008; the pause holds for this run, the reset still forgets the identity, init leaves none", async (t) => {
    const stack = await onSmallDisk(t);
    if (!stack || !disk) return;
    const { manager } = stack;
    disk.fill();
    assert.throws(() => manager.pause(), isStorageError("disk_full"));
    assert.equal(manager.getStatus().paused, true);
    await assert.rejects(manager.reset({ discardUnsynced: true }), isStorageError("disk_full"));
    assert.equal(manager.state, "UNINITIALIZED");
    assert.equal(stack.credentials.load(), null);
    await assert.rejects(
      manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" }),
      isStorageError("disk_full"),
    );
    assert.equal(manager.state, "UNINITIALIZED", "nothing half-done: no identity");
    assert.equal(stack.credentials.load(), null);

    disk.free();
    await manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    assert.equal(manager.state, "OFFLINE");
  });
});
