// The batch operations of the entry store (one lookup for many keys, one write of many records),
// which sync.push and the records from the relay go through.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LAST_CURSOR_KEY } from "../../src/cache/entryStore.js";
import { SqliteCache } from "../../src/cache/sqliteCache.js";
import { commandRecord, preferenceRecord } from "../../src/sync/records.js";
import type { RemoteRecord } from "../../src/sync/remote.js";
import { tempDir } from "../helpers/tmp.js";

const command = (id: string, payload = "AQID") =>
  commandRecord({
    id,
    deviceId: "d",
    encryptedPayload: payload,
    safetyLevel: "safe",
    executed: false,
    createdAt: 1,
  });
const preference = (key: string) => preferenceRecord({ key, deviceId: "d", encrypted: "AQ", updatedAt: 1 });

describe("entry store batches", () => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  after(async () => Promise.all(dirs.map((d) => d.cleanup())));
  const open = async () => {
    const d = await tempDir("ceb-");
    dirs.push(d);
    return SqliteCache.open(join(d.path, "sync.db"));
  };
  /** The running total of live bytes, checked against a recount from the table. */
  const assertLiveBytesTrue = (cache: SqliteCache) => {
    const tracked = cache.entries.liveBytes();
    cache.entries.recount();
    assert.equal(tracked, cache.entries.liveBytes(), "live bytes tracked = recounted");
  };

  it("getMany answers each key in order: found or undefined, whatever its type", async () => {
    const cache = await open();
    cache.entries.putMany([command("a"), preference("a"), command("b")], 1000);
    const found = cache.entries.getMany([
      { type: "command", id: "b" },
      { type: "preference", id: "a" },
      { type: "command", id: "missing" },
      { type: "device", id: "a" },
      { type: "command", id: "a" },
      { type: "command", id: "b" },
    ]);
    assert.deepEqual(
      found.map((e) => e && [e.type, e.id]),
      [["command", "b"], ["preference", "a"], undefined, undefined, ["command", "a"], ["command", "b"]],
    );
    assert.deepEqual(cache.entries.getMany([]), []);
    cache.close();
  });

  it("putMany gives increasing cursors and writes the high-water mark once, at the last", async () => {
    const cache = await open();
    const cursors = cache.entries.putMany([command("a"), command("b"), command("c")], 5000);
    assert.deepEqual(cursors, [5000, 5001, 5002]);
    assert.equal(cache.meta.get(LAST_CURSOR_KEY), "5002");
    // A clock gone back changes nothing: the next cursors follow the last.
    assert.deepEqual(cache.entries.putMany([command("d"), command("a", "BAUG")], 10), [5003, 5004]);
    assert.equal(cache.meta.get(LAST_CURSOR_KEY), "5004");
    cache.close();
  });

  it("keeps the live bytes true through replaced, repeated and evicted entries", async () => {
    const cache = await open();
    cache.entries.putMany([command("a"), command("b"), command("c"), preference("p")], 1);
    assertLiveBytesTrue(cache);
    // The cache's own eviction: the oldest confirmed commands lose their payload (none is queued here).
    assert.ok(cache.enforceMaxSize(cache.entries.liveBytes() - 1) > 0);
    assertLiveBytesTrue(cache);
    // One batch: "a" replaced twice, the evicted ones written back, a new one.
    cache.entries.putMany(
      [command("a", "BBBB"), command("b"), command("a", "CCCCCCCC"), command("c"), command("e")],
      2,
    );
    assertLiveBytesTrue(cache);
    assert.equal(cache.entries.count(), 5);
    cache.close();
  });

  it("putMany writes all or nothing: a record the table refuses rolls the batch back", async () => {
    const cache = await open();
    cache.entries.putMany([command("a")], 1);
    const before = { cursor: cache.meta.get(LAST_CURSOR_KEY), bytes: cache.entries.liveBytes() };
    const refused = { ...command("x"), id: null } as unknown as RemoteRecord; // NOT NULL
    assert.throws(() => cache.entries.putMany([command("b"), refused, command("c")], 2));
    assert.equal(cache.entries.get({ type: "command", id: "b" }), undefined);
    assert.equal(cache.entries.count(), 1);
    assert.deepEqual({ cursor: cache.meta.get(LAST_CURSOR_KEY), bytes: cache.entries.liveBytes() }, before);
    cache.close();
  });
});
