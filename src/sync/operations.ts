// The entry methods behind sync.push / pull / delete and device.*: validation, the rate limit,
// merging into the cache (one transaction per request, durable before the answer) and waiting for
// the relay on `ack: "relay"`. SyncManager checks the state and hands in the current device.
import type { Logger } from "../log/logger.js";
import { ErrorCode, type DeviceInfo, type ParamsOf, type PullResult, type PushResult } from "../protocol.js";
import { applyChanges, type ApplyResult, type Change } from "./apply.js";
import type { Clock } from "./clock.js";
import { getDevice, listDevices, registeredRecord, removedRecord } from "./devices.js";
import type { LocalCache } from "./localCache.js";
import { pullPage } from "./pull.js";
import { PushOutcome } from "./pushOutcome.js";
import type { TokenBucket } from "./rateLimit.js";
import type { RemoteLink } from "./remoteLink.js";
import { StorageFaultError } from "./storageFault.js";
import { validatePushEntry } from "./validate.js";

/** This device's record is refreshed at most this often (docs/protocol.md: no more than once a minute). */
const LAST_SEEN_MIN_INTERVAL_MS = 60_000;

export class EntryOperations {
  constructor(
    private readonly deps: {
      cache: LocalCache;
      clock: Clock;
      logger: Logger;
      bucket: TokenBucket;
      link: RemoteLink;
      pushTimeoutMs: number;
      /** After a local change landed (notify, evict, upload). */
      onLocalChange: (count: number, cursor: number) => void;
    },
  ) {}

  /** `signal`: the client went away; an `ack: "relay"` wait ends at once (the entries stay queued). */
  async push(
    params: { entries: unknown[]; ack?: "local" | "relay" },
    opts: { signal?: AbortSignal } = {},
  ): Promise<PushResult> {
    const { bucket, link } = this.deps;
    bucket.take(params.entries.length);
    const outcome = new PushOutcome();
    const changes: Change[] = [];
    params.entries.forEach((raw, index) => {
      const v = validatePushEntry(raw, index);
      if (v.ok) changes.push({ label: v.id, record: v.record });
      else outcome.fail(v.id, v.code, v.message);
    });
    const result = this.applyLocal(changes);
    for (const c of result.conflicts) outcome.fail(c.label, ErrorCode.InvalidParams, c.message);
    outcome.accept(result.accepted);
    if (params.ack === "relay" && result.accepted.length > 0) {
      // With no Remote nothing can ever confirm: answer at once, the entries stay queued.
      const timeout = link.hasRemote ? this.deps.pushTimeoutMs : 0;
      const unconfirmed = await link.waitConfirmed(
        result.accepted.map((a) => a.key),
        timeout,
        opts.signal,
      );
      outcome.unconfirmed(unconfirmed, "not confirmed by the relay in time; the entry stays queued");
    }
    return outcome.result();
  }

  pull(params: ParamsOf<"sync.pull">): PullResult {
    return pullPage(this.deps.cache, params ?? {}, this.deps.clock.now());
  }

  /** Sets deletedAt = now on the known commands among `ids` (tombstones, pushed like any change). */
  deleteCommands(ids: readonly string[]): { deleted: number } {
    this.deps.bucket.take(ids.length);
    const now = this.deps.clock.now();
    const changes: Change[] = [];
    for (const id of ids) {
      const stored = this.deps.cache.entries.get({ type: "command", id: id.toLowerCase() });
      // An evicted command has no payload left to write a tombstone with (docs/architecture.md).
      if (!stored || stored.evicted || stored.record.type !== "command") continue;
      changes.push({ label: id, record: { ...stored.record, deletedAt: stored.record.deletedAt ?? now } });
    }
    return { deleted: this.applyLocal(changes).accepted.length };
  }

  registerDevice(device: { deviceId: string; name: string; platform: string }): number {
    const now = this.deps.clock.now();
    const record = registeredRecord(getDevice(this.deps.cache, device.deviceId), { ...device, now });
    this.applyLocal([{ label: device.deviceId, record }]);
    return now;
  }

  /**
   * Refreshes this device's lastSeen unless it was refreshed less than a minute ago. Best effort:
   * on a cache that cannot be written it waits for the next refresh.
   */
  touchLastSeen(device: { deviceId: string; name: string; platform: string }): void {
    const own = getDevice(this.deps.cache, device.deviceId);
    if (own && this.deps.clock.now() - own.lastSeen < LAST_SEEN_MIN_INTERVAL_MS) return;
    try {
      this.registerDevice({
        deviceId: device.deviceId,
        name: own?.name ?? device.name,
        platform: own?.platform ?? device.platform,
      });
    } catch (err) {
      if (!(err instanceof StorageFaultError)) throw err;
      this.deps.logger.warn({ err }, "lastSeen not refreshed: the cache cannot be written");
    }
  }

  listDevices(currentDeviceId: string): DeviceInfo[] {
    return listDevices(this.deps.cache, currentDeviceId);
  }

  removeDevice(deviceId: string, currentDeviceId: string): void {
    this.applyLocal([{ label: deviceId, record: removedRecord(this.deps.cache, deviceId, currentDeviceId) }]);
  }

  /** Applies local changes, each changed entry queued for the relay in the same transaction. */
  private applyLocal(changes: Change[]): ApplyResult {
    const result = applyChanges(this.deps.cache, changes, {
      now: this.deps.clock.now(),
      enqueue: true,
      logger: this.deps.logger,
    });
    if (result.changed > 0 && result.lastCursor !== null)
      this.deps.onLocalChange(result.changed, result.lastCursor);
    return result;
  }
}
