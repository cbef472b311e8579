// QueueUploader replays the offline queue to the relay: in queue order, in batches, each batch written to the
// RemoteSession and confirmed only after waitForUpload resolves. Confirmation deletes a row only
// if no local change moved it since it was read (its cursor still matches), so a change made
// during an upload is uploaded too. Replays are idempotent: records are whole, keyed by id.
import type { EntryKey, LocalCache, QueueItem } from "./localCache.js";
import type { RemoteRecord, RemoteSession } from "./remote.js";
import { StorageFaultError } from "./storageFault.js";

/** Queue rows read per step; the Jazz writer splits them into transactions under 1 MiB. */
const BATCH = 1000;
/**
 * Batches written before one wait for the relay's confirmation. Waiting after every batch makes
 * the upload a chain of round trips (plus the relay's fsync each); a window keeps the pipe full
 * while bounding what a failure sends back to the queue.
 */
const WINDOW = 20;

/** What one upload run achieved. */
export interface UploadResult {
  confirmed: number;
  /** Set when a write or upload failed; the rows stay queued with attempts + 1 and the error. */
  error: Error | null;
}

export class QueueUploader {
  private running: Promise<UploadResult> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly deps: {
      cache: LocalCache;
      uploadTimeoutMs: number;
      /** After each batch the relay confirmed. */
      onConfirmed: (count: number) => void;
    },
  ) {}

  /** Single flight: a call during a run makes that run go round once more, and shares its result. */
  upload(session: RemoteSession): Promise<UploadResult> {
    this.again = true;
    this.running ??= this.run(session);
    return this.running;
  }

  /** After stop() no batch is written or confirmed (shutdown, reset). */
  stop(): void {
    this.stopped = true;
  }

  private async run(session: RemoteSession): Promise<UploadResult> {
    // Yield first, so `running` is set before this body can finish.
    await Promise.resolve();
    const { cache } = this.deps;
    let confirmed = 0;
    try {
      while (this.again && !this.stopped) {
        this.again = false;
        let afterSeq = 0;
        for (;;) {
          const window = this.readWindow(afterSeq);
          const last = window.items[window.items.length - 1];
          if (!last || this.stopped) break;
          afterSeq = last.seq;
          try {
            for (const records of window.batches) await session.write(records);
            if (window.batches.length > 0) await session.waitForUpload(this.deps.uploadTimeoutMs);
          } catch (err) {
            const error = asError(err);
            if (!this.stopped) this.recordFailure(window.items, error);
            return { confirmed, error };
          }
          if (this.stopped) break;
          let n: number;
          try {
            n = cache.transaction(() => cache.queue.confirm(window.versions));
          } catch (err) {
            // The relay has them, the cache cannot say so (a full disk): they stay queued and are
            // uploaded again later, harmlessly (records are whole and keyed by id).
            if (!(err instanceof StorageFaultError)) throw err;
            return { confirmed, error: err };
          }
          confirmed += n;
          if (n > 0) this.deps.onConfirmed(n);
        }
      }
      return { confirmed, error: null };
    } finally {
      // Cleared in the same tick as the last look at `again`: a later upload() starts a new run.
      this.running = null;
    }
  }

  /** Counts the failed attempt on the rows; a cache that cannot be written just keeps them as they are. */
  private recordFailure(items: readonly QueueItem[], error: Error): void {
    try {
      this.deps.cache.queue.recordFailure(
        items.map((i) => i.seq),
        error.message,
      );
    } catch (err) {
      // The upload's own error is the one reported; the cache remembers its fault for health.
      if (!(err instanceof StorageFaultError)) throw err;
    }
  }

  /** Up to WINDOW batches of queue rows after `afterSeq`, with the records and versions to confirm. */
  private readWindow(afterSeq: number): {
    items: QueueItem[];
    batches: RemoteRecord[][];
    versions: (EntryKey & { cursor: number })[];
  } {
    const { cache } = this.deps;
    const items: QueueItem[] = [];
    const batches: RemoteRecord[][] = [];
    const versions: (EntryKey & { cursor: number })[] = [];
    for (let i = 0; i < WINDOW; i++) {
      const rows = cache.queue.next(BATCH, items.at(-1)?.seq ?? afterSeq);
      if (rows.length === 0) break;
      const records: RemoteRecord[] = [];
      const entries = cache.entries.getMany(rows);
      for (const [j, item] of rows.entries()) {
        const entry = entries[j];
        // The row is confirmed by its own cursor as read now: a local change during the upload moves
        // it (the row stays for the next pass), a record from the relay does not (the entry's current
        // record, written here, holds the queued change merged in). A row without its entry cannot
        // be uploaded; confirming it drops it.
        versions.push({ type: item.type, id: item.id, cursor: item.cursor });
        if (entry) records.push(entry.record);
      }
      items.push(...rows);
      if (records.length > 0) batches.push(records);
      if (rows.length < BATCH) break;
    }
    return { items, batches, versions };
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
