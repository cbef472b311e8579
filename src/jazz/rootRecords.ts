// Reading CaroSyncRoot as RemoteRecords, incrementally. The root is read through cojson's raw views
// (a feed's per-session logs, every edit of a map key, RawCoList; the internal ones through
// cojsonAdapter.ts) because jazz-tools' typed views re-walk and re-sort the whole feed on each
// access, which costs ~0.5 s at 100k entries (docs/jazz.md).
import type { LocalNode, RawCoList, RawCoMap, RawCoStream } from "cojson";
import { joinDevice } from "../sync/merge.js";
import type { RemoteRecord } from "../sync/remote.js";
import {
  contentOf,
  editsByKey,
  feedSessionLogs,
  heldLocally,
  isAvailable,
  subscribeToCoValue,
  type FeedItem,
  type HeldState,
} from "./cojsonAdapter.js";
import { foldDeviceEdits, foldPreferenceEdits, mergeInto } from "./rootFolds.js";
import type { EncryptedCommandEntry } from "./schema.js";

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;
type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
type DeviceRecordOut = Extract<RemoteRecord, { type: "device" }>;

/** The CoValue IDs that make up one CaroSyncRoot. */
export interface RootIds {
  root: string;
  feed: string;
  preferences: string;
  entries: string;
  devices: string;
}

/** Reads the child IDs of a root; undefined until the root and its preferences map are available. */
export function readRootIds(node: LocalNode, rootId: string): RootIds | undefined {
  const root = contentOf<RawCoMap>(node, rootId);
  if (!root) return undefined;
  const feed = root.get("commandHistory");
  const preferences = root.get("preferences");
  const devices = root.get("devices");
  if (typeof feed !== "string" || typeof preferences !== "string" || typeof devices !== "string")
    return undefined;
  const prefs = contentOf<RawCoMap>(node, preferences);
  const entries = prefs?.get("entries");
  if (typeof entries !== "string") return undefined;
  return { root: rootId, feed, preferences, entries, devices };
}

/** A feed item as a command record, or null when it is not a well-formed EncryptedCommandEntry. */
export function toCommandRecord(value: unknown): CommandRecord | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Partial<Record<keyof EncryptedCommandEntry, unknown>>;
  if (typeof v.id !== "string" || typeof v.deviceId !== "string" || typeof v.encryptedPayload !== "string")
    return null;
  if (
    typeof v.safetyLevel !== "string" ||
    typeof v.executed !== "boolean" ||
    typeof v.createdAt !== "number"
  ) {
    return null;
  }
  const out: CommandRecord = {
    type: "command",
    id: v.id,
    deviceId: v.deviceId,
    encryptedPayload: v.encryptedPayload,
    safetyLevel: v.safetyLevel,
    executed: v.executed,
    createdAt: v.createdAt,
  };
  if (typeof v.success === "boolean") out.success = v.success;
  if (typeof v.executedAt === "number") out.executedAt = v.executedAt;
  if (typeof v.deletedAt === "number") out.deletedAt = v.deletedAt;
  return out;
}

/** The winning value of every preference key, judged over all edits of the key (LWW by updatedAt). */
export function preferenceWinners(entries: RawCoMap): Map<string, PreferenceRecord> {
  const winners = new Map<string, PreferenceRecord>();
  for (const [key, edits] of editsByKey(entries)) {
    const winner = foldPreferenceEdits(key, edits);
    if (winner) winners.set(key, winner);
  }
  return winners;
}

/**
 * Devices merged by deviceId over every DeviceRecord CoMap in the list: two sessions registering
 * a device at once make two maps (copies); each is folded (foldDeviceEdits) and the copies joined.
 * `copies` lists each device's maps, for the writer.
 */
export function mergedDevices(
  node: LocalNode,
  listId: string,
): { records: Map<string, DeviceRecordOut>; copies: Map<string, RawCoMap[]> } {
  const list = contentOf<RawCoList>(node, listId);
  const records = new Map<string, DeviceRecordOut>();
  const copies = new Map<string, RawCoMap[]>();
  for (const id of list?.asArray() ?? []) {
    if (typeof id !== "string") continue;
    const map = contentOf<RawCoMap>(node, id);
    const record = map && foldedDevice(node, id, map);
    if (!map || !record) continue;
    const prev = records.get(record.deviceId);
    records.set(record.deviceId, prev ? joinDevice(prev, record) : record);
    copies.set(record.deviceId, [...(copies.get(record.deviceId) ?? []), map]);
  }
  return { records, copies };
}

/**
 * Each device map's fold, per node, recomputed only after the map changed: folding reads every
 * edit (~3 ms at 2,000 transactions, ~20 ms at 5,000: a device refreshes lastSeen every 5 minutes),
 * and deliveries read the devices on every change of the root. cojson notifies local writes at
 * once and remote ones in a microtask, before any delivery (a later macrotask) reads the fold.
 */
type DeviceFold = { record: DeviceRecordOut | null; stale: boolean };
const deviceFolds = new WeakMap<LocalNode, Map<string, DeviceFold>>();

function foldedDevice(node: LocalNode, id: string, map: RawCoMap): DeviceRecordOut | null {
  let folds = deviceFolds.get(node);
  if (!folds) deviceFolds.set(node, (folds = new Map<string, DeviceFold>()));
  let fold = folds.get(id);
  if (!fold) {
    const created: DeviceFold = { record: null, stale: true };
    // Never unsubscribed: it lives as long as the node (and its cores) it watches.
    subscribeToCoValue(node, id, () => (created.stale = true));
    folds.set(id, (fold = created));
  }
  if (fold.stale) [fold.record, fold.stale] = [foldDeviceEdits(editsByKey(map)), false];
  return fold.record && { ...fold.record };
}

/**
 * Reads a feed incrementally: per session, how many items were seen, and the transaction of the
 * last one, to notice if a session's order ever changed (only a clock running backwards can cause
 * that: the session is then read again from its start; records merge idempotently, so that is
 * harmless). Positions are kept by transaction, not by item object, so they survive the feed being
 * unloaded and loaded again. `read` is what the node held of the feed when it was last read.
 */
export class FeedCursor {
  private readonly positions = new Map<string, { count: number; last: ItemStamp | undefined }>();
  private read: HeldState | null = null;
  private seen = 0;

  constructor(
    private readonly node: LocalNode,
    readonly feedId: string,
  ) {}

  /** Items read so far (every session). */
  get items(): number {
    return this.seen;
  }

  /**
   * Calls `visit` with every well-formed command item added since the previous call. Returns false
   * when the feed is not in memory (nothing read).
   */
  readNew(visit: (entry: CommandRecord) => void): boolean {
    const feed = contentOf<RawCoStream>(this.node, this.feedId);
    if (!feed) return false;
    let partial = false;
    for (const [session, items] of feedSessionLogs(feed)) {
      const pos = this.positions.get(session);
      let start = pos?.count ?? 0;
      // Fewer items than were read: the feed is being loaded again (after an unload) and is not all
      // in memory yet. What it holds so far was read; reading it again would deliver it twice.
      if (start > items.length) {
        partial = true;
        continue;
      }
      if (pos && start > 0 && !sameStamp(items[start - 1], pos.last)) start = 0;
      if (start >= items.length) continue;
      for (let i = start; i < items.length; i++) {
        const record = toCommandRecord(items[i]?.value);
        if (record) visit(record);
      }
      this.seen += items.length - (pos?.count ?? 0);
      this.positions.set(session, { count: items.length, last: stamp(items[items.length - 1]) });
    }
    if (!partial) this.read = heldLocally(this.node, this.feedId);
    return true;
  }

  /** Items of `session` the feed holds in memory now, and whether all of them have been read. */
  sessionState(session: string): { items: number; read: boolean } {
    const feed = contentOf<RawCoStream>(this.node, this.feedId);
    const items = (feed && sessionLog(feed, session)?.length) ?? 0;
    return { items, read: (this.positions.get(session)?.count ?? 0) === items };
  }

  /**
   * Counts every item of `session` the feed holds as read without reading it: what this process
   * has just written there, which came from the cache. `upToDate`: whether everything else the
   * node held was read before that write; only then is the feed up to date after it.
   */
  skipSession(session: string, upToDate: boolean): void {
    const feed = contentOf<RawCoStream>(this.node, this.feedId);
    const items = feed && sessionLog(feed, session);
    if (!items) return;
    this.seen += items.length - (this.positions.get(session)?.count ?? 0);
    this.positions.set(session, { count: items.length, last: stamp(items[items.length - 1]) });
    if (!upToDate) return;
    const now = heldLocally(this.node, this.feedId);
    // Only this session's transactions: others that arrived meanwhile are still to be read.
    const before = this.read ?? { header: now.header, sessions: {} };
    this.read = {
      header: now.header,
      sessions: { ...before.sessions, [session]: now.sessions[session] ?? 0 },
    };
  }

  /** True when everything the node holds of the feed (loaded or not) has been read. */
  isUpToDate(): boolean {
    return this.read !== null && sameHeld(this.read, heldLocally(this.node, this.feedId));
  }
}

function sessionLog(feed: RawCoStream, session: string): readonly FeedItem[] | undefined {
  return feedSessionLogs(feed).find(([s]) => s === session)?.[1];
}

type ItemStamp = { session: string; txIndex: number; madeAt: number };

function stamp(item: FeedItem | undefined): ItemStamp | undefined {
  return item && { session: item.tx.sessionID, txIndex: item.tx.txIndex, madeAt: item.madeAt };
}

function sameStamp(item: FeedItem | undefined, last: ItemStamp | undefined): boolean {
  const s = stamp(item);
  return (
    !!s && !!last && s.session === last.session && s.txIndex === last.txIndex && s.madeAt === last.madeAt
  );
}

function sameHeld(a: HeldState, b: HeldState): boolean {
  const keys = Object.keys(b.sessions);
  return (
    a.header === b.header &&
    keys.length === Object.keys(a.sessions).length &&
    keys.every((k) => a.sessions[k] === b.sessions[k])
  );
}

/**
 * The merged state of every command in one feed (the live shard), kept up to date incrementally,
 * so that writing a command the feed already holds (a replay) can be skipped instead of appended
 * again. Commands of sealed shards are not indexed (that would keep the whole history in memory):
 * a replay of one of those is appended again, which readers merge away.
 */
export class FeedIndex {
  private readonly cursor: FeedCursor;
  private readonly byId = new Map<string, CommandRecord>();

  constructor(node: LocalNode, feedId: string) {
    this.cursor = new FeedCursor(node, feedId);
  }

  get feedId(): string {
    return this.cursor.feedId;
  }

  /** Items of the feed read so far (each version of a command counts). */
  get items(): number {
    return this.cursor.items;
  }

  /** Takes in whatever the feed gained since the last call. */
  refresh(): void {
    this.cursor.readNew((record) => mergeInto(this.byId, record));
  }

  get(id: string): CommandRecord | undefined {
    return this.byId.get(id);
  }
}

/**
 * Remembers what one listener has been given and yields only what is new: new feed items (see
 * FeedCursor, one per feed of the history) and preferences or devices whose value changed since
 * the last delivery.
 */
/** What RecordTracker.beforeOwnWrite found, for skipWritten. */
export interface OwnWriteMarks {
  session: string;
  /** The history's feeds before the write: any other is one the write created. */
  known: ReadonlySet<string>;
  /** Feeds whose items of the session were all read, and whether each was up to date. */
  caughtUp: Map<string, boolean>;
}

export class RecordTracker {
  private readonly cursors = new Map<string, FeedCursor>();
  private readonly sentPreferences = new Map<string, string>();
  private readonly sentDevices = new Map<string, string>();

  constructor(
    private readonly node: LocalNode,
    readonly ids: RootIds,
  ) {}

  /** Everything new in the feeds now in memory, preferences and devices; commands merged by id. */
  collect(feeds: readonly string[]): RemoteRecord[] {
    return [...this.collectCommands(feeds), ...this.collectPreferences(), ...this.collectDevices()];
  }

  /** The new commands of those of `feeds` that are in memory, merged by id. */
  collectCommands(feeds: readonly string[]): CommandRecord[] {
    const commands = new Map<string, CommandRecord>();
    for (const id of feeds) this.cursor(id).readNew((record) => mergeInto(commands, record));
    return [...commands.values()];
  }

  /**
   * Before this process writes records from the cache into the history (JazzSession.write): for
   * each feed in memory, whether every item of `session` (this node's) was read, and the feed up
   * to date. Hand the result to skipWritten after the write.
   */
  beforeOwnWrite(session: string, feeds: readonly string[]): OwnWriteMarks {
    const marks: OwnWriteMarks = { session, known: new Set(feeds), caughtUp: new Map() };
    for (const id of feeds) {
      if (!isAvailable(this.node, id)) continue;
      const cursor = this.cursor(id);
      if (cursor.sessionState(session).read) marks.caughtUp.set(id, this.hasRead(id));
    }
    return marks;
  }

  /**
   * After that write: what it added is counted as read, in the feeds that were caught up and in
   * those it created. Those records came from the cache, which holds them (or newer) already:
   * delivering them back (the echo) would cost a merge each and change nothing. Records this
   * session wrote for other reasons (a stale root replayed) were written outside such a write,
   * so a feed holding some unread is not caught up, and they are delivered as usual.
   */
  skipWritten(marks: OwnWriteMarks, feeds: readonly string[]): void {
    for (const id of feeds) {
      const upToDate = marks.known.has(id) ? marks.caughtUp.get(id) : true;
      if (upToDate !== undefined) this.cursor(id).skipSession(marks.session, upToDate);
    }
  }

  /** True when everything this node holds of the feed has been collected. */
  hasRead(feedId: string): boolean {
    return this.cursors.get(feedId)?.isUpToDate() ?? false;
  }

  private cursor(feedId: string): FeedCursor {
    let cursor = this.cursors.get(feedId);
    if (!cursor) this.cursors.set(feedId, (cursor = new FeedCursor(this.node, feedId)));
    return cursor;
  }

  private collectPreferences(): PreferenceRecord[] {
    const entries = contentOf<RawCoMap>(this.node, this.ids.entries);
    if (!entries) return [];
    const out: PreferenceRecord[] = [];
    for (const [key, record] of preferenceWinners(entries)) {
      const json = JSON.stringify(record);
      if (this.sentPreferences.get(key) === json) continue;
      this.sentPreferences.set(key, json);
      out.push(record);
    }
    return out;
  }

  private collectDevices(): DeviceRecordOut[] {
    const out: DeviceRecordOut[] = [];
    for (const [deviceId, record] of mergedDevices(this.node, this.ids.devices).records) {
      const json = JSON.stringify(record);
      if (this.sentDevices.get(deviceId) === json) continue;
      this.sentDevices.set(deviceId, json);
      out.push(record);
    }
    return out;
  }
}
