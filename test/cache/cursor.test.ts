import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteCache } from "../../src/cache/sqliteCache.js";
import { commandRecord } from "../../src/sync/records.js";
import { tempDir } from "../helpers/tmp.js";

const record = (id: string) =>
  commandRecord({
    id,
    deviceId: "d",
    encryptedPayload: "AQ",
    safetyLevel: "safe",
    executed: false,
    createdAt: 1,
    success: undefined,
    executedAt: undefined,
    deletedAt: undefined,
  });

describe("arrival cursor", () => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  after(async () => Promise.all(dirs.map((d) => d.cleanup())));
  const open = async () => {
    const d = await tempDir("csc-");
    dirs.push(d);
    return join(d.path, "sync.db");
  };

  it("follows the clock in ms and stays strictly increasing within one millisecond", async () => {
    const cache = SqliteCache.open(await open());
    const t = 1_700_000_000_000;
    assert.equal(cache.entries.put(record("a"), t), t);
    assert.equal(cache.entries.put(record("b"), t), t + 1);
    assert.equal(cache.entries.put(record("c"), t), t + 2);
    assert.equal(cache.entries.put(record("d"), t + 100), t + 100);
    cache.close();
  });

  it("never goes backwards when the clock jumps back, also across a reopen and a wipe", async () => {
    const path = await open();
    let cache = SqliteCache.open(path);
    const t = 1_700_000_000_000;
    cache.entries.put(record("a"), t);
    assert.equal(cache.entries.put(record("b"), t - 3_600_000), t + 1);
    cache.close();
    cache = SqliteCache.open(path);
    assert.equal(cache.entries.put(record("c"), t - 86_400_000), t + 2);
    cache.wipe();
    assert.equal(cache.entries.put(record("d"), 5), t + 3);
    // A changed entry takes a new cursor; the old one is never reused.
    assert.equal(cache.entries.put(record("d"), 5), t + 4);
    assert.deepEqual(
      cache.entries.page({ since: 0, limit: 10, types: ["command"] }).map((e) => [e.id, e.cursor]),
      [["d", t + 4]],
    );
    cache.close();
  });
});
