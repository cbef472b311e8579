// Records the relay delivered (any device's, this one's from earlier sessions) into the cache:
// validated first, merged with the same rules as local pushes (apply.ts), never queued back.
// Whatever another client wrote into the account must not poison the cache or stop the daemon, and
// a full disk must not lose what arrived meanwhile.
import type { Logger } from "../log/logger.js";
import { applyChanges } from "./apply.js";
import type { LocalCache } from "./localCache.js";
import { remoteRecordSchema } from "./records.js";
import type { RemoteRecord } from "./remote.js";
import { StorageFaultError } from "./storageFault.js";

/** Most records held back while the cache cannot be written; older ones wait for the next replay. */
export const MAX_HELD_RECORDS = 50_000;

/**
 * Merges relay records into the cache (mergeRelayRecords). A batch the disk refuses (a full disk:
 * StorageFaultError) is held in memory and merged before the next batch, or by retry() after a
 * local write succeeded, so the records arrive without a restart once there is room again.
 */
export class RelayRecordMerger {
  private held: RemoteRecord[] = [];

  constructor(private readonly deps: { cache: LocalCache; now: () => number; logger: Logger }) {}

  merge(records: readonly RemoteRecord[]): { changed: number; lastCursor: number | null } {
    const batch = this.held.length > 0 ? [...this.held, ...records] : records;
    const result = mergeRelayRecords(this.deps.cache, batch, {
      now: this.deps.now(),
      logger: this.deps.logger,
    });
    if (result.refused) this.hold(batch);
    else this.held = [];
    return result;
  }

  /** Merges what is held, if anything (after a write succeeded). */
  retry(): { changed: number; lastCursor: number | null } {
    return this.held.length > 0 ? this.merge([]) : { changed: 0, lastCursor: null };
  }

  private hold(batch: readonly RemoteRecord[]): void {
    const dropped = Math.max(0, batch.length - MAX_HELD_RECORDS);
    this.held = batch.slice(dropped);
    if (dropped > 0)
      this.deps.logger.warn(
        { dropped },
        "records from the relay dropped until the next start: the cache is full",
      );
  }
}

/**
 * Merges `records` into the cache in one transaction. Malformed records are logged and skipped; a
 * failing batch is logged and changes nothing (it comes again on the next replay); `refused`: the
 * disk refused it (StorageFaultError). Returns how many entries changed and the newest cursor.
 */
export function mergeRelayRecords(
  cache: LocalCache,
  records: readonly RemoteRecord[],
  opts: { now: number; logger: Logger },
): { changed: number; lastCursor: number | null; refused: boolean } {
  const valid = records.filter((record) => {
    const ok = remoteRecordSchema.safeParse(record).success;
    if (!ok)
      opts.logger.warn({ type: (record as { type?: unknown } | null)?.type }, "skipped a malformed record");
    return ok;
  });
  try {
    const result = applyChanges(
      cache,
      valid.map((record) => ({ label: "remote", record })),
      { now: opts.now, enqueue: false, logger: opts.logger },
    );
    return { changed: result.changed, lastCursor: result.lastCursor, refused: false };
  } catch (err) {
    const refused = err instanceof StorageFaultError;
    if (refused)
      opts.logger.warn(
        { err, count: valid.length },
        "records from the relay held: the cache cannot be written",
      );
    else opts.logger.error({ err, count: records.length }, "could not merge records from the relay");
    return { changed: 0, lastCursor: null, refused };
  }
}
