// Records as the daemon keeps them (RemoteRecord, shared with the Remote), their keys, and their
// shape on the wire (PulledEntry of sync.pull). Constructors set keys in one fixed order and omit
// undefined fields, so two equal records have equal JSON.
import { z } from "zod";
import type { EntryType, PulledEntry } from "../protocol.js";
import type { EntryKey } from "./localCache.js";
import type { RemoteRecord } from "./remote.js";

export type CommandRecord = Extract<RemoteRecord, { type: "command" }>;
export type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
export type DeviceRecord = Extract<RemoteRecord, { type: "device" }>;

/** Version of the DeviceRecord layout this daemon writes (DeviceRecord.schemaVersion). */
export const DEVICE_SCHEMA_VERSION = 1;

export function recordKey(record: RemoteRecord): EntryKey {
  switch (record.type) {
    case "command":
      return { type: "command", id: record.id };
    case "preference":
      return { type: "preference", id: record.key };
    case "device":
      return { type: "device", id: record.deviceId };
  }
}

const ms = z.number().int().nonnegative();
const text = z.string().min(1).max(256);

/** The shape a record from the Remote must have before it may touch the cache. */
export const remoteRecordSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("command"),
    id: text,
    deviceId: text,
    encryptedPayload: z.string(),
    safetyLevel: z.string().max(32),
    executed: z.boolean(),
    success: z.boolean().optional(),
    createdAt: ms,
    executedAt: ms.optional(),
    deletedAt: ms.optional(),
  }),
  z.object({
    type: z.literal("preference"),
    key: text,
    deviceId: text,
    encrypted: z.string(),
    updatedAt: ms,
  }),
  z.object({
    type: z.literal("device"),
    deviceId: text,
    name: z.string().max(200),
    platform: z.string().max(50),
    schemaVersion: z.number().int(),
    firstSeen: ms,
    lastSeen: ms,
    isActive: z.boolean(),
  }),
]);

export function keyString(key: EntryKey): string {
  return `${key.type}\u0000${key.id}`;
}

export function commandRecord(c: Omit<CommandRecord, "type">): CommandRecord {
  return {
    type: "command",
    id: c.id,
    deviceId: c.deviceId,
    encryptedPayload: c.encryptedPayload,
    safetyLevel: c.safetyLevel,
    executed: c.executed,
    ...(c.success !== undefined && { success: c.success }),
    createdAt: c.createdAt,
    ...(c.executedAt !== undefined && { executedAt: c.executedAt }),
    ...(c.deletedAt !== undefined && { deletedAt: c.deletedAt }),
  };
}

export function preferenceRecord(p: Omit<PreferenceRecord, "type">): PreferenceRecord {
  return {
    type: "preference",
    key: p.key,
    deviceId: p.deviceId,
    encrypted: p.encrypted,
    updatedAt: p.updatedAt,
  };
}

export function deviceRecord(d: Omit<DeviceRecord, "type">): DeviceRecord {
  return {
    type: "device",
    deviceId: d.deviceId,
    name: d.name,
    platform: d.platform,
    schemaVersion: d.schemaVersion,
    firstSeen: d.firstSeen,
    lastSeen: d.lastSeen,
    isActive: d.isActive,
  };
}

/** The record in its constructor's canonical form (for records that came from elsewhere). */
export function normalize(record: RemoteRecord): RemoteRecord {
  switch (record.type) {
    case "command":
      return commandRecord(record);
    case "preference":
      return preferenceRecord(record);
    case "device":
      return deviceRecord(record);
  }
}

/** The fields of each type's canonical form, in its constructor's order. */
const CANONICAL_FIELDS = {
  command: [
    "id",
    "deviceId",
    "encryptedPayload",
    "safetyLevel",
    "executed",
    "success",
    "createdAt",
    "executedAt",
    "deletedAt",
  ],
  preference: ["key", "deviceId", "encrypted", "updatedAt"],
  device: ["deviceId", "name", "platform", "schemaVersion", "firstSeen", "lastSeen", "isActive"],
} as const satisfies { [T in RemoteRecord["type"]]: readonly (keyof Extract<RemoteRecord, { type: T }>)[] };

/**
 * Every field of the canonical form strictly equal (===): then sameRecord() holds too. Cheap (no
 * serializing, no allocation): the common case of a record coming back unchanged (this device's
 * own records echoed by Jazz, a re-push) is told without building its JSON.
 */
export function identicalRecords(a: RemoteRecord, b: RemoteRecord): boolean {
  if (a.type !== b.type) return false;
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const field of CANONICAL_FIELDS[a.type]) if (x[field] !== y[field]) return false;
  return true;
}

/** The same canonical form (the JSON of normalize()). */
export function sameRecord(a: RemoteRecord, b: RemoteRecord): boolean {
  return identicalRecords(a, b) || JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

export function toPulledEntry(record: RemoteRecord): PulledEntry {
  switch (record.type) {
    case "command":
      return {
        id: record.id,
        type: "command",
        encrypted: record.encryptedPayload,
        metadata: {
          deviceId: record.deviceId,
          createdAt: record.createdAt,
          // The latest event in the command's life; the cursor says when it arrived here.
          updatedAt: Math.max(record.createdAt, record.executedAt ?? 0, record.deletedAt ?? 0),
          safetyLevel: record.safetyLevel,
          executed: record.executed,
          ...(record.success !== undefined && { success: record.success }),
          ...(record.executedAt !== undefined && { executedAt: record.executedAt }),
          ...(record.deletedAt !== undefined && { deletedAt: record.deletedAt }),
        },
      };
    case "preference":
      return {
        id: record.key,
        type: "preference",
        encrypted: record.encrypted,
        metadata: { deviceId: record.deviceId, createdAt: record.updatedAt, updatedAt: record.updatedAt },
      };
    case "device": {
      const { type: _type, ...device } = deviceRecord(record);
      return {
        id: record.deviceId,
        type: "device",
        encrypted: "",
        metadata: {
          deviceId: record.deviceId,
          createdAt: record.firstSeen,
          updatedAt: record.lastSeen,
          device,
        },
      };
    }
  }
}

export const ALL_TYPES: readonly EntryType[] = ["command", "preference", "device"];
