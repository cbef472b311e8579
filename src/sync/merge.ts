// The merge rules: one pure module for both paths a record can take. The cache path (apply.ts)
// merges a local change or a record from the relay into what the cache holds; the Jazz path
// (jazz/rootFolds.ts) folds feed items, preference edits and device versions into records, and
// jazz/rootWriter.ts skips writes that would change nothing. Both call the joins below.
//
// Each join is commutative, associative and idempotent on the record's canonical form
// (records.ts `normalize`; test/sync/merge.property.test.ts), so every device reaches the same record
// whatever order the versions arrive in and whichever path they took. A merged record is always
// one that some device wrote, or the field-wise combination described here (docs/architecture.md
// §2.6):
// - command: the origin (encryptedPayload, createdAt, deviceId, safetyLevel) of one version, the
//   execution report (executedAt, success) of one version, executed OR, deletedAt the earliest.
// - preference: the whole value of one write, last writer wins by (updatedAt, deviceId, encrypted).
// - device: name/platform of the version with the newest lastSeen, firstSeen min, lastSeen max,
//   schemaVersion max, isActive AND (removal is sticky).
import type { RemoteRecord } from "./remote.js";
import {
  commandRecord,
  deviceRecord,
  identicalRecords,
  normalize,
  preferenceRecord,
  sameRecord,
  type CommandRecord,
  type DeviceRecord,
  type PreferenceRecord,
} from "./records.js";

export type MergeOutcome =
  | { kind: "unchanged" }
  | { kind: "changed"; record: RemoteRecord }
  /** A local change contradicts an immutable field of the stored record (never for the relay). */
  | { kind: "conflict"; message: string };

/**
 * Where an incoming record comes from. A `local` change (a push, a delete, a device update) may not
 * rewrite a command's `encrypted`/`createdAt` (the push fails that entry with -32602) and never
 * changes who created it (deviceId, safetyLevel stay the stored ones). A record from the `relay`
 * cannot be refused, so it is joined like any other version: the same on every device.
 */
export type MergeSource = "local" | "relay";

/** Merges `incoming` into the stored record of the same key (undefined when there is none). */
export function mergeRecord(
  existing: RemoteRecord | undefined,
  incoming: RemoteRecord,
  source: MergeSource,
): MergeOutcome {
  if (!existing) return { kind: "changed", record: normalize(incoming) };
  if (existing.type !== incoming.type)
    return { kind: "conflict", message: "record type does not match the stored entry" };
  // The join is idempotent, and an identical local change has no origin to conflict with.
  if (identicalRecords(existing, incoming)) return { kind: "unchanged" };
  let next = incoming;
  if (source === "local" && existing.type === "command" && incoming.type === "command") {
    const problem = originConflict(existing, incoming);
    if (problem) return { kind: "conflict", message: problem };
    next = withOrigin(incoming, existing);
  }
  const merged = joinRecords(existing, next);
  return sameRecord(existing, merged) ? { kind: "unchanged" } : { kind: "changed", record: merged };
}

/** The join of two versions of one key (same type and key), in canonical form. */
export function joinRecords(a: RemoteRecord, b: RemoteRecord): RemoteRecord {
  if (a.type === "command" && b.type === "command") return joinCommand(a, b);
  if (a.type === "preference" && b.type === "preference") return joinPreference(a, b);
  if (a.type === "device" && b.type === "device") return joinDevice(a, b);
  throw new TypeError(`cannot merge a ${a.type} record with a ${b.type} record`);
}

export function joinCommand(a: CommandRecord, b: CommandRecord): CommandRecord {
  const origin = compareOrigins(a, b) <= 0 ? a : b;
  const report = compareReports(a, b) <= 0 ? a : b;
  return commandRecord({
    id: a.id,
    deviceId: origin.deviceId,
    encryptedPayload: origin.encryptedPayload,
    safetyLevel: origin.safetyLevel,
    executed: a.executed || b.executed,
    success: report.success,
    createdAt: origin.createdAt,
    executedAt: report.executedAt,
    deletedAt: minDefined(a.deletedAt, b.deletedAt),
  });
}

/**
 * Orders two versions' origins; the smaller one is kept. Honest writers never disagree here (the
 * origin is written once, by the device that created the command); when versions do disagree, a
 * total order picks one version's origin as a whole, the same on every device. A version without a
 * payload (an evicted cache row) never wins over one with a payload; then the earliest createdAt,
 * the smaller deviceId, payload and safetyLevel.
 */
export function compareOrigins(x: CommandRecord, y: CommandRecord): number {
  if ((x.encryptedPayload === "") !== (y.encryptedPayload === "")) return x.encryptedPayload === "" ? 1 : -1;
  return (
    x.createdAt - y.createdAt ||
    compareStrings(x.deviceId, y.deviceId) ||
    compareStrings(x.encryptedPayload, y.encryptedPayload) ||
    compareStrings(x.safetyLevel, y.safetyLevel)
  );
}

/**
 * Orders two versions' execution reports (executedAt, success), which travel as a pair; the smaller
 * one is kept. The earliest executedAt wins (a report without one counts as the latest); at the same
 * executedAt, success false beats true, and either beats a report without success.
 */
export function compareReports(x: CommandRecord, y: CommandRecord): number {
  const tx = x.executedAt ?? Infinity;
  const ty = y.executedAt ?? Infinity;
  if (tx !== ty) return tx < ty ? -1 : 1;
  return successRank(x.success) - successRank(y.success);
}

function successRank(success: boolean | undefined): number {
  return success === false ? 0 : success === true ? 1 : 2;
}

/** Why a local change may not be merged into the stored command, or null. */
export function originConflict(stored: CommandRecord, incoming: CommandRecord): string | null {
  // An evicted row has an empty payload: the cache cannot compare what it no longer holds.
  if (
    stored.encryptedPayload !== "" &&
    incoming.encryptedPayload !== "" &&
    stored.encryptedPayload !== incoming.encryptedPayload
  )
    return "encrypted of an existing command cannot change";
  if (stored.createdAt !== incoming.createdAt) return "createdAt of an existing command cannot change";
  return null;
}

/** `incoming` with the stored command's origin: a local change never rewrites who created it. */
function withOrigin(incoming: CommandRecord, stored: CommandRecord): CommandRecord {
  return {
    ...incoming,
    deviceId: stored.deviceId,
    safetyLevel: stored.safetyLevel,
    createdAt: stored.createdAt,
    encryptedPayload: stored.encryptedPayload || incoming.encryptedPayload,
  };
}

export function joinPreference(a: PreferenceRecord, b: PreferenceRecord): PreferenceRecord {
  return preferenceRecord(comparePreferenceWrites(a, b) >= 0 ? a : b);
}

/** Orders two preference writes: updatedAt, then deviceId, then the payload (a total order). */
export function comparePreferenceWrites(
  x: Omit<PreferenceRecord, "type" | "key">,
  y: Omit<PreferenceRecord, "type" | "key">,
): number {
  return (
    x.updatedAt - y.updatedAt ||
    compareStrings(x.deviceId, y.deviceId) ||
    compareStrings(x.encrypted, y.encrypted)
  );
}

export function joinDevice(a: DeviceRecord, b: DeviceRecord): DeviceRecord {
  const newer = compareDescriptions(a, b) >= 0 ? a : b;
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

/** Which version's name and platform win: the newer lastSeen, then the greater name, platform. */
function compareDescriptions(x: DeviceRecord, y: DeviceRecord): number {
  return x.lastSeen - y.lastSeen || compareStrings(x.name, y.name) || compareStrings(x.platform, y.platform);
}

function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function minDefined(x: number | undefined, y: number | undefined): number | undefined {
  if (x === undefined) return y;
  if (y === undefined) return x;
  return Math.min(x, y);
}
