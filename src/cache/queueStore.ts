// The offline queue: one row per entry whose latest change the relay has not confirmed.
import type { EntryKey, QueueItem, QueueStats, QueueStatus, QueueStore } from "../sync/localCache.js";
import type { EntryType } from "../protocol.js";
import type { Db, GuardWrite } from "./db.js";

interface Row {
  seq: number;
  type: EntryType;
  id: string;
  cursor: number;
  enqueued_at: number;
  attempts: number;
  last_error: string | null;
  status: QueueStatus;
}

export class SqliteQueueStore implements QueueStore {
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly write: GuardWrite,
  ) {
    this.stmts = {
      // A change to an entry already queued keeps the row's place, age and status.
      enqueue: db.prepare<[string, string, number, number]>(
        `INSERT INTO queue (type, id, cursor, enqueued_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (type, id) DO UPDATE SET cursor = excluded.cursor`,
      ),
      next: db.prepare<[number, number], Row>("SELECT * FROM queue WHERE seq > ? ORDER BY seq LIMIT ?"),
      confirm: db.prepare<[string, string, number]>(
        "DELETE FROM queue WHERE type = ? AND id = ? AND cursor = ?",
      ),
      failure: db.prepare<[string, number]>(
        "UPDATE queue SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
      ),
      has: db.prepare<[string, string], { one: number }>(
        "SELECT 1 AS one FROM queue WHERE type = ? AND id = ?",
      ),
      expire: db.prepare<[number]>(
        "UPDATE queue SET status = 'failed' WHERE status = 'pending' AND enqueued_at < ?",
      ),
      stats: db.prepare<[], { pending: number | null; failed: number | null; oldest: number | null }>(
        `SELECT sum(status = 'pending') AS pending, sum(status = 'failed') AS failed,
           min(enqueued_at) AS oldest FROM queue`,
      ),
      size: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM queue"),
    };
  }

  enqueue(key: EntryKey, cursor: number, now: number): void {
    this.write(() => this.stmts.enqueue.run(key.type, key.id, cursor, now));
  }

  enqueueMany(items: readonly (EntryKey & { cursor: number })[], now: number): void {
    if (items.length === 0) return;
    this.write(() =>
      this.db.transaction(() => {
        for (const item of items) this.stmts.enqueue.run(item.type, item.id, item.cursor, now);
      })(),
    );
  }

  next(limit: number, afterSeq: number): QueueItem[] {
    return this.stmts.next.all(afterSeq, limit).map(toItem);
  }

  confirm(items: readonly (EntryKey & { cursor: number })[]): number {
    return this.write(() => {
      let n = 0;
      for (const item of items) n += this.stmts.confirm.run(item.type, item.id, item.cursor).changes;
      return n;
    });
  }

  recordFailure(seqs: readonly number[], error: string): void {
    this.write(() =>
      this.db.transaction(() => {
        for (const seq of seqs) this.stmts.failure.run(error, seq);
      })(),
    );
  }

  has(key: EntryKey): boolean {
    return this.stmts.has.get(key.type, key.id) !== undefined;
  }

  expire(before: number): number {
    return this.write(() => this.stmts.expire.run(before).changes);
  }

  stats(): QueueStats {
    const row = this.stmts.stats.get();
    return { pending: row?.pending ?? 0, failed: row?.failed ?? 0, oldestEnqueuedAt: row?.oldest ?? null };
  }

  size(): number {
    return this.stmts.size.get()?.n ?? 0;
  }
}

function toItem(row: Row): QueueItem {
  return {
    seq: row.seq,
    type: row.type,
    id: row.id,
    cursor: row.cursor,
    enqueuedAt: row.enqueued_at,
    attempts: row.attempts,
    lastError: row.last_error,
    status: row.status,
  };
}
