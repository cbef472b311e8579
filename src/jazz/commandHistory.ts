// The command history of a root, in shards, so that the node need not keep it in memory.
//
// A root's commands are the items of several CoFeeds: `commandHistory` (a version-1 root's only
// feed, which may hold its whole history; empty in a root created with version 2) and the shards
// listed in `commandShards`, a CoList of CoFeeds. Writers append to the last shard of the list
// until it holds `shardEntries` items, then append a new shard to the list; every other feed is
// sealed: caro-sync never writes to it again (another Jazz client may, and readers take that in).
// Readers join the items of all feeds by id (rootFolds.ts `mergeInto`), whatever feed holds them.
//
// The session keeps only the live shard (the last one) in memory: the others are loaded when
// something must read them (the first delivery, sync.verify) and unloaded again once read
// (JazzSession). A version-1 root gets its list on its first write here (`target`). Two devices
// adding a list at once (both upgrading offline) set the root's key twice: the first list ever set
// is the canonical one (as for the account's root, rootReconcile.ts); readers read every list ever
// set, and a writer copies the shards of the others into the canonical list and points the key at
// it, so a plain Jazz client reading `root.commandShards` finds every shard.
import type { LocalNode, RawCoList, RawCoMap, RawCoStream } from "cojson";
import { contentOf, editsOf } from "./cojsonAdapter.js";
import { valuesByFirstSet } from "./rootFolds.js";
import { FeedIndex, type RootIds } from "./rootRecords.js";

/** Items per shard before a new one is started (~1.5 KiB of memory each while loaded). */
export const SHARD_ENTRIES = 5000;

/** Where a writer appends: the live shard, its index, and how many more items it takes. */
export interface WriteTarget {
  feed: RawCoStream;
  index: FeedIndex;
  room: number;
}

export class CommandHistory {
  private live: FeedIndex | null = null;
  private readonly pins = new Map<string, number>();

  /**
   * `load` brings a feed into memory (from storage, or the relay when connected); true when it is
   * complete afterwards.
   */
  constructor(
    private readonly node: LocalNode,
    readonly ids: RootIds,
    private readonly load: (id: string) => Promise<boolean>,
    private readonly shardEntries = SHARD_ENTRIES,
  ) {}

  /** Every shard list ever set on the root, the canonical (first set) one first. */
  lists(): string[] {
    const root = contentOf<RawCoMap>(this.node, this.ids.root);
    return root ? valuesByFirstSet(editsOf(root, "commandShards")) : [];
  }

  /** Every feed of the history, each once: `commandHistory`, then the shards of every list. */
  feeds(): string[] {
    const out = new Set<string>([this.ids.feed]);
    for (const listId of this.lists()) for (const id of shardsOf(this.node, listId)) out.add(id);
    return [...out];
  }

  /** The shard writes go to (the canonical list's last), which stays in memory; null when none. */
  liveFeed(): string | null {
    const canonical = this.lists()[0];
    return (canonical && shardsOf(this.node, canonical).at(-1)) ?? null;
  }

  /** Keeps `id` in memory until the returned function is called (a reader between its awaits). */
  pin(id: string): () => void {
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pins.get(id) ?? 1) - 1;
      if (n > 0) this.pins.set(id, n);
      else this.pins.delete(id);
    };
  }

  /** True when the feed must stay in memory: the live shard, or pinned by a reader. */
  isInUse(id: string): boolean {
    return this.pins.has(id) || id === this.liveFeed();
  }

  /**
   * The live shard with room for at least one item, ready to append to: the canonical list's last
   * shard (loaded when needed), or a new shard appended to the list when that one is full,
   * or when there is none. Adds the list to a version-1 root, and copies the shards of other lists
   * into the canonical one. Throws when a shard the writer needs is not available.
   */
  async target(): Promise<WriteTarget> {
    const list = this.canonicalList();
    const lastId = shardsOf(this.node, list.id).at(-1);
    if (lastId && this.live?.feedId !== lastId) {
      if (!(await this.load(lastId))) throw new Error("the live command shard is not available");
      this.live = new FeedIndex(this.node, lastId);
    }
    if (this.live && lastId === this.live.feedId) {
      this.live.refresh();
      const room = this.shardEntries - this.live.items;
      const feed = contentOf<RawCoStream>(this.node, lastId);
      if (!feed) throw new Error("the live command shard is not available");
      if (room > 0) return { feed, index: this.live, room };
    }
    // As jazz-tools' CoFeed.create does: a private feed owned by the list's group.
    const feed = list.group.createStream<RawCoStream>(undefined, "private", null);
    list.append(feed.id, undefined, "private");
    this.live = new FeedIndex(this.node, feed.id);
    return { feed, index: this.live, room: this.shardEntries };
  }

  /** The canonical shard list, created on a root without one, with every other list's shards in it. */
  private canonicalList(): RawCoList {
    const root = contentOf<RawCoMap>(this.node, this.ids.root);
    if (!root) throw new Error("the root is not available");
    const [canonicalId, ...others] = this.lists();
    let list = canonicalId ? contentOf<RawCoList>(this.node, canonicalId) : undefined;
    if (canonicalId && !list) throw new Error("the command shard list is not available");
    if (!list) {
      // As jazz-tools' CoList.create does, in the root's group (the parts' group).
      list = root.group.createList<RawCoList>([], null, "private");
      root.set("commandShards", list.id, "private");
      if (((root.get("schemaVersion") as number | undefined) ?? 0) < 2)
        root.set("schemaVersion", 2, "private");
      return list;
    }
    const held = new Set(shardsOf(this.node, list.id));
    for (const otherId of others)
      for (const id of shardsOf(this.node, otherId))
        if (!held.has(id)) {
          list.append(id, undefined, "private");
          held.add(id);
        }
    if (root.get("commandShards") !== list.id) root.set("commandShards", list.id, "private");
    return list;
  }
}

/** The shard IDs of a list, in order (none while the list is not available). */
export function shardsOf(node: LocalNode, listId: string): string[] {
  const list = contentOf<RawCoList>(node, listId);
  return (list?.asArray() ?? []).filter((id): id is string => typeof id === "string");
}
