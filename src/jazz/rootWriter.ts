// Writing RemoteRecords into a CaroSyncRoot.
//
// Commands go into the feed many per transaction through the low-level
// `core.makeTransaction(changes, "private")`: each change becomes one feed item for every reader,
// exactly as if pushed one by one, but one transaction per entry cannot carry 100k entries
// (JAZZ-NOTES). This skips jazz-tools' schema validation, so entries are checked here first.
// Pinned to cojson 0.20.19; test/jazz/plainClient.test.ts guards the behaviour.
import type { LocalNode, RawCoList, RawCoMap, RawCoStream } from "cojson";
import type { RemoteRecord } from "../sync/remote.js";
import {
  contentOf,
  mergedDevices,
  mergeInto,
  preferenceWinners,
  toCommandRecord,
  toDeviceRecord,
  type FeedIndex,
  type RootIds,
} from "./rootRecords.js";
import {
  mergeCommand,
  preferenceBeats,
  sameCommand,
  type EncryptedCommandEntry,
  type PreferenceValue,
} from "./schema.js";

/** Entries per transaction; a transaction is capped at 1 MiB when synced. */
export const FEED_BATCH_ENTRIES = 1000;
/** JSON bytes per transaction; encryption and base64 add about a third on top. */
export const FEED_BATCH_BYTES = 512 * 1024;

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;
type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
type DeviceRecordIn = Extract<RemoteRecord, { type: "device" }>;

/** Lets the WebSocket answer pings and the sync queue run between batches. */
export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes the records; resolves once Jazz has stored them locally (cojson stores local
 * transactions in a microtask, so one macrotask after the last write is enough). A record the root
 * already holds (a replay) writes nothing. Throws before writing anything when a record is
 * malformed. Returns how many records changed the root.
 */
export async function writeRecords(
  node: LocalNode,
  ids: RootIds,
  index: FeedIndex,
  records: RemoteRecord[],
  now: number,
): Promise<number> {
  const commands = new Map<string, CommandRecord>();
  const preferences: PreferenceRecord[] = [];
  const devices: DeviceRecordIn[] = [];
  for (const record of records) {
    if (record.type === "command") mergeInto(commands, checkCommand(record));
    else if (record.type === "preference") preferences.push(checkPreference(record));
    else devices.push(checkDevice(record));
  }
  let written = 0;
  if (commands.size > 0) written += await appendCommands(node, index, [...commands.values()]);
  if (preferences.length > 0) written += writePreferences(node, ids, preferences);
  if (devices.length > 0) written += upsertDevices(node, ids, devices);
  if (written > 0) {
    const root = requireContent<RawCoMap>(node, ids.root);
    if (((root.get("updatedAt") as number | undefined) ?? 0) < now) root.set("updatedAt", now, "private");
  }
  await yieldToLoop();
  return written;
}

/** Appends each command whose merged state the feed does not hold yet, as that merged state. */
async function appendCommands(node: LocalNode, index: FeedIndex, commands: CommandRecord[]): Promise<number> {
  const feed = requireContent<RawCoStream>(node, index.feedId);
  index.refresh();
  let batch: EncryptedCommandEntry[] = [];
  let bytes = 0;
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    if (!feed.core.makeTransaction(batch, "private")) throw new Error("Jazz refused the command batch");
    written += batch.length;
    batch = [];
    bytes = 0;
    await yieldToLoop();
  };
  for (const command of commands) {
    const entry = strip(command);
    const current = index.get(entry.id);
    const merged = current ? mergeCommand(strip(current), entry) : entry;
    if (current && sameCommand(merged, strip(current))) continue;
    const size = approximateJsonSize(merged);
    if (batch.length >= FEED_BATCH_ENTRIES || (batch.length > 0 && bytes + size > FEED_BATCH_BYTES))
      await flush();
    batch.push(merged);
    bytes += size;
  }
  await flush();
  return written;
}

/** Writes each preference whose value beats the current winner, in one transaction. */
function writePreferences(node: LocalNode, ids: RootIds, records: PreferenceRecord[]): number {
  const entries = requireContent<RawCoMap>(node, ids.entries);
  const winners = preferenceWinners(entries);
  const changes: Record<string, string> = {};
  const chosen = new Map<string, PreferenceValue>();
  let latest = 0;
  for (const record of records) {
    const value: PreferenceValue = {
      encrypted: record.encrypted,
      updatedAt: record.updatedAt,
      deviceId: record.deviceId,
    };
    const current = chosen.get(record.key) ?? winners.get(record.key);
    if (current && !preferenceBeats(value, current)) continue;
    chosen.set(record.key, value);
    changes[record.key] = JSON.stringify(value);
    latest = Math.max(latest, value.updatedAt);
  }
  if (chosen.size === 0) return 0;
  entries.assign(changes, "private");
  const prefs = requireContent<RawCoMap>(node, ids.preferences);
  const updatedAt = (prefs.get("updatedAt") as number | undefined) ?? 0;
  if (updatedAt < latest) prefs.set("updatedAt", latest, "private");
  return chosen.size;
}

/**
 * Creates or updates DeviceRecords by deviceId. Updates touch only fields that change, keep the
 * earliest firstSeen and latest lastSeen, never undo a removal (isActive false), and apply to every
 * copy of the device.
 */
function upsertDevices(node: LocalNode, ids: RootIds, records: DeviceRecordIn[]): number {
  const list = requireContent<RawCoList>(node, ids.devices);
  let changed = 0;
  const copies = new Map<string, RawCoMap[]>();
  for (const mapId of mergedDevices(node, ids.devices).mapIds) {
    const map = contentOf<RawCoMap>(node, mapId);
    const existing = map && toDeviceRecord(map);
    if (map && existing) copies.set(existing.deviceId, [...(copies.get(existing.deviceId) ?? []), map]);
  }
  for (const record of records) {
    const { type: _type, ...fields } = record;
    const maps = copies.get(record.deviceId);
    if (!maps) {
      // As jazz-tools' DeviceRecord.create does: a private CoMap owned by the list's group.
      const created = list.group.createMap(fields, null, "private");
      list.append(created.id, undefined, "private");
      copies.set(record.deviceId, [created]);
      changed++;
      continue;
    }
    for (const map of maps) {
      const current = toDeviceRecord(map);
      if (!current) continue;
      // A removal is sticky (as the cache merges it, sync/merge.ts): the removed device refreshing
      // its record from a copy that predates the removal must not make it active again.
      const next = {
        ...fields,
        firstSeen: Math.min(current.firstSeen, fields.firstSeen),
        lastSeen: Math.max(current.lastSeen, fields.lastSeen),
        isActive: current.isActive && fields.isActive,
      };
      const changes = Object.fromEntries(
        Object.entries(next).filter(([key, value]) => current[key as keyof typeof current] !== value),
      );
      if (Object.keys(changes).length === 0) continue;
      map.assign(changes, "private");
      changed++;
    }
  }
  return changed;
}

/** JSON length of an entry, near enough for batching (no stringify per entry at 100k entries). */
function approximateJsonSize(entry: EncryptedCommandEntry): number {
  return (
    entry.id.length + entry.deviceId.length + entry.encryptedPayload.length + entry.safetyLevel.length + 200
  );
}

/** Checks every field's type (cheaper than a zod parse per entry at 100k entries). */
function checkCommand(record: CommandRecord): CommandRecord {
  const checked = toCommandRecord(record);
  if (!checked) throw new TypeError(`malformed command record ${String(record.id)}`);
  return checked;
}

function strip(record: CommandRecord): EncryptedCommandEntry {
  const { type: _type, ...entry } = record;
  return entry;
}

function checkPreference(record: PreferenceRecord): PreferenceRecord {
  const ok =
    typeof record.key === "string" &&
    typeof record.encrypted === "string" &&
    typeof record.deviceId === "string" &&
    Number.isFinite(record.updatedAt);
  if (!ok) throw new TypeError("malformed preference record");
  return record;
}

function checkDevice(record: DeviceRecordIn): DeviceRecordIn {
  const ok =
    typeof record.deviceId === "string" &&
    typeof record.name === "string" &&
    typeof record.platform === "string" &&
    Number.isFinite(record.schemaVersion) &&
    Number.isFinite(record.firstSeen) &&
    Number.isFinite(record.lastSeen) &&
    typeof record.isActive === "boolean";
  if (!ok) throw new TypeError("malformed device record");
  return record;
}

function requireContent<T>(node: LocalNode, id: string): T {
  const content = contentOf<T>(node, id);
  if (!content) throw new Error(`CoValue ${id} is not available locally`);
  return content;
}
