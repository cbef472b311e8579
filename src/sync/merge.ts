// Merge rules (SPEC §4 sync.push): the same function merges a local push and a record from the
// relay into what the cache holds, so every device converges whatever order changes arrive in.
// - command: `encrypted` and `createdAt` never change; executed is sticky; the earliest execution
//   report (executedAt, success) wins; deletedAt once set stays, the earliest kept.
// - preference: last writer wins by (updatedAt, deviceId, encrypted), never by arrival order.
// - device: merged by deviceId; firstSeen min, lastSeen max, name/platform from the newer record,
//   removal (isActive false) sticky.
import type { RemoteRecord } from "./remote.js";
import {
  commandRecord,
  deviceRecord,
  normalize,
  sameRecord,
  type CommandRecord,
  type DeviceRecord,
  type PreferenceRecord,
} from "./records.js";

export type MergeOutcome =
  | { kind: "unchanged" }
  | { kind: "changed"; record: RemoteRecord }
  /** The incoming record contradicts an immutable field of the stored one. */
  | { kind: "conflict"; message: string };

export function mergeRecord(existing: RemoteRecord | undefined, incoming: RemoteRecord): MergeOutcome {
  if (!existing) return { kind: "changed", record: normalize(incoming) };
  let merged: RemoteRecord | string;
  if (existing.type === "command" && incoming.type === "command") merged = mergeCommand(existing, incoming);
  else if (existing.type === "preference" && incoming.type === "preference")
    merged = mergePreference(existing, incoming);
  else if (existing.type === "device" && incoming.type === "device") merged = mergeDevice(existing, incoming);
  else return { kind: "conflict", message: "record type does not match the stored entry" };
  if (typeof merged === "string") return { kind: "conflict", message: merged };
  return sameRecord(existing, merged)
    ? { kind: "unchanged" }
    : { kind: "changed", record: normalize(merged) };
}

function mergeCommand(a: CommandRecord, b: CommandRecord): CommandRecord | string {
  // An evicted entry has an empty payload: the incoming one restores it.
  if (a.encryptedPayload !== "" && b.encryptedPayload !== "" && a.encryptedPayload !== b.encryptedPayload)
    return "encrypted of an existing command cannot change";
  if (a.createdAt !== b.createdAt) return "createdAt of an existing command cannot change";
  const report = earlierReport(a, b);
  return commandRecord({
    id: a.id,
    deviceId: a.deviceId,
    encryptedPayload: a.encryptedPayload || b.encryptedPayload,
    safetyLevel: a.safetyLevel,
    executed: a.executed || b.executed,
    success: report.success,
    createdAt: a.createdAt,
    executedAt: minDefined(a.executedAt, b.executedAt),
    deletedAt: minDefined(a.deletedAt, b.deletedAt),
  });
}

/** The execution report (success) that wins: the one with the earlier executedAt; a tie → false. */
function earlierReport(a: CommandRecord, b: CommandRecord): { success: boolean | undefined } {
  if (a.success === undefined) return { success: b.success };
  if (b.success === undefined || a.success === b.success) return { success: a.success };
  const ta = a.executedAt ?? Infinity;
  const tb = b.executedAt ?? Infinity;
  if (ta !== tb) return { success: ta < tb ? a.success : b.success };
  return { success: false };
}

function mergePreference(a: PreferenceRecord, b: PreferenceRecord): PreferenceRecord {
  return compareWrites(b, a) > 0 ? b : a;
}

/** Orders two preference writes: updatedAt, then deviceId, then the payload (total order). */
export function compareWrites(x: PreferenceRecord, y: PreferenceRecord): number {
  if (x.updatedAt !== y.updatedAt) return x.updatedAt - y.updatedAt;
  if (x.deviceId !== y.deviceId) return x.deviceId > y.deviceId ? 1 : -1;
  if (x.encrypted !== y.encrypted) return x.encrypted > y.encrypted ? 1 : -1;
  return 0;
}

function mergeDevice(a: DeviceRecord, b: DeviceRecord): DeviceRecord {
  const newer = b.lastSeen > a.lastSeen || (b.lastSeen === a.lastSeen && describe(b) > describe(a)) ? b : a;
  return deviceRecord({
    deviceId: a.deviceId,
    name: newer.name,
    platform: newer.platform,
    schemaVersion: Math.max(a.schemaVersion, b.schemaVersion),
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
    isActive: a.isActive && b.isActive,
  });
}

function describe(d: DeviceRecord): string {
  return `${d.name}\u0000${d.platform}`;
}

function minDefined(x: number | undefined, y: number | undefined): number | undefined {
  if (x === undefined) return y;
  if (y === undefined) return x;
  return Math.min(x, y);
}
