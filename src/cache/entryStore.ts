// Entries (commands, preferences, device records) keyed by (type, id), stored as the JSON of their
// RemoteRecord, each with its local arrival cursor.
import type { EntryType } from "../protocol.js";
import type { EntryKey, EntryStore, MetaStore, StoredEntry } from "../sync/localCache.js";
import { keyString, recordKey } from "../sync/records.js";
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

interface SizeRow {
  type: EntryType;
  id: string;
  size: number;
  evicted: number;
}

const COLUMNS = "type, id, cursor, record, evicted";

export class SqliteEntryStore implements EntryStore {
  private lastCursor: number;
  /** Bytes of the records of non-evicted entries (kept in memory, recounted after a rollback). */
  private live = 0;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly meta: MetaStore,
    private readonly write: GuardWrite,
  ) {
    this.stmts = {
      get: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM entries WHERE type = ? AND id = ?`),
      // Many keys of one type in one statement: the ids as a JSON array.
      getMany: db.prepare<[string, string], Row>(
        `SELECT ${COLUMNS} FROM entries WHERE type = ? AND id IN (SELECT value FROM json_each(?))`,
      ),
      size: db.prepare<[string, string], SizeRow>(
        "SELECT type, id, size, evicted FROM entries WHERE type = ? AND id = ?",
      ),
      sizeMany: db.prepare<[string, string], SizeRow>(
        "SELECT type, id, size, evicted FROM entries WHERE type = ? AND id IN (SELECT value FROM json_each(?))",
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

  getMany(keys: readonly EntryKey[]): (StoredEntry | undefined)[] {
    if (keys.length === 1) return [this.get(keys[0]!)];
    const found = new Map<string, StoredEntry>();
    for (const [type, ids] of idsByType(keys))
      for (const row of this.stmts.getMany.all(type, JSON.stringify(ids)))
        found.set(keyString(row), toEntry(row));
    return keys.map((key) => found.get(keyString(key)));
  }

  put(record: RemoteRecord, now: number): number {
    return this.putMany([record], now)[0]!;
  }

  putMany(records: readonly RemoteRecord[], now: number): number[] {
    if (records.length === 0) return [];
    const rows = records.map((record) => {
      const key = recordKey(record);
      const json = JSON.stringify(record);
      return { key, json, size: Buffer.byteLength(json) };
    });
    // Bytes each key counts for now: its live row's, then (a key written twice) its last write's.
    const counted = this.liveSizes(rows.map((r) => r.key));
    let delta = 0;
    let cursor = this.lastCursor;
    const cursors = this.write(() =>
      this.db.transaction(() => {
        const assigned = rows.map(({ key, json, size }) => {
          cursor = Math.max(now, cursor + 1);
          this.stmts.upsert.run(key.type, key.id, cursor, json, size);
          const k = keyString(key);
          delta += size - (counted.get(k) ?? 0);
          counted.set(k, size);
          return cursor;
        });
        // The high-water mark once per call (a whole batch), not once per entry.
        this.meta.set(LAST_CURSOR_KEY, String(cursor));
        return assigned;
      })(),
    );
    // Ahead of the stored value if an enclosing transaction rolls back: harmless, cursors only skip.
    this.lastCursor = cursor;
    this.live += delta;
    return cursors;
  }

  /** The record bytes each key's live (non-evicted) row counts for; absent keys are left out. */
  private liveSizes(keys: readonly EntryKey[]): Map<string, number> {
    const rows =
      keys.length === 1
        ? [this.stmts.size.get(keys[0]!.type, keys[0]!.id)]
        : [...idsByType(keys)].flatMap(([type, ids]) => this.stmts.sizeMany.all(type, JSON.stringify(ids)));
    const sizes = new Map<string, number>();
    for (const row of rows) if (row && !row.evicted) sizes.set(keyString(row), row.size);
    return sizes;
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

/** The keys' ids grouped by type, for the statements that take the ids of one type as a JSON array. */
function idsByType(keys: readonly EntryKey[]): Map<EntryType, string[]> {
  const byType = new Map<EntryType, string[]>();
  for (const { type, id } of keys) {
    const ids = byType.get(type);
    if (ids) ids.push(id);
    else byType.set(type, [id]);
  }
  return byType;
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
