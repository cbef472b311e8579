// One account, one root, even when two devices created it.
//
// Because the account ID follows from the authKey, two devices can each create "the" account (one
// offline, or both at once). Jazz merges the two creations into one account whose `root` key is
// last-writer-wins, so the later root would silently replace the earlier one (docs/jazz.md). Every
// device therefore ignores the LWW value and uses the canonical root: the first value ever set on
// the account's `root` key (earliest madeAt, then transaction ID). Any other root is stale: its
// records are replayed into the canonical root (idempotently: commands merge by id, preferences
// are LWW by updatedAt, devices merge by deviceId), then it is marked `mergedInto`. A stale root
// changed after its mark (a device still writing to it) is replayed again.
import type { LocalNode, RawCoList, RawCoMap } from "cojson";
import { contentOf, editsOf, lastTransactionAt, latestEdit } from "./cojsonAdapter.js";
import { CommandHistory } from "./commandHistory.js";
import { valuesByFirstSet } from "./rootFolds.js";
import { RecordTracker, type RootIds } from "./rootRecords.js";
import { writeRecords } from "./rootWriter.js";

export interface RootHistory {
  /** The root every device should use, or null when the account has none yet. */
  canonical: string | null;
  /** Other roots the account has pointed at. */
  stale: string[];
}

/** Reads the canonical and stale roots from every edit of the account's `root` key. */
export function rootHistory(account: RawCoMap): RootHistory {
  const ordered = valuesByFirstSet(editsOf(account, "root"));
  return { canonical: ordered[0] ?? null, stale: ordered.slice(1) };
}

/**
 * True when a stale root was merged into `canonical` and has not changed since. Its history must be
 * loaded (loadStaleHistory).
 */
export function alreadyMerged(node: LocalNode, stale: RootIds, canonical: string): boolean {
  const root = contentOf<RawCoMap>(node, stale.root);
  const mark = root && latestEdit(root, "mergedInto");
  if (!mark || mark.value !== canonical) return false;
  const list = contentOf<RawCoList>(node, stale.devices);
  const deviceIds = (list?.asArray() ?? []).filter((id): id is string => typeof id === "string");
  const history = new CommandHistory(node, stale, () => Promise.resolve(false));
  const parts = [...history.lists(), ...history.feeds(), stale.entries, stale.devices, ...deviceIds];
  const lastChange = Math.max(0, ...parts.map((id) => lastTransactionAt(node, id)));
  return lastChange <= mark.madeAt;
}

/**
 * Replays the stale root's records into the canonical root (the writer skips what the canonical
 * root already holds), then marks the stale root. Returns the number of records written.
 */
export async function mergeStaleRoot(
  node: LocalNode,
  stale: RootIds,
  canonical: CommandHistory,
  now: number,
): Promise<number> {
  const feeds = new CommandHistory(node, stale, () => Promise.resolve(false)).feeds();
  const records = new RecordTracker(node, stale).collect(feeds);
  const written = await writeRecords(node, canonical.ids, canonical, records, now);
  contentOf<RawCoMap>(node, stale.root)?.set("mergedInto", canonical.ids.root, "private");
  return written;
}

/**
 * Loads every feed of a stale root's history (they stay in memory: a stale root is small, and
 * alreadyMerged must see its changes). False when one is not available.
 */
export async function loadStaleHistory(
  node: LocalNode,
  stale: RootIds,
  load: (id: string) => Promise<boolean>,
): Promise<boolean> {
  const feeds = new CommandHistory(node, stale, load).feeds();
  return (await Promise.all(feeds.map(load))).every(Boolean);
}
