// The seed's CoValue schema (CaroSyncRoot and its parts) in jazz-tools' current `co.*` API. Any Jazz
// client holding the credentials can load the account with CaroSyncAccount and read everything here.
//
// Representation choices (docs/jazz.md explains them):
// - commandHistory: a CoFeed of immutable JSON EncryptedCommandEntry objects (not CoMaps), written
//   many per transaction. A change to a command (executed, deletedAt) is a new item with the same id;
//   readers merge items by id (mergeCommand).
// - preferences.entries: key -> JSON string {encrypted, updatedAt, deviceId}, so every edit carries
//   what last-writer-wins by updatedAt needs; readers pick the winner over all edits of a key.
// - devices: a CoList of DeviceRecord CoMaps, merged by deviceId.
// - mergedInto: optional, set on a root that lost the race to an earlier root (see JazzSession).
import { co, z } from "jazz-tools";

export const ROOT_SCHEMA_VERSION = 1;

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

/** Last writer wins by updatedAt; a tie goes to the greater deviceId, then the greater blob. */
export function preferenceBeats(a: PreferenceValue, b: PreferenceValue): boolean {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt > b.updatedAt;
  if (a.deviceId !== b.deviceId) return a.deviceId > b.deviceId;
  return a.encrypted > b.encrypted;
}

/**
 * Merges two items of one command id. Commutative and associative, so every device reaches the
 * same record whatever order items arrive in: executed once true stays true, deletedAt once set
 * stays set (earliest wins), executedAt earliest, success false wins a conflict. The immutable
 * fields never differ between honest writers; if they do, the smaller value wins deterministically.
 */
export function mergeCommand(a: EncryptedCommandEntry, b: EncryptedCommandEntry): EncryptedCommandEntry {
  const out: EncryptedCommandEntry = {
    id: a.id,
    deviceId: minString(a.deviceId, b.deviceId),
    encryptedPayload: minString(a.encryptedPayload, b.encryptedPayload),
    safetyLevel: minString(a.safetyLevel, b.safetyLevel),
    executed: a.executed || b.executed,
    createdAt: Math.min(a.createdAt, b.createdAt),
  };
  const success =
    a.success === undefined ? b.success : b.success === undefined ? a.success : a.success && b.success;
  if (success !== undefined) out.success = success;
  const executedAt = minDefined(a.executedAt, b.executedAt);
  if (executedAt !== undefined) out.executedAt = executedAt;
  const deletedAt = minDefined(a.deletedAt, b.deletedAt);
  if (deletedAt !== undefined) out.deletedAt = deletedAt;
  return out;
}

const COMMAND_FIELDS = [
  "id",
  "deviceId",
  "encryptedPayload",
  "safetyLevel",
  "executed",
  "success",
  "createdAt",
  "executedAt",
  "deletedAt",
] as const satisfies readonly (keyof EncryptedCommandEntry)[];

export function sameCommand(a: EncryptedCommandEntry, b: EncryptedCommandEntry): boolean {
  return COMMAND_FIELDS.every((field) => a[field] === b[field]);
}

function minString(a: string, b: string): string {
  return a <= b ? a : b;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
