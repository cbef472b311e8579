// How far syncing has come, for sync.status, daemon.health and sync.complete: the last sync with
// the relay, the highest cursor sync.pull has handed out (pendingDown counts what is newer), and
// the entries merged from the relay since the last sync round. The first two are kept in the
// cache's meta table across restarts.
import type { Clock } from "./clock.js";
import type { LocalCache } from "./localCache.js";
import { StorageFaultError } from "./storageFault.js";

const META_LAST_SYNC = "sync.lastSync";
const META_PULLED = "pull.lastCursor";

export class SyncProgress {
  private loaded = false;
  private lastSyncAt: number | null = null;
  private handedOut = 0;
  private pulledSinceRound = 0;

  constructor(
    private readonly cache: LocalCache,
    private readonly clock: Clock,
  ) {}

  /** Last successful sync with the relay (Unix ms), or null. Not a cursor. */
  get lastSync(): number | null {
    return this.lastSyncAt;
  }

  /** Highest cursor any sync.pull has handed out (daemon-wide). */
  get handedOutCursor(): number {
    return this.handedOut;
  }

  /** Reads what was persisted (start-up). */
  load(): void {
    this.loaded = true;
    this.lastSyncAt = numberOrNull(this.cache.meta.get(META_LAST_SYNC));
    this.handedOut = numberOrNull(this.cache.meta.get(META_PULLED)) ?? 0;
  }

  /** Back to a fresh identity's progress (the cache was wiped). */
  clear(): void {
    this.lastSyncAt = null;
    this.handedOut = 0;
    this.pulledSinceRound = 0;
  }

  /**
   * Best effort on disk: a cache that cannot be written (StorageFaultError, which health reports)
   * keeps the time in memory only, and the next sync stores it.
   */
  markSynced(): void {
    this.lastSyncAt = this.clock.now();
    try {
      this.cache.meta.set(META_LAST_SYNC, String(this.lastSyncAt));
    } catch (err) {
      if (!(err instanceof StorageFaultError)) throw err;
    }
  }

  notePulled(count: number): void {
    this.pulledSinceRound += count;
  }

  /** Entries merged from the relay since the previous call. */
  takePulled(): number {
    const n = this.pulledSinceRound;
    this.pulledSinceRound = 0;
    return n;
  }

  noteHandedOut(cursor: number): void {
    this.handedOut = Math.max(this.handedOut, cursor);
  }

  /** Saved at shutdown (not on every pull: pulls stay read-only). */
  saveHandedOut(): void {
    // A manager that never started (a second daemon refused at the socket) holds no cursor of its
    // own and must not overwrite the live daemon's.
    if (!this.loaded) return;
    this.cache.meta.set(META_PULLED, String(this.handedOut));
  }
}

function numberOrNull(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}
