// The device registry (docs/protocol.md device.*): records merged by deviceId, this device's own record.
import { ErrorCode, SyncError, type DeviceInfo } from "../protocol.js";
import type { LocalCache } from "./localCache.js";
import { DEVICE_SCHEMA_VERSION, deviceRecord, type DeviceRecord } from "./records.js";

export function getDevice(cache: LocalCache, deviceId: string): DeviceRecord | undefined {
  const record = cache.entries.get({ type: "device", id: deviceId })?.record;
  return record?.type === "device" ? record : undefined;
}

/**
 * This device's record after (re-)registering with `name` and `platform`. lastSeen moves forward
 * even if the clock went back, so a rename wins the merge on other devices (newer lastSeen wins).
 */
export function registeredRecord(
  existing: DeviceRecord | undefined,
  opts: { deviceId: string; name: string; platform: string; now: number },
): DeviceRecord {
  const renamed = existing && (existing.name !== opts.name || existing.platform !== opts.platform);
  return deviceRecord({
    deviceId: opts.deviceId,
    name: opts.name,
    platform: opts.platform,
    schemaVersion: DEVICE_SCHEMA_VERSION,
    firstSeen: existing?.firstSeen ?? opts.now,
    lastSeen: existing ? Math.max(opts.now, existing.lastSeen + (renamed ? 1 : 0)) : opts.now,
    isActive: existing?.isActive ?? true,
  });
}

export function listDevices(cache: LocalCache, currentDeviceId: string): DeviceInfo[] {
  return cache.entries
    .all("device")
    .flatMap((e) => (e.record.type === "device" ? [e.record] : []))
    .map(({ type: _type, ...d }) => ({ ...d, isCurrentDevice: d.deviceId === currentDeviceId }));
}

/** The record marking `deviceId` inactive; -32602 for this device or an unknown one. */
export function removedRecord(cache: LocalCache, deviceId: string, currentDeviceId: string): DeviceRecord {
  if (deviceId === currentDeviceId) {
    throw new SyncError(ErrorCode.InvalidParams, "cannot remove the current device", {
      field: "deviceId",
      hint: "to leave sync on this device, run `caro-sync reset`",
    });
  }
  const existing = getDevice(cache, deviceId);
  if (!existing) throw new SyncError(ErrorCode.InvalidParams, "unknown device", { field: "deviceId" });
  return { ...existing, isActive: false };
}
