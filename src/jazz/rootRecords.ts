// Reading CaroSyncRoot as RemoteRecords, incrementally. The root is read through cojson's raw views
// (RawCoStream.items, RawCoMap.ops, RawCoList) because jazz-tools' typed views re-walk and re-sort
// the whole feed on each access, which costs ~0.5 s at 100k entries (JAZZ-NOTES).
import type { CoValueCore, LocalNode, RawCoList, RawCoMap, RawCoStream } from "cojson";
import type { RemoteRecord } from "../sync/remote.js";
import { mergeCommand, parsePreferenceValue, preferenceBeats, type EncryptedCommandEntry } from "./schema.js";

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;
type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
type DeviceRecordOut = Extract<RemoteRecord, { type: "device" }>;
type FeedItem = RawCoStream["items"][keyof RawCoStream["items"]][number];

/** The CoValue IDs that make up one CaroSyncRoot. */
export interface RootIds {
  root: string;
  feed: string;
  preferences: string;
  entries: string;
  devices: string;
}

/** The current content of a CoValue, or undefined when it is not (yet) available here. */
export function contentOf<T>(node: LocalNode, id: string): T | undefined {
  const core: CoValueCore = node.getCoValue(id as never);
  return core.isAvailable() ? (core.getCurrentContent() as T) : undefined;
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
  for (const [key, ops] of Object.entries(entries.ops)) {
    for (const op of ops ?? []) {
      if (op.change.op !== "set") continue;
      const value = parsePreferenceValue(op.change.value);
      if (!value) continue;
      const best = winners.get(key);
      if (!best || preferenceBeats(value, best)) winners.set(key, { type: "preference", key, ...value });
    }
  }
  return winners;
}

/** A DeviceRecord CoMap as a record, or null when fields are missing. */
export function toDeviceRecord(map: RawCoMap): DeviceRecordOut | null {
  const g = (k: string) => map.get(k);
  const [deviceId, name, platform] = [g("deviceId"), g("name"), g("platform")];
  const [schemaVersion, firstSeen, lastSeen, isActive] = [
    g("schemaVersion"),
    g("firstSeen"),
    g("lastSeen"),
    g("isActive"),
  ];
  if (typeof deviceId !== "string" || typeof name !== "string" || typeof platform !== "string") return null;
  if (typeof schemaVersion !== "number" || typeof firstSeen !== "number" || typeof lastSeen !== "number")
    return null;
  if (typeof isActive !== "boolean") return null;
  return { type: "device", deviceId, name, platform, schemaVersion, firstSeen, lastSeen, isActive };
}

/**
 * Devices merged by deviceId. Duplicate records of one device (two sessions registering it
 * concurrently) are normally kept equal by writes, which update every copy; if they differ, the
 * copy edited last wins, with the earliest firstSeen, the latest lastSeen, and inactive if any
 * copy is.
 */
export function mergedDevices(
  node: LocalNode,
  listId: string,
): { records: Map<string, DeviceRecordOut>; mapIds: string[] } {
  const list = contentOf<RawCoList>(node, listId);
  const records = new Map<string, DeviceRecordOut>();
  const editedAt = new Map<string, number>();
  const mapIds: string[] = [];
  for (const id of list?.asArray() ?? []) {
    if (typeof id !== "string") continue;
    mapIds.push(id);
    const map = contentOf<RawCoMap>(node, id);
    const record = map && toDeviceRecord(map);
    if (!map || !record) continue;
    const prev = records.get(record.deviceId);
    const at = map.latestTxMadeAt;
    if (!prev) {
      records.set(record.deviceId, record);
      editedAt.set(record.deviceId, at);
      continue;
    }
    const newer = at > (editedAt.get(record.deviceId) ?? 0) ? record : prev;
    records.set(record.deviceId, {
      ...newer,
      firstSeen: Math.min(prev.firstSeen, record.firstSeen),
      lastSeen: Math.max(prev.lastSeen, record.lastSeen),
      isActive: prev.isActive && record.isActive,
    });
    editedAt.set(record.deviceId, Math.max(at, editedAt.get(record.deviceId) ?? 0));
  }
  return { records, mapIds };
}

/**
 * Reads a feed incrementally: per session, how many items were seen, and the last one, to notice if
 * a session's order ever changed (only a clock running backwards can cause that: the session is
 * then read again from its start; records merge idempotently, so that is harmless).
 */
export class FeedCursor {
  private readonly positions = new Map<string, { count: number; last: FeedItem | undefined }>();

  constructor(
    private readonly node: LocalNode,
    readonly feedId: string,
  ) {}

  /** Calls `visit` with every well-formed command item added since the previous call. */
  readNew(visit: (entry: CommandRecord) => void): void {
    const feed = contentOf<RawCoStream>(this.node, this.feedId);
    if (!feed) return;
    for (const [session, items] of Object.entries(feed.items)) {
      const pos = this.positions.get(session);
      let start = pos?.count ?? 0;
      if (pos && start > 0 && items[start - 1] !== pos.last) start = 0;
      if (start >= items.length) continue;
      for (let i = start; i < items.length; i++) {
        const record = toCommandRecord(items[i]?.value);
        if (record) visit(record);
      }
      this.positions.set(session, { count: items.length, last: items[items.length - 1] });
    }
  }
}

/** Merges command records by id (within one delivery, or in the feed index). */
export function mergeInto(byId: Map<string, CommandRecord>, record: CommandRecord): CommandRecord {
  const prev = byId.get(record.id);
  const merged: CommandRecord = prev
    ? { type: "command", ...mergeCommand(strip(prev), strip(record)) }
    : record;
  byId.set(record.id, merged);
  return merged;
}

/**
 * The merged state of every command in a feed, kept up to date incrementally, so that writing a
 * command the feed already holds (a replay) can be skipped instead of appended again.
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
 * FeedCursor) and preferences or devices whose value changed since the last delivery.
 */
export class RecordTracker {
  private readonly cursor: FeedCursor;
  private readonly sentPreferences = new Map<string, string>();
  private readonly sentDevices = new Map<string, string>();

  constructor(
    private readonly node: LocalNode,
    readonly ids: RootIds,
  ) {
    this.cursor = new FeedCursor(node, ids.feed);
  }

  /** Everything new since the previous call, commands merged by id within the result. */
  collect(): RemoteRecord[] {
    const commands = new Map<string, CommandRecord>();
    this.cursor.readNew((record) => mergeInto(commands, record));
    return [...commands.values(), ...this.collectPreferences(), ...this.collectDevices()];
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

function strip(record: CommandRecord): EncryptedCommandEntry {
  const { type: _type, ...entry } = record;
  return entry;
}
