// The LocalCache of sync/ on one SQLite file: entry, queue and meta stores sharing a connection.
// Every write goes through one WriteHealth (fs/writeHealth.ts), which remembers a storage fault
// until a later write succeeds: the truth daemon.health reports.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { WriteHealth } from "../fs/writeHealth.js";
import type { LocalCache } from "../sync/localCache.js";
import type { StorageFault } from "../sync/storageFault.js";
import { fileSizeBytes, openDatabase, type Db, type GuardWrite } from "./db.js";
import { lockCacheFile, type CacheLock } from "./lock.js";
import { LAST_CURSOR_KEY, SqliteEntryStore } from "./entryStore.js";
import { SqliteMetaStore } from "./metaStore.js";
import { SqliteQueueStore } from "./queueStore.js";

/** Stop evicting once live data is this fraction of the limit, so eviction runs in batches. */
const EVICT_TO = 0.9;
const EVICT_BATCH = 200;
const PROBE_KEY = "health.probe";

export class SqliteCache implements LocalCache {
  readonly entries: SqliteEntryStore;
  readonly queue: SqliteQueueStore;
  readonly meta: SqliteMetaStore;
  private readonly evictStmts;
  private readonly write: GuardWrite;

  private constructor(
    private readonly db: Db,
    readonly path: string,
    private readonly lock: CacheLock,
    private readonly health: WriteHealth,
  ) {
    this.write = (fn) => health.guard(fn);
    this.meta = new SqliteMetaStore(db, this.write);
    this.entries = new SqliteEntryStore(db, this.meta, this.write);
    this.queue = new SqliteQueueStore(db, this.write);
    this.evictStmts = {
      candidates: db.prepare<[number], { id: string; size: number }>(
        `SELECT e.id, e.size FROM entries e
         WHERE e.type = 'command' AND e.evicted = 0
           AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.type = e.type AND q.id = e.id)
         ORDER BY e.cursor LIMIT ?`,
      ),
      // The row keeps its metadata (and cursor) so a replayed remote record is known; only the
      // payload goes.
      evict: db.prepare<[string]>(
        `UPDATE entries SET record = json_set(record, '$.encryptedPayload', ''), evicted = 1,
           size = length(CAST(json_set(record, '$.encryptedPayload', '') AS BLOB))
         WHERE type = 'command' AND id = ?`,
      ),
    };
  }

  /**
   * Opens (creating and migrating as needed) the cache file at `path`, for this process alone:
   * throws CacheLockedError while another daemon has it open, StorageFaultError when the disk
   * refuses (full, read-only, I/O error).
   */
  static open(path: string): SqliteCache {
    let db: Db | null = null;
    // A write inside an open transaction counts with the transaction's outcome.
    const health = new WriteHealth({
      store: "cache",
      file: path,
      nested: () => db?.inTransaction ?? false,
    });
    let lock: CacheLock | null = null;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      lock = lockCacheFile(path);
      db = openDatabase(path);
      return new SqliteCache(db, path, lock, health);
    } catch (err) {
      lock?.release();
      throw health.failed(err);
    }
  }

  transaction<T>(fn: () => T): T {
    try {
      return this.write(() => this.db.transaction(fn).immediate());
    } catch (err) {
      this.entries.recount();
      throw err;
    }
  }

  enforceMaxSize(maxBytes: number): number {
    if (this.entries.liveBytes() <= maxBytes) return 0;
    const target = maxBytes * EVICT_TO;
    let evicted = 0;
    while (this.entries.liveBytes() > target) {
      const candidates = this.evictStmts.candidates.all(EVICT_BATCH);
      if (candidates.length === 0) break;
      let live = this.entries.liveBytes();
      this.transaction(() => {
        for (const { id, size } of candidates) {
          if (live <= target) break;
          this.evictStmts.evict.run(id);
          live -= size;
          evicted++;
        }
      });
      this.entries.recount();
    }
    return evicted;
  }

  sizeBytes(): number {
    return fileSizeBytes(this.path);
  }

  probeStorage(): StorageFault | null {
    return this.health.probe(() => this.meta.set(PROBE_KEY, String(Date.now())));
  }

  wipe(): void {
    this.transaction(() => {
      this.db.prepare("DELETE FROM entries").run();
      this.db.prepare("DELETE FROM queue").run();
      this.db.prepare("DELETE FROM meta WHERE key <> ?").run(LAST_CURSOR_KEY);
    });
    this.entries.recount();
    // Rewrite the file so the forgotten rows do not linger in free pages or the WAL.
    this.write(() => {
      this.db.exec("VACUUM");
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.lock.release();
  }
}
