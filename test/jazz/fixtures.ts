// Shared setup for the Jazz suites: services with their own storage files, sample records, and a
// collector that gathers what onRecords delivers.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { WebSocket } from "ws";
import { JazzSyncService } from "../../src/jazz/JazzSyncService.js";
import { silentLogger, createLogger } from "../../src/log/logger.js";
import type { RemoteRecord, RemoteSession } from "../../src/sync/remote.js";
import { waitFor } from "../helpers/wait.js";

import type { CommandRecord } from "../helpers/records.js";
export type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
export type DeviceRecord = Extract<RemoteRecord, { type: "device" }>;

export function service(
  relayUrl: string,
  dir: string,
  name: string,
  extra: { connectTimeoutMs?: number; pingTimeoutMs?: number; shardEntries?: number } = {},
) {
  return new JazzSyncService({
    relayUrl,
    storagePath: join(dir, `${name}.jazz.db`),
    logger: process.env.DEBUG_JAZZ ? createLogger({ level: "debug" }) : silentLogger,
    WebSocket,
    loadTimeoutMs: 5_000,
    ...extra,
  });
}

export function newAuthKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

import { blob } from "../helpers/records.js";

export { blob, command, type CommandRecord } from "../helpers/records.js";

export function preference(key: string, updatedAt: number, deviceId: string): PreferenceRecord {
  return { type: "preference", key, deviceId, encrypted: blob(32), updatedAt };
}

export function device(deviceId: string, over: Partial<DeviceRecord> = {}): DeviceRecord {
  const now = Date.now();
  return {
    type: "device",
    deviceId,
    name: `host-${deviceId}`,
    platform: "linux",
    schemaVersion: 1,
    firstSeen: now,
    lastSeen: now,
    isActive: true,
    ...over,
  };
}

/** Gathers every delivery; `latest` keeps the last record per key (commands by id). */
export class Collector {
  readonly batches: RemoteRecord[][] = [];
  readonly latest = new Map<string, RemoteRecord>();
  readonly off: () => void;

  constructor(session: RemoteSession) {
    this.off = session.onRecords((records) => {
      this.batches.push(records);
      for (const r of records) this.latest.set(keyOf(r), r);
    });
  }

  get delivered(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }

  command(id: string): CommandRecord | undefined {
    return this.latest.get(`command:${id}`) as CommandRecord | undefined;
  }

  preference(key: string): PreferenceRecord | undefined {
    return this.latest.get(`preference:${key}`) as PreferenceRecord | undefined;
  }

  device(id: string): DeviceRecord | undefined {
    return this.latest.get(`device:${id}`) as DeviceRecord | undefined;
  }

  count(type: RemoteRecord["type"]): number {
    return [...this.latest.values()].filter((r) => r.type === type).length;
  }

  until<T>(what: string, check: (c: this) => T, timeoutMs = 10_000): Promise<NonNullable<T>> {
    return waitFor(() => check(this), { what, timeoutMs, intervalMs: 5 });
  }
}

export function keyOf(r: RemoteRecord): string {
  return r.type === "command"
    ? `command:${r.id}`
    : r.type === "preference"
      ? `preference:${r.key}`
      : `device:${r.deviceId}`;
}
