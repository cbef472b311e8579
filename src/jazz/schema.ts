// The seed's CoValue schema (CaroSyncRoot and its parts) in jazz-tools' current `co.*` API. Any Jazz
// client holding the credentials can load the account with CaroSyncAccount and read everything here.
//
// Representation choices (docs/jazz.md explains them). The merge rules are not here: they are the
// cache's, in sync/merge.ts, and rootFolds.ts applies them to what this schema holds.
// - commands: CoFeeds of immutable JSON EncryptedCommandEntry objects (not CoMaps), written many per
//   transaction: `commandHistory` (a root's only feed before schema version 2, empty since) and the
//   shards listed in `commandShards`, each of up to a few thousand entries (commandHistory.ts). A
//   change to a command (executed, deletedAt) is a new item with the same id, in any feed; readers
//   join the items of every feed by id.
// - preferences.entries: key -> JSON string {encrypted, updatedAt, deviceId}, so every edit carries
//   what last-writer-wins by updatedAt needs; readers pick the winner over all edits of a key.
// - devices: a CoList of DeviceRecord CoMaps, each written whole per transaction; readers join
//   every version of every copy by deviceId.
// - mergedInto: optional, set on a root that lost the race to an earlier root (see JazzSession).
import { co, z } from "jazz-tools";

/** 2: commands are written to `commandShards`; 1: to `commandHistory` alone (read either way). */
export const ROOT_SCHEMA_VERSION = 2;

export const EncryptedCommandEntry = z.object({
  id: z.string(),
  deviceId: z.string(),
  encryptedPayload: z.string(),
  safetyLevel: z.string(),
  executed: z.boolean(),
  success: z.optional(z.boolean()),
  createdAt: z.number(),
  executedAt: z.optional(z.number()),
  deletedAt: z.optional(z.number()),
});
export type EncryptedCommandEntry = z.infer<typeof EncryptedCommandEntry>;

export const CommandHistoryFeed = co.feed(EncryptedCommandEntry);

/** The shards of the history, oldest first; writers append to the last one. */
export const CommandShardList = co
  .list(CommandHistoryFeed.withPermissions({ onInlineCreate: "sameAsContainer" }))
  .withPermissions({ onInlineCreate: "sameAsContainer" });

/** What one edit of a preference key holds (as a JSON string, see PreferenceEntries). */
export const PreferenceValue = z.object({
  encrypted: z.string(),
  updatedAt: z.number(),
  deviceId: z.string(),
});
export type PreferenceValue = z.infer<typeof PreferenceValue>;

/** key -> JSON.stringify(PreferenceValue). */
export const PreferenceEntries = co.record(z.string(), z.string());

export const SyncPreferences = co
  .map({ entries: PreferenceEntries, updatedAt: z.number() })
  .withPermissions({ onInlineCreate: "sameAsContainer" });

export const DeviceRecord = co
  .map({
    deviceId: z.string(),
    name: z.string(),
    platform: z.string(),
    schemaVersion: z.number(),
    firstSeen: z.number(),
    lastSeen: z.number(),
    isActive: z.boolean(),
  })
  .withPermissions({ onInlineCreate: "sameAsContainer" });

export const DeviceList = co.list(DeviceRecord).withPermissions({ onInlineCreate: "sameAsContainer" });

export const CaroSyncRoot = co
  .map({
    schemaVersion: z.number(),
    commandHistory: CommandHistoryFeed.withPermissions({ onInlineCreate: "sameAsContainer" }),
    /** Absent in a root of schema version 1 until a version-2 writer adds it. */
    commandShards: co.optional(CommandShardList),
    preferences: SyncPreferences,
    devices: DeviceList,
    createdAt: z.number(),
    updatedAt: z.number(),
    mergedInto: z.optional(z.string()),
  })
  .withPermissions({ onInlineCreate: "sameAsContainer" });

/**
 * No migration: a migration that creates a missing root can replace an existing one when the
 * account is only partly known locally. JazzSyncService creates the root explicitly, once.
 */
export const CaroSyncAccount = co.account({ profile: co.profile(), root: CaroSyncRoot });

export function parsePreferenceValue(raw: unknown): PreferenceValue | null {
  if (typeof raw !== "string") return null;
  try {
    const parsed = PreferenceValue.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
