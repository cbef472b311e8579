// The push baseline: the same rows the cache writes for pushed entries (an `entries` row with the
// record's JSON and a `queue` row each), inserted with better-sqlite3 directly, one transaction per
// batch of 1,000, into a file opened as the cache opens its own (cache/db.ts: the same schema, WAL,
// synchronous=FULL, so each commit is as durable as a push acknowledged locally). The rows are built
// before the clock starts: this is the floor of the SQLite work alone.
import { openDatabase } from "../../src/cache/db.js";
import { chunks, feedItem, PUSH_BATCH, since, type PushEntry } from "../support.js";

/** Milliseconds to insert the entries' rows into a new database at `path`. */
export function rawInsertMs(entries: readonly PushEntry[], path: string): number {
  const db = openDatabase(path);
  try {
    const insertEntry = db.prepare<[string, number, string, number]>(
      "INSERT INTO entries (type, id, cursor, record, size, evicted) VALUES ('command', ?, ?, ?, ?, 0)",
    );
    const insertQueue = db.prepare<[string, number, number]>(
      "INSERT INTO queue (type, id, cursor, enqueued_at) VALUES ('command', ?, ?, ?)",
    );
    const now = Date.now();
    const rows = entries.map((entry, i) => {
      const record = JSON.stringify({ type: "command", ...feedItem(entry) });
      return { id: entry.id, cursor: now + i, record, size: Buffer.byteLength(record) };
    });
    const insertBatch = db.transaction((batch: typeof rows) => {
      for (const r of batch) {
        insertEntry.run(r.id, r.cursor, r.record, r.size);
        insertQueue.run(r.id, r.cursor, now);
      }
    });
    const t = performance.now();
    for (const batch of chunks(rows, PUSH_BATCH)) insertBatch.immediate(batch);
    return since(t);
  } finally {
    db.close();
  }
}
