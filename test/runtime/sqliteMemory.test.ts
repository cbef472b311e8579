// The daemon's SQLite connections keep a bounded page cache (runtime/sqliteMemory.ts), where
// better-sqlite3's build default would let each hold 16 MiB for the daemon's life.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openDatabase } from "../../src/cache/db.js";
import { openJazzStorage } from "../../src/jazz/sqliteDriver.js";
import { DAEMON_PAGE_CACHE_KIB } from "../../src/runtime/sqliteMemory.js";
import { tempDir } from "../helpers/tmp.js";

/** `PRAGMA cache_size` as SQLite reports it: negative means KiB. */
const BOUNDED = -DAEMON_PAGE_CACHE_KIB;

describe("the daemon's SQLite page caches", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir("cs-pc-")));
  after(() => dir.cleanup());

  it("bounds the cache database's connection", () => {
    const db = openDatabase(join(dir.path, "sync.db"));
    try {
      assert.equal(db.pragma("cache_size", { simple: true }), BOUNDED);
    } finally {
      db.close();
    }
  });

  it("bounds Jazz's storage when asked, and leaves the build's default otherwise (the relay)", () => {
    const cacheSize = (opts: { pageCacheKiB?: number }, name: string) => {
      const { driver } = openJazzStorage(join(dir.path, name), opts);
      try {
        return driver.get<{ cache_size: number }>("PRAGMA cache_size", [])?.cache_size;
      } finally {
        driver.closeDb();
      }
    };
    assert.equal(cacheSize({ pageCacheKiB: DAEMON_PAGE_CACHE_KIB }, "daemon.jazz.db"), BOUNDED);
    const relayDefault = cacheSize({}, "relay.db");
    assert.ok(
      relayDefault !== undefined && relayDefault < BOUNDED,
      `the relay's cache_size is ${relayDefault}`,
    );
  });
});
