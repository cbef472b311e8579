// sync.pull (docs/protocol.md, "Cursors and paging"): pages of the local cache by arrival cursor.
// Never touches the network.
import { PULL_LIMIT_DEFAULT, type EntryType, type PullResult } from "../protocol.js";
import type { LocalCache } from "./localCache.js";
import { ALL_TYPES, toPulledEntry } from "./records.js";

export interface PullParams {
  since?: number | null;
  limit?: number;
  types?: EntryType[];
}

/**
 * Entries with cursor > since (null/absent: from the start), by cursor. `nextCursor` is the cursor
 * of the last entry returned, or `since` (0 when null/absent) when none, so it is always a number
 * a typed client can pass back: doing so returns every entry exactly once, and an entry changed
 * later comes again under its new cursor.
 */
export function pullPage(cache: LocalCache, params: PullParams, now: number): PullResult {
  const since = params.since ?? 0;
  const limit = params.limit ?? PULL_LIMIT_DEFAULT;
  const types = params.types && params.types.length > 0 ? params.types : ALL_TYPES;
  // One extra row tells whether more follow without a second query.
  const rows = cache.entries.page({ since, limit: limit + 1, types });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    entries: page.map((e) => toPulledEntry(e.record)),
    hasMore: rows.length > limit,
    nextCursor: last ? last.cursor : since,
    syncTimestamp: now,
  };
}
