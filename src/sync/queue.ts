// Replays the offline queue to the relay: in queue order, in batches, each batch written to the
// RemoteSession and confirmed only after waitForUpload resolves. Confirmation deletes a row only
// if the entry has not changed since it was written (its cursor still matches), so a change made
// during an upload is uploaded too. Replays are idempotent: records are whole, keyed by id.
import type { EntryKey, LocalCache } from "./localCache.js";
import type { RemoteSession } from "./remote.js";

const BATCH = 100;

export interface FlushResult {
  confirmed: number;
  /** Set when a write or upload failed; the rows stay queued with attempts + 1 and the error. */
  error: Error | null;
}

export class Uploader {
  private running: Promise<FlushResult> | null = null;
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
  flush(session: RemoteSession): Promise<FlushResult> {
    this.again = true;
    this.running ??= this.run(session);
    return this.running;
  }

  /** After stop() no batch is written or confirmed (shutdown, reset). */
  stop(): void {
    this.stopped = true;
  }

  private async run(session: RemoteSession): Promise<FlushResult> {
    // Yield first, so `running` is set before this body can finish.
    await Promise.resolve();
    const { cache } = this.deps;
    let confirmed = 0;
    try {
      while (this.again && !this.stopped) {
        this.again = false;
        let afterSeq = 0;
        for (;;) {
          const items = cache.queue.next(BATCH, afterSeq);
          const last = items[items.length - 1];
          if (!last || this.stopped) break;
          afterSeq = last.seq;
          const versions: (EntryKey & { cursor: number })[] = [];
          const records = [];
          for (const item of items) {
            const entry = cache.entries.get(item);
            // A row without its entry cannot be uploaded; confirming it drops it.
            versions.push(entry ? { type: item.type, id: item.id, cursor: entry.cursor } : item);
            if (entry) records.push(entry.record);
          }
          try {
            if (records.length > 0) {
              await session.write(records);
              await session.waitForUpload(this.deps.uploadTimeoutMs);
            }
          } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            if (!this.stopped)
              cache.queue.recordFailure(
                items.map((i) => i.seq),
                error.message,
              );
            return { confirmed, error };
          }
          if (this.stopped) break;
          const n = cache.transaction(() => cache.queue.confirm(versions));
          confirmed += n;
          if (n > 0) this.deps.onConfirmed(n);
        }
      }
      return { confirmed, error: null };
    } finally {
      // Cleared in the same tick as the last look at `again`: a later flush() starts a new run.
      this.running = null;
    }
  }
}
