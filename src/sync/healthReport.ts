// sync.status and daemon.health as pure assembly of what each part knows: the connection machine
// (state, lastError, nextRetryAt, paused), sync progress (lastSync, the cursor handed out) and the
// cache (counts, sizes, whether it can be written). Also the queue TTL check, which health runs on
// every read so that `queue.failed` is current.
import type { Logger } from "../log/logger.js";
import { ErrorCode, type HealthResult, type StatusResult } from "../protocol.js";
import type { ConnectionState } from "./connectionMachine.js";
import type { IntegrityReport } from "./integrity.js";
import type { LocalCache } from "./localCache.js";
import type { SyncProgress } from "./progress.js";
import { describeStorageFault, StorageFaultError, type StorageFault } from "./storageFault.js";

export interface ReportSources {
  cache: LocalCache;
  connection: ConnectionState;
  progress: SyncProgress;
  /** The relay link is up. */
  connected: boolean;
  now: number;
}

export function statusReport(
  s: ReportSources & { identity: { deviceId: string; accountId: string } },
): StatusResult {
  const q = s.cache.queue.stats();
  return {
    state: s.connection.state,
    connected: s.connected,
    paused: s.connection.paused,
    lastSync: s.progress.lastSync,
    pendingUp: q.pending + q.failed,
    pendingDown: s.cache.entries.countAfter(s.progress.handedOutCursor),
    deviceId: s.identity.deviceId,
    accountId: s.identity.accountId,
  };
}

/**
 * `healthy` is false when the local storage cannot be written (the cache's probe, or the last write
 * of the cache or of the Remote's local storage failed with a storage fault and none succeeded
 * since), the last error is fatal (the credentials were refused, the identity cannot be used with
 * the relay, the account is not or only in part on the relay), or the completeness check found
 * part of the account neither here nor on the relay (integrity.ts).
 */
export function healthReport(
  s: ReportSources & {
    relay: string;
    latency: number | null;
    offlineQueueTtlMs: number;
    logger: Logger;
    /** The Remote's local storage (Jazz's SQLite file): its fault, or null. */
    remoteStorage: () => StorageFault | null;
    integrity: IntegrityReport;
  },
): Omit<HealthResult, "uptime"> {
  const fault = s.cache.probeStorage() ?? s.remoteStorage();
  const writable = fault === null;
  if (writable) expireQueue(s.cache, { now: s.now, ttlMs: s.offlineQueueTtlMs, logger: s.logger });
  const q = s.cache.queue.stats();
  const e = s.connection.lastError;
  return {
    healthy: writable && !e?.fatal && s.integrity.status !== "incomplete",
    state: s.connection.state,
    paused: s.connection.paused,
    jazz: { connected: s.connected, relay: s.relay, latency: s.latency },
    cache: {
      entries: s.cache.entries.count(),
      sizeBytes: s.cache.sizeBytes(),
      writable,
      error: fault && {
        code: ErrorCode.StorageUnavailable,
        reason: fault.reason,
        message: describeStorageFault(fault),
        at: fault.at,
      },
    },
    queue: {
      pending: q.pending,
      failed: q.failed,
      oldestAgeMs: q.oldestEnqueuedAt === null ? null : Math.max(0, s.now - q.oldestEnqueuedAt),
    },
    lastSync: s.progress.lastSync,
    lastError: e && { code: e.code, reason: e.reason, message: e.message, at: e.at },
    nextRetryAt: s.connection.retryAt,
    integrity: s.integrity,
  };
}

/**
 * Queue rows older than the TTL become failed: counted, kept, retried on the next connection. A
 * disk that refuses the write only postpones it (health and the timer run it again).
 */
export function expireQueue(cache: LocalCache, opts: { now: number; ttlMs: number; logger: Logger }): void {
  let moved: number;
  try {
    moved = cache.queue.expire(opts.now - opts.ttlMs);
  } catch (err) {
    if (!(err instanceof StorageFaultError)) throw err;
    opts.logger.warn({ err }, "queue TTL check postponed: the cache cannot be written");
    return;
  }
  if (moved > 0)
    opts.logger.warn({ count: moved }, "queued changes older than offlineQueueTtlMs marked failed");
}
