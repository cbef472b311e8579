// Entries (commands, preferences, device records) keyed by (type, id), stored as the JSON of their
// RemoteRecord, each with its local arrival cursor.
import type { EntryType } from "../protocol.js";
import type { EntryKey, EntryStore, MetaStore, StoredEntry } from "../sync/localCache.js";
import { recordKey } from "../sync/records.js";
import type { RemoteRecord } from "../sync/remote.js";
import type { Db, GuardWrite } from "./db.js";

/** Meta key of the highest cursor ever assigned; kept across a reset so cursors never go back. */
export const LAST_CURSOR_KEY = "cursor.last";

interface Row {
  type: EntryType;
  id: string;
  cursor: number;
  record: string;
  evicted: number;
}

const COLUMNS = "type, id, cursor, record, evicted";

export class SqliteEntryStore implements EntryStore {
  private lastCursor: number;
  /** Bytes of the records of non-evicted entries (kept in memory, recounted after a rollback). */
  private live = 0;
  private readonly stmts;

  constructor(
    db: Db,
    private readonly meta: MetaStore,
    private readonly write: GuardWrite,
  ) {
    this.stmts = {
      get: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM entries WHERE type = ? AND id = ?`),
      size: db.prepare<[string, string], { size: number; evicted: number }>(
        "SELECT size, evicted FROM entries WHERE type = ? AND id = ?",
      ),
      upsert: db.prepare<[string, string, number, string, number]>(
        `INSERT INTO entries (type, id, cursor, record, size, evicted) VALUES (?, ?, ?, ?, ?, 0)
         ON CONFLICT (type, id) DO UPDATE SET cursor = excluded.cursor, record = excluded.record,
           size = excluded.size, evicted = 0`,
      ),
      page: db.prepare<[number, string, number], Row>(
        `SELECT ${COLUMNS} FROM entries
         WHERE cursor > ? AND evicted = 0 AND type IN (SELECT value FROM json_each(?))
         ORDER BY cursor LIMIT ?`,
      ),
      all: db.prepare<[string], Row>(
        `SELECT ${COLUMNS} FROM entries WHERE type = ? AND evicted = 0 ORDER BY cursor`,
      ),
      allCommands: db.prepare<[], Row>(`SELECT ${COLUMNS} FROM entries WHERE type = 'command'`),
      countAfter: db.prepare<[number], { n: number }>(
        "SELECT count(*) AS n FROM entries WHERE cursor > ? AND evicted = 0",
      ),
      count: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM entries WHERE evicted = 0"),
      liveBytes: db.prepare<[], { n: number | null }>("SELECT sum(size) AS n FROM entries WHERE evicted = 0"),
      maxCursor: db.prepare<[], { n: number | null }>("SELECT max(cursor) AS n FROM entries"),
    };
    const stored = Number(meta.get(LAST_CURSOR_KEY) ?? 0);
    this.lastCursor = Math.max(Number.isFinite(stored) ? stored : 0, this.stmts.maxCursor.get()?.n ?? 0);
    this.recount();
  }

  get(key: EntryKey): StoredEntry | undefined {
    const row = this.stmts.get.get(key.type, key.id);
    return row && toEntry(row);
  }

  put(record: RemoteRecord, now: number): number {
    const { type, id } = recordKey(record);
    const json = JSON.stringify(record);
    const size = Buffer.byteLength(json);
    const old = this.stmts.size.get(type, id);
    const cursor = Math.max(now, this.lastCursor + 1);
    this.write(() => this.stmts.upsert.run(type, id, cursor, json, size));
    this.meta.set(LAST_CURSOR_KEY, String(cursor));
    // Ahead of the stored value if the transaction rolls back: harmless, cursors only skip.
    this.lastCursor = cursor;
    this.live += size - (old && !old.evicted ? old.size : 0);
    return cursor;
  }

  page(opts: { since: number; limit: number; types: readonly EntryType[] }): StoredEntry[] {
    return this.stmts.page.all(opts.since, JSON.stringify(opts.types), opts.limit).map(toEntry);
  }

  all(type: EntryType): StoredEntry[] {
    return this.stmts.all.all(type).map(toEntry);
  }

  allCommands(): StoredEntry[] {
    return this.stmts.allCommands.all().map(toEntry);
  }

  countAfter(cursor: number): number {
    return this.stmts.countAfter.get(cursor)?.n ?? 0;
  }

  count(): number {
    return this.stmts.count.get()?.n ?? 0;
  }

  /** Bytes of the records of non-evicted entries. */
  liveBytes(): number {
    return this.live;
  }

  /** Called by the cache after eviction or a rollback, when the running total may be off. */
  recount(): void {
    this.live = this.stmts.liveBytes.get()?.n ?? 0;
  }
}

function toEntry(row: Row): StoredEntry {
  return {
    type: row.type,
    id: row.id,
    cursor: row.cursor,
    record: JSON.parse(row.record) as RemoteRecord,
    evicted: row.evicted === 1,
  };
}
