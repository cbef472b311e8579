// The daemon side of `caro-sync repair` (commands/repair.ts): waiting until the rebuilt cache has
// settled, and pushing salvaged records again through the ordinary methods (pushes are
// idempotent by id, merges monotone, so a record the rebuild already brought back changes nothing).
import { RpcError } from "../client/errors.js";
import { pushInBatches } from "../client/pushInBatches.js";
import type { SyncClient } from "../client/SyncClient.js";
import type { SyncState } from "../protocol.js";
import type { RemoteRecord } from "../sync/remote.js";

/** The rebuilt cache counts as settled once its entry count holds still this long. */
const QUIET_MS = 1_500;
const POLL_MS = 200;

export interface RepushResult {
  pushed: number;
  failed: number;
  /** Other devices' records: not this daemon's to write. */
  skipped: number;
  errors: { id: string; message: string }[];
}

export interface Settled {
  entries: number;
  state: SyncState;
  /** ONLINE, nothing queued and the count still: false when --wait ran out first. */
  settled: boolean;
}

/** Pushes salvaged records again: entries through sync.push, device changes through device.*. */
export async function repush(client: SyncClient, records: RemoteRecord[]): Promise<RepushResult> {
  const result: RepushResult = { pushed: 0, failed: 0, skipped: 0, errors: [] };
  const entries = records.flatMap((r) => (r.type === "device" ? [] : [pushEntryOf(r)]));
  if (entries.length > 0) {
    const pushed = await pushInBatches(client, entries);
    result.pushed += pushed.synced;
    result.failed += pushed.failed.length;
    result.errors.push(...pushed.errors.map(({ id, message }) => ({ id, message })));
  }
  const devices = records.filter((r) => r.type === "device");
  const self = devices.length > 0 ? (await client.status()).deviceId : null;
  for (const d of devices) {
    try {
      if (!d.isActive) await client.removeDevice({ deviceId: d.deviceId });
      else if (d.deviceId === self) await client.registerDevice({ name: d.name, platform: d.platform });
      else {
        result.skipped++;
        continue;
      }
      result.pushed++;
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      result.failed++;
      result.errors.push({ id: d.deviceId, message: err.message });
    }
  }
  return result;
}

/** A command or preference record as the sync.push entry that stores it again. */
function pushEntryOf(r: Exclude<RemoteRecord, { type: "device" }>): unknown {
  if (r.type === "preference")
    return {
      id: r.key,
      type: r.type,
      encrypted: r.encrypted,
      metadata: { deviceId: r.deviceId, updatedAt: r.updatedAt },
    };
  const { id, encryptedPayload, type: _type, ...metadata } = r;
  return { id, type: "command", encrypted: encryptedPayload, metadata };
}

/** Waits until the daemon is ONLINE with nothing queued and its entry count holds still. */
export async function settle(client: SyncClient, deadline: number): Promise<Settled> {
  let entries = -1;
  let stillSince = Date.now();
  for (;;) {
    const health = await client.health();
    const now = Date.now();
    if (health.cache.entries !== entries) {
      entries = health.cache.entries;
      stillSince = now;
    }
    const settled = health.state === "ONLINE" && health.queue.pending === 0 && now - stillSince >= QUIET_MS;
    if (settled || now >= deadline) return { entries, state: health.state, settled };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
