// Records the relay delivered (any device's, this one's from earlier sessions) into the cache:
// validated first, merged with the same rules as local pushes (apply.ts), never queued back.
// Whatever another client wrote into the account must not poison the cache or stop the daemon.
import type { Logger } from "../log/logger.js";
import { applyChanges } from "./apply.js";
import type { LocalCache } from "./localCache.js";
import { remoteRecordSchema } from "./records.js";
import type { RemoteRecord } from "./remote.js";

/**
 * Merges `records` into the cache in one transaction. Malformed records are logged and skipped; a
 * failing batch is logged and changes nothing (it comes again on the next replay). Returns how
 * many entries changed and the newest cursor among them.
 */
export function mergeRelayRecords(
  cache: LocalCache,
  records: readonly RemoteRecord[],
  opts: { now: number; logger: Logger },
): { changed: number; lastCursor: number | null } {
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
    return { changed: result.changed, lastCursor: result.lastCursor };
  } catch (err) {
    opts.logger.error({ err, count: records.length }, "could not merge records from the relay");
    return { changed: 0, lastCursor: null };
  }
}
