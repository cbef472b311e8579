// Issue 9, item 4: a damaged cache is refused at open (CacheCorruptError, the daemon exits 65 with
// the file and the way out), and what `caro-sync repair` salvages of one is exactly what SQLite
// can still read of the queued entries. Real SQLite files with real pages overwritten; a real
// daemon process on a real relay.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { CacheCorruptError, EX_DATAERR, openDatabase } from "../../src/cache/db.js";
import { salvageQueued } from "../../src/cache/salvage.js";
import { SqliteCache } from "../../src/cache/sqliteCache.js";
import { cacheWithQueue, entryLeaves, overwritePages, type QueuedCache } from "../helpers/corrupt.js";
import { spawnDaemon } from "../helpers/daemon.js";
import { tempDir } from "../helpers/tmp.js";

/** A cache file of `total` commands, the last `queued` of them queued, closed cleanly. */
function writeCache(path: string, total: number, queued: number): string[] {
  const cache = SqliteCache.open(path);
  const ids: string[] = [];
  try {
    cache.transaction(() => {
      for (let i = 0; i < total; i++) {
        const id = randomUUID();
        const now = Date.now() + i;
        const record = {
          type: "command" as const,
          id,
          deviceId: "device-1",
          encryptedPayload: Buffer.concat([Buffer.from([1]), randomBytes(63)]).toString("base64"),
          safetyLevel: "safe",
          executed: false,
          createdAt: now,
        };
        const cursor = cache.entries.put(record, now);
        if (i >= total - queued) cache.queue.enqueue({ type: "command", id }, cursor, now);
        ids.push(id);
      }
    });
  } finally {
    cache.close();
  }
  return ids;
}

function pagesOf(path: string, name: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[string], number>(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
      )
      .pluck()
      .all(name);
  } finally {
    db.close();
  }
}

describe("a damaged cache file", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let sound: string;
  let ids: string[];
  const TOTAL = 2_000;
  const QUEUED = 200;

  before(async () => {
    dir = await tempDir("ccd-");
    sound = join(dir.path, "sound.db");
    ids = writeCache(sound, TOTAL, QUEUED);
  });
  after(() => dir.cleanup());

  const damagedCopy = (name: string, pages: number[]): string => {
    const path = join(dir.path, `${name}.db`);
    copyFileSync(sound, path);
    overwritePages(path, pages);
    return path;
  };

  it("opens when sound, and is refused at open with the file named when a page is garbage", () => {
    openDatabase(sound).close();
    const path = damagedCopy("mid", [entryLeaves(sound)[5]!.pageno]);
    assert.throws(
      () => openDatabase(path),
      (err: unknown) =>
        err instanceof CacheCorruptError &&
        err.path === path &&
        err.message.includes(path) &&
        err.message.includes("caro-sync repair"),
    );
  });

  it("is refused when the header is garbage (SQLITE_NOTADB)", () => {
    const path = damagedCopy("header", [1]);
    assert.throws(
      () => openDatabase(path),
      (err: unknown) => err instanceof CacheCorruptError && /not a database/.test(err.message),
    );
  });

  it("is refused when only an index page is damaged", () => {
    const path = damagedCopy("index", [pagesOf(sound, "entries_by_cursor")[1]!]);
    assert.throws(() => openDatabase(path), CacheCorruptError);
  });

  it("after an unclean shutdown (a WAL with frames) is checked in full, and a sound one opens", () => {
    const path = join(dir.path, "unclean.db");
    const cache = SqliteCache.open(path);
    cache.transaction(() => cache.meta.set("k", "v"));
    // As kill -9 leaves them: the database and a WAL holding the last commit.
    copyFileSync(path, `${path}.copy`);
    copyFileSync(`${path}-wal`, `${path}.copy-wal`);
    cache.close();
    assert.ok(statSync(`${path}.copy-wal`).size > 0);
    const db = openDatabase(`${path}.copy`);
    assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'k'").pluck().get(), "v");
    db.close();
  });

  it("salvages every queued entry when the damage is elsewhere", () => {
    const path = damagedCopy("elsewhere", [
      entryLeaves(sound)[3]!.pageno,
      pagesOf(sound, "entries_by_cursor")[0]!,
    ]);
    const salvage = salvageQueued(path);
    assert.deepEqual(
      salvage.records.map((r) => (r.type === "command" ? r.id : "")).sort(),
      ids.slice(TOTAL - QUEUED).sort(),
    );
    assert.equal(salvage.unreadable.length, 0);
    assert.equal(salvage.lostQueueRows, 0);
    assert.equal(salvage.queueIncomplete, false);
    assert.ok(salvage.cursorHighWater !== null);
  });

  it("counts the queued entries on a damaged page as unreadable, by id, and salvages the rest", () => {
    const last = entryLeaves(sound).at(-1)!;
    const salvage = salvageQueued(damagedCopy("queued", [last.pageno]));
    assert.deepEqual(salvage.unreadable.map((u) => u.id).sort(), [...last.ids].sort());
    assert.equal(salvage.records.length, QUEUED - last.ids.length);
    assert.ok(salvage.records.every((r) => r.type === "command" && !last.ids.includes(r.id)));
  });

  it("counts queue rows lost with their index page, through the other index", () => {
    const queueLeaf = pagesOf(sound, "queue")[0]!;
    const keyLeaf = pagesOf(sound, "sqlite_autoindex_queue_1")[0]!;
    const salvage = salvageQueued(damagedCopy("queue", [queueLeaf, keyLeaf]));
    assert.ok(salvage.lostQueueRows > 0);
    assert.equal(salvage.records.length + salvage.lostQueueRows, QUEUED);
    assert.equal(salvage.queueIncomplete, false);
  });

  it("salvages nothing, and says the queue is unknown, from a file SQLite cannot read", () => {
    const salvage = salvageQueued(damagedCopy("unreadable", [1]));
    assert.equal(salvage.records.length, 0);
    assert.equal(salvage.queueIncomplete, true);
    assert.ok(salvage.errors.length > 0);
  });
});

describe("the daemon on a damaged cache", () => {
  let scenario: QueuedCache;

  before(async () => {
    scenario = await cacheWithQueue({ uploaded: 200, queued: 30 });
  });
  after(() => scenario.cleanup());

  it(`refuses to start, exit ${EX_DATAERR}, naming the file and \`caro-sync repair\``, async () => {
    overwritePages(scenario.cachePath, [entryLeaves(scenario.cachePath)[2]!.pageno]);
    const daemon = await spawnDaemon({ home: scenario.home, env: scenario.env, waitReady: false });
    try {
      assert.equal(await daemon.exited, EX_DATAERR, daemon.stderr());
      assert.match(daemon.stderr(), /caro-sync repair/);
      assert.ok(daemon.stderr().includes(`cache ${scenario.cachePath} is damaged`), daemon.stderr());
      assert.ok(!existsSync(daemon.socketPath), "no socket left behind");
    } finally {
      await daemon.cleanup();
    }
  });
});
