// The daemon's side of the Remote: owns the RemoteSession, merges the records it delivers into the
// cache, uploads the queue while connected, and lets `sync.push {ack: "relay"}` wait for
// confirmation. It never decides when to connect: that is the retry driver's job (SyncManager.connect).
import type { Logger } from "../log/logger.js";
import { applyChanges } from "./apply.js";
import type { Clock, TimerHandle } from "./clock.js";
import type { EntryKey, LocalCache } from "./localCache.js";
import { Uploader, type FlushResult } from "./queue.js";
import { remoteRecordSchema } from "./records.js";
import type { ConnectFailure, Remote, RemoteIdentity, RemoteRecord, RemoteSession } from "./remote.js";

export interface RemoteLinkEvents {
  /** Records from the relay changed `count` entries; the newest has `cursor`. */
  onRemoteEntries(count: number, cursor: number): void;
  /** The relay confirmed `count` queued changes. */
  onConfirmed(count: number): void;
  /** An established connection dropped (not after disconnect()). */
  onDisconnected(failure: ConnectFailure): void;
}

export class RemoteLink {
  private session: RemoteSession | null = null;
  private isConnected = false;
  private unsubscribe: (() => void)[] = [];
  private uploader: Uploader;
  private readonly waiters = new Set<{ check: () => void; done: () => void }>();

  constructor(
    private readonly deps: {
      remote: Remote | null;
      cache: LocalCache;
      clock: Clock;
      logger: Logger;
      uploadTimeoutMs: number;
      events: RemoteLinkEvents;
    },
  ) {
    this.uploader = this.newUploader();
  }

  get hasRemote(): boolean {
    return this.deps.remote !== null;
  }

  get hasSession(): boolean {
    return this.session !== null;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  syncRootId(): string | null {
    return this.session?.syncRootId() ?? null;
  }

  latencyMs(): number | null {
    return this.isConnected ? (this.session?.latencyMs() ?? null) : null;
  }

  /** Opens the account's session (Jazz local storage; no network needed) and subscribes to it. */
  async open(identity: RemoteIdentity, mode: "create" | "join"): Promise<void> {
    if (!this.deps.remote) throw new Error("no Remote is configured");
    await this.close();
    this.uploader = this.newUploader();
    const session = await this.deps.remote.open({ identity, mode });
    this.session = session;
    this.unsubscribe = [
      session.onRecords((records) => this.mergeRemote(records)),
      session.onDisconnected((failure) => {
        if (!this.isConnected) return;
        this.isConnected = false;
        this.deps.events.onDisconnected(failure);
      }),
    ];
  }

  /** One connection attempt; rejects with the session's RemoteConnectError. */
  async connect(signal?: AbortSignal): Promise<void> {
    if (!this.session) throw new Error("no remote session is open");
    await this.session.connect(signal);
    this.isConnected = true;
  }

  disconnect(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.session?.disconnect();
  }

  /** Uploads the queue if connected; otherwise confirms nothing. Callers during a run share its promise. */
  flush(): Promise<FlushResult> {
    if (!this.session || !this.isConnected) return Promise.resolve({ confirmed: 0, error: null });
    return this.uploader.flush(this.session);
  }

  /**
   * Waits until none of `keys` is queued any more, or `timeoutMs` passes (on the clock), or the
   * link closes. Resolves with the keys still queued.
   */
  waitConfirmed(keys: readonly EntryKey[], timeoutMs: number): Promise<EntryKey[]> {
    const queued = (): EntryKey[] => keys.filter((k) => this.deps.cache.queue.has(k));
    let left = queued();
    if (left.length === 0 || timeoutMs <= 0 || !this.session) return Promise.resolve(left);
    return new Promise((resolve) => {
      const waiter = {
        check: (): void => {
          left = queued();
          if (left.length === 0) waiter.done();
        },
        done: (): void => {
          this.waiters.delete(waiter);
          this.deps.clock.clearTimeout(timer);
          resolve(left);
        },
      };
      const timer: TimerHandle = this.deps.clock.setTimeout(() => waiter.done(), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Stops uploads, releases waiters and closes the session. Safe to call more than once. */
  async close(): Promise<void> {
    this.uploader.stop();
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    const session = this.session;
    this.session = null;
    this.isConnected = false;
    this.releaseWaiters();
    if (session) await session.close();
  }

  /** With no session nothing more will be confirmed: waiters resolve with what is still queued. */
  private releaseWaiters(): void {
    for (const waiter of [...this.waiters]) {
      waiter.check();
      waiter.done();
    }
  }

  private newUploader(): Uploader {
    return new Uploader({
      cache: this.deps.cache,
      uploadTimeoutMs: this.deps.uploadTimeoutMs,
      onConfirmed: (count) => {
        for (const waiter of [...this.waiters]) waiter.check();
        this.deps.events.onConfirmed(count);
      },
    });
  }

  private mergeRemote(records: RemoteRecord[]): void {
    // Whatever another client wrote into the account must not poison the cache or stop the daemon:
    // malformed records are skipped; a failing batch is logged (it comes again on the next replay).
    const valid = records.filter((record) => {
      const ok = remoteRecordSchema.safeParse(record).success;
      if (!ok)
        this.deps.logger.warn(
          { type: (record as { type?: unknown } | null)?.type },
          "skipped a malformed record",
        );
      return ok;
    });
    try {
      const result = applyChanges(
        this.deps.cache,
        valid.map((record) => ({ label: "remote", record })),
        { now: this.deps.clock.now(), enqueue: false, logger: this.deps.logger },
      );
      if (result.changed > 0 && result.lastCursor !== null)
        this.deps.events.onRemoteEntries(result.changed, result.lastCursor);
    } catch (err) {
      this.deps.logger.error({ err, count: records.length }, "could not merge records from the relay");
    }
  }
}
