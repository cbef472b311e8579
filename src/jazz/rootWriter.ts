// Writing RemoteRecords into a CaroSyncRoot.
//
// Commands go into the live shard of the history (commandHistory.ts) many per transaction through cojson's low-level transaction API
// (cojsonAdapter.ts `appendFeedItems`): each change becomes one feed item for every reader,
// exactly as if pushed one by one, but one transaction per entry cannot carry 100k entries
// (docs/jazz.md). This skips jazz-tools' schema validation, so entries are checked here first.
// test/jazz/cojsonAdapter.test.ts and test/jazz/plainClient.test.ts guard the behaviour.
import type { LocalNode, RawCoList, RawCoMap } from "cojson";
import { comparePreferenceWrites, joinCommand, joinDevice } from "../sync/merge.js";
import { deviceRecord, sameRecord } from "../sync/records.js";
import type { RemoteRecord } from "../sync/remote.js";
import { appendFeedItems, contentOf } from "./cojsonAdapter.js";
import type { CommandHistory } from "./commandHistory.js";
import { mergeInto } from "./rootFolds.js";
import { mergedDevices, preferenceWinners, toCommandRecord, type RootIds } from "./rootRecords.js";
import type { EncryptedCommandEntry, PreferenceValue } from "./schema.js";

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
  history: CommandHistory,
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
  if (commands.size > 0) written += await appendCommands(history, [...commands.values()]);
  if (preferences.length > 0) written += writePreferences(node, ids, preferences);
  if (devices.length > 0) written += upsertDevices(node, ids, devices);
  if (written > 0) {
    const root = requireContent<RawCoMap>(node, ids.root);
    if (((root.get("updatedAt") as number | undefined) ?? 0) < now) root.set("updatedAt", now, "private");
  }
  await yieldToLoop();
  return written;
}

/**
 * Appends each command whose merged state the live shard does not hold yet, as that merged state,
 * starting a new shard whenever the live one is full.
 */
async function appendCommands(history: CommandHistory, commands: CommandRecord[]): Promise<number> {
  let target = await history.target();
  let unpin = history.pin(target.feed.id);
  let batch: EncryptedCommandEntry[] = [];
  let bytes = 0;
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    if (!appendFeedItems(target.feed, batch)) throw new Error("Jazz refused the command batch");
    written += batch.length;
    target.room -= batch.length;
    batch = [];
    bytes = 0;
    await yieldToLoop();
  };
  try {
    for (const command of commands) {
      const current = target.index.get(command.id);
      const merged = strip(current ? joinCommand(current, command) : command);
      if (current && sameRecord(current, { type: "command", ...merged })) continue;
      const size = approximateJsonSize(merged);
      if (batch.length >= FEED_BATCH_ENTRIES || (batch.length > 0 && bytes + size > FEED_BATCH_BYTES))
        await flush();
      if (batch.length >= target.room) {
        await flush();
        unpin();
        target = await history.target();
        unpin = history.pin(target.feed.id);
      }
      batch.push(merged);
      bytes += size;
    }
    await flush();
  } finally {
    unpin();
  }
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
    if (current && comparePreferenceWrites(value, current) <= 0) continue;
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
 * Creates or updates DeviceRecords by deviceId. A device whose merged record (rootRecords.ts
 * `mergedDevices`, the join of every version of every copy) would change gets the join of that and
 * the incoming record (sync/merge.ts `joinDevice`: removal sticky, firstSeen min, lastSeen max),
 * written whole, in one transaction, to every copy: readers fold versions by transaction.
 */
function upsertDevices(node: LocalNode, ids: RootIds, records: DeviceRecordIn[]): number {
  const list = requireContent<RawCoList>(node, ids.devices);
  const { records: merged, copies } = mergedDevices(node, ids.devices);
  let changed = 0;
  for (const record of records) {
    const current = merged.get(record.deviceId);
    const next = current ? joinDevice(current, record) : deviceRecord(record);
    if (current && sameRecord(current, next)) continue;
    const { type: _type, ...fields } = next;
    const maps = copies.get(record.deviceId);
    if (maps) {
      for (const map of maps) map.assign(fields, "private");
    } else {
      // As jazz-tools' DeviceRecord.create does: a private CoMap owned by the list's group.
      const created = list.group.createMap(fields, null, "private");
      list.append(created.id, undefined, "private");
      copies.set(record.deviceId, [created]);
    }
    merged.set(record.deviceId, next);
    changed++;
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
