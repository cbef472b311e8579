// sync.pull (SPEC §4): pages of the local cache by arrival cursor. Never touches the network.
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
 * of the last entry returned, or `since` when none: passing it back returns every entry exactly
 * once, and an entry changed later comes again under its new cursor.
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
    nextCursor: last ? last.cursor : (params.since ?? null),
    syncTimestamp: now,
  };
}
