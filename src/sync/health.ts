// What SyncManager knows about its own condition, for sync.status and daemon.health: paused, last
// sync, last error (an auth failure is fatal: unhealthy), the retry schedule, the pull cursor
// handed out, and the queue's age (changes older than offlineQueueTtlMs are marked failed here).
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import {
  ErrorCode,
  type HealthResult,
  type LastError,
  type NotificationMap,
  type StatusResult,
  type SyncState,
} from "../protocol.js";
import type { Clock } from "./clock.js";
import type { LocalCache } from "./localCache.js";
import { RemoteConnectError, type ConnectFailure } from "./remote.js";

const META_PAUSED = "sync.paused";
const META_LAST_SYNC = "sync.lastSync";
const META_PULLED = "pull.lastCursor";

export class SyncHealth {
  paused = false;
  lastSync: number | null = null;
  nextRetryAt: number | null = null;
  private loaded = false;
  private lastError: (LastError & { fatal: boolean }) | null = null;
  /** The last error's sync.error, while it waits for the retry schedule (see setError). */
  private unannounced: { code: number; message: string } | null = null;
  /** Highest cursor handed out by sync.pull (pendingDown counts what is newer); saved at shutdown. */
  private pulledCursor = 0;
  /** Entries merged from the relay since the last completed sync round. */
  private pulledSinceRound = 0;

  constructor(
    private readonly deps: {
      cache: LocalCache;
      clock: Clock;
      logger: Logger;
      config: Pick<Config, "relay" | "offlineQueueTtlMs">;
      onError: (error: NotificationMap["sync.error"]) => void;
    },
  ) {}

  /** Reads what was persisted (start-up). */
  load(): void {
    this.loaded = true;
    const { meta } = this.deps.cache;
    this.paused = meta.get(META_PAUSED) === "1";
    this.lastSync = numberOrNull(meta.get(META_LAST_SYNC));
    this.pulledCursor = numberOrNull(meta.get(META_PULLED)) ?? 0;
  }

  /** Back to a fresh identity's condition (the cache was wiped). */
  clear(): void {
    this.paused = false;
    this.lastSync = null;
    this.nextRetryAt = null;
    this.lastError = null;
    this.unannounced = null;
    this.pulledCursor = 0;
    this.pulledSinceRound = 0;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.deps.cache.meta.set(META_PAUSED, "1");
    else this.deps.cache.meta.delete(META_PAUSED);
  }

  markSynced(): void {
    this.lastSync = this.deps.clock.now();
    this.deps.cache.meta.set(META_LAST_SYNC, String(this.lastSync));
  }

  notePulled(count: number): void {
    this.pulledSinceRound += count;
  }

  takePulled(): number {
    const n = this.pulledSinceRound;
    this.pulledSinceRound = 0;
    return n;
  }

  noteHandedOut(cursor: number): void {
    this.pulledCursor = Math.max(this.pulledCursor, cursor);
  }

  savePullCursor(): void {
    // A manager that never started (a second daemon refused at the socket) holds no cursor of its
    // own and must not overwrite the live daemon's.
    if (!this.loaded) return;
    this.deps.cache.meta.set(META_PULLED, String(this.pulledCursor));
  }

  clearError(): void {
    this.lastError = null;
    this.unannounced = null;
    this.nextRetryAt = null;
  }

  /**
   * Records the error and announces it (sync.error). `awaitSchedule`: a connection failure the
   * retry driver is about to schedule a retry for; it is announced by scheduleRetry(), so that
   * `retryInMs` is the delay of the attempt that follows it, not of the one that just failed.
   */
  setError(
    e: { code: number; message: string; fatal: boolean },
    opts: { awaitSchedule?: boolean } = {},
  ): void {
    this.lastError = { ...e, at: this.deps.clock.now() };
    this.unannounced = { code: e.code, message: e.message };
    if (!opts.awaitSchedule) this.announce();
  }

  /** The retry driver's schedule (null: no attempt planned); announces a failure waiting for it. */
  scheduleRetry(at: number | null): void {
    this.nextRetryAt = at;
    this.announce();
  }

  /** Emits sync.error for the last error not announced yet, with the current schedule. */
  announce(): void {
    const notice = this.unannounced;
    if (!notice) return;
    this.unannounced = null;
    const retryInMs =
      this.nextRetryAt === null ? null : Math.max(0, this.nextRetryAt - this.deps.clock.now());
    this.deps.onError({ ...notice, retryInMs });
  }

  /** Records a failed connection or session open; an auth failure is fatal. */
  recordFailure(err: unknown, opts: { awaitSchedule?: boolean } = {}): void {
    if (err instanceof RemoteConnectError) this.recordConnectFailure(err.failure, opts);
    else this.setError({ code: ErrorCode.NetworkUnreachable, message: messageOf(err), fatal: false }, opts);
  }

  /**
   * Auth failures and an account the relay does not know are fatal (unhealthy: the daemon cannot
   * sync), though the latter is still probed (see retryPolicy.ts).
   */
  recordConnectFailure(failure: ConnectFailure, opts: { awaitSchedule?: boolean } = {}): void {
    const credentials = failure.kind === "auth" || failure.kind === "accountNotFound";
    this.setError(
      {
        code: credentials ? ErrorCode.InvalidCredentials : ErrorCode.NetworkUnreachable,
        message: failure.message,
        fatal: credentials,
      },
      opts,
    );
  }

  /** Queue rows older than the TTL become failed: counted, kept, retried on the next connection. */
  expireQueue(): void {
    const { cache, clock, config, logger } = this.deps;
    const moved = cache.queue.expire(clock.now() - config.offlineQueueTtlMs);
    if (moved > 0) logger.warn({ count: moved }, "queued changes older than offlineQueueTtlMs marked failed");
  }

  status(opts: { state: SyncState; connected: boolean; deviceId: string; accountId: string }): StatusResult {
    const { cache } = this.deps;
    const q = cache.queue.stats();
    return {
      state: opts.state,
      connected: opts.connected,
      paused: this.paused,
      lastSync: this.lastSync,
      pendingUp: q.pending + q.failed,
      pendingDown: cache.entries.countAfter(this.pulledCursor),
      deviceId: opts.deviceId,
      accountId: opts.accountId,
    };
  }

  report(opts: {
    state: SyncState;
    connected: boolean;
    latency: number | null;
  }): Omit<HealthResult, "uptime"> {
    const { cache, clock, config } = this.deps;
    const writable = cache.probeWritable();
    if (writable) this.expireQueue();
    const q = cache.queue.stats();
    const e = this.lastError;
    return {
      healthy: writable && !e?.fatal,
      state: opts.state,
      paused: this.paused,
      jazz: { connected: opts.connected, relay: config.relay, latency: opts.latency },
      cache: { entries: cache.entries.count(), sizeBytes: cache.sizeBytes(), writable },
      queue: {
        pending: q.pending,
        failed: q.failed,
        oldestAgeMs: q.oldestEnqueuedAt === null ? null : Math.max(0, clock.now() - q.oldestEnqueuedAt),
      },
      lastSync: this.lastSync,
      lastError: e && { code: e.code, message: e.message, at: e.at },
      nextRetryAt: this.nextRetryAt,
    };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function numberOrNull(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}
