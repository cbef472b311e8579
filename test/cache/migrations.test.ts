import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { openDatabase } from "../../src/cache/db.js";
import { CacheSchemaError, SCHEMA_VERSION } from "../../src/cache/migrations.js";
import { SqliteCache } from "../../src/cache/sqliteCache.js";
import { tempDir } from "../helpers/tmp.js";

// The schema as version 1 shipped it, verbatim: a fixture, so later edits to migrations.ts cannot
// silently change what "an old cache file" means.
const V1_DDL = `
  CREATE TABLE entries (
    type TEXT NOT NULL CHECK (type IN ('command', 'preference', 'device')),
    id TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (type, id)
  );
  CREATE UNIQUE INDEX entries_by_cursor ON entries (cursor);
  CREATE TABLE queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    UNIQUE (type, id)
  );
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  PRAGMA user_version = 1;
`;

const commandJson = (id: string, payload: string) =>
  JSON.stringify({
    type: "command",
    id,
    deviceId: "dev-a",
    encryptedPayload: payload,
    safetyLevel: "safe",
    executed: false,
    createdAt: 1_600_000_000_000,
  });

describe("cache migrations", () => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  after(async () => Promise.all(dirs.map((d) => d.cleanup())));
  const dir = async () => {
    const d = await tempDir("csc-");
    dirs.push(d);
    return d.path;
  };

  it("migrates a version-1 cache file to the current schema with its data intact", async () => {
    const path = join(await dir(), "sync.db");
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    old.exec(V1_DDL);
    old.prepare("INSERT INTO entries VALUES ('command', 'c1', 1000, ?)").run(commandJson("c1", "AQID"));
    old.prepare("INSERT INTO entries VALUES ('command', 'c2', 1001, ?)").run(commandJson("c2", "AQIDBA=="));
    old.prepare("INSERT INTO queue (type, id, cursor, enqueued_at) VALUES ('command', 'c2', 1001, 5)").run();
    old.prepare("INSERT INTO meta VALUES ('cursor.last', '1001')").run();
    old.close();

    const cache = SqliteCache.open(path);
    try {
      assert.equal(cache.entries.count(), 2);
      const c1 = cache.entries.get({ type: "command", id: "c1" });
      assert.equal(c1?.cursor, 1000);
      assert.equal(c1?.evicted, false);
      assert.deepEqual(c1?.record, JSON.parse(commandJson("c1", "AQID")));
      const [item] = cache.queue.next(10, 0);
      assert.deepEqual(
        {
          id: item?.id,
          cursor: item?.cursor,
          status: item?.status,
          attempts: item?.attempts,
          lastError: item?.lastError,
        },
        { id: "c2", cursor: 1001, status: "pending", attempts: 0, lastError: null },
      );
      // The backfilled sizes feed cacheMaxSize accounting.
      assert.equal(
        cache.entries.liveBytes(),
        Buffer.byteLength(commandJson("c1", "AQID")) + Buffer.byteLength(commandJson("c2", "AQIDBA==")),
      );
      // The cursor continues from the stored high-water mark.
      assert.equal(cache.entries.put(JSON.parse(commandJson("c3", "AQ==")) as never, 500), 1002);
    } finally {
      cache.close();
    }
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    check.close();
  });

  it("rolls a failing migration back and leaves the file at its old version", async () => {
    const path = join(await dir(), "sync.db");
    const old = new Database(path);
    old.exec(V1_DDL);
    // A column the v2 migration is about to add makes it fail half-way.
    old.exec("ALTER TABLE queue ADD COLUMN status TEXT");
    old.close();
    assert.throws(() => SqliteCache.open(path), /duplicate column/);
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma("user_version", { simple: true }), 1);
    const columns = (check.pragma("table_info(entries)") as { name: string }[]).map((c) => c.name);
    assert.ok(!columns.includes("size"), "the v2 changes were rolled back");
    check.close();
  });

  it("refuses a cache file from a newer schema", async () => {
    const path = join(await dir(), "sync.db");
    const newer = new Database(path);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    assert.throws(() => openDatabase(path), CacheSchemaError);
  });

  it("creates the file 0600 in a 0700 directory, in WAL mode with synchronous=FULL", async () => {
    const path = join(await dir(), "new", "sync.db");
    const db = openDatabase(path);
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("synchronous", { simple: true }), 2); // FULL
      assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    } finally {
      db.close();
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, "..")).mode & 0o777, 0o700);
  });
});
