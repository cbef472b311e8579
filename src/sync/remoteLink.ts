// The daemon's one RemoteSession and what goes over it: opening and closing it, one connection
// attempt at a time, uploads of the queue (queueUpload.ts), and `sync.push {ack: "relay"}` waiting
// for confirmation. It decides nothing (the connection machine does) and keeps nothing of the cache
// (records from the relay go to whoever subscribed with onRecords).
import type { Logger } from "../log/logger.js";
import type { Clock } from "./clock.js";
import { withDeadline } from "./deadline.js";
import type { EntryKey, LocalCache } from "./localCache.js";
import { QueueUploader, type UploadResult } from "./queueUpload.js";
import type {
  ConnectFailure,
  Remote,
  RemoteIdentity,
  RemoteHoldings,
  RemoteInventory,
  RemoteRecord,
  RemoteSession,
} from "./remote.js";

interface Waiter {
  /** Looks at the queue again (after a confirmation). */
  check(): void;
  /** Ends the wait now (the session closed: nothing more will be confirmed). */
  release(): void;
}

export class RemoteLink {
  private session: RemoteSession | null = null;
  private isConnected = false;
  private unsubscribe: (() => void)[] = [];
  private uploader: QueueUploader;
  private readonly waiters = new Set<Waiter>();
  private readonly recordListeners = new Set<(records: RemoteRecord[]) => void>();
  private readonly dropListeners = new Set<(failure: ConnectFailure) => void>();
  private readonly confirmListeners = new Set<(count: number) => void>();

  constructor(
    private readonly deps: {
      remote: Remote | null;
      cache: LocalCache;
      clock: Clock;
      logger: Logger;
      /** How long one upload waits for the relay's confirmation. */
      uploadTimeoutMs: number;
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

  /** Records delivered by whichever session is open (each open replays the root). */
  onRecords(listener: (records: RemoteRecord[]) => void): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  /** An established connection dropped (never after disconnect() or close()). */
  onDisconnected(listener: (failure: ConnectFailure) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /** The relay confirmed `count` queued changes (their queue rows are gone). */
  onConfirmed(listener: (count: number) => void): () => void {
    this.confirmListeners.add(listener);
    return () => this.confirmListeners.delete(listener);
  }

  /** Opens the account's session (Jazz local storage; no network needed), replacing any open one. */
  async open(identity: RemoteIdentity, mode: "create" | "join"): Promise<void> {
    if (!this.deps.remote) throw new Error("no Remote is configured");
    await this.close();
    this.uploader = this.newUploader();
    const session = await this.deps.remote.open({ identity, mode });
    this.session = session;
    this.unsubscribe = [
      session.onRecords((records) => {
        for (const listener of [...this.recordListeners]) listener(records);
      }),
      session.onDisconnected((failure) => {
        if (!this.isConnected) return;
        this.isConnected = false;
        for (const listener of [...this.dropListeners]) listener(failure);
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

  /** Uploads the queue if connected; otherwise confirms nothing. Callers during a run share it. */
  upload(): Promise<UploadResult> {
    if (!this.session || !this.isConnected) return Promise.resolve({ confirmed: 0, error: null });
    return this.uploader.upload(this.session);
  }

  /** Resolves once the open session has delivered what it holds (RemoteSession.untilDelivered). */
  async untilDelivered(): Promise<void> {
    await this.session?.untilDelivered?.();
  }

  /** What is missing where (RemoteSession.holdings); null when no session is open. */
  async holdings(timeoutMs: number): Promise<RemoteHoldings | null> {
    return this.session ? await this.session.holdings({ timeoutMs }) : null;
  }

  /** What is held where (RemoteSession.inventory); null when no session is open. */
  async inventory(timeoutMs: number): Promise<RemoteInventory | null> {
    return this.session ? await this.session.inventory({ timeoutMs }) : null;
  }

  /**
   * Waits until none of `keys` is queued any more, or `timeoutMs` passes (on the clock), or
   * `signal` aborts (the client asking went away), or the session closes. Resolves with the keys
   * still queued; they stay queued either way.
   */
  async waitConfirmed(
    keys: readonly EntryKey[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<EntryKey[]> {
    const queued = (): EntryKey[] => keys.filter((k) => this.deps.cache.queue.has(k));
    if (queued().length === 0 || !this.session) return queued();
    let waiter!: Waiter;
    const confirmed = new Promise<void>((resolve) => {
      waiter = { check: () => queued().length === 0 && resolve(), release: resolve };
    });
    this.waiters.add(waiter);
    try {
      await withDeadline(confirmed, {
        ms: timeoutMs,
        clock: this.deps.clock,
        signal,
        onTimeout: () => undefined,
      });
    } finally {
      this.waiters.delete(waiter);
    }
    return queued();
  }

  /** Stops uploads, releases waiters and closes the session. Safe to call more than once. */
  async close(): Promise<void> {
    this.uploader.stop();
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    const session = this.session;
    this.session = null;
    this.isConnected = false;
    for (const waiter of [...this.waiters]) waiter.release();
    if (session) await session.close();
  }

  private newUploader(): QueueUploader {
    return new QueueUploader({
      cache: this.deps.cache,
      uploadTimeoutMs: this.deps.uploadTimeoutMs,
      onConfirmed: (count) => {
        for (const waiter of [...this.waiters]) waiter.check();
        for (const listener of [...this.confirmListeners]) listener(count);
      },
    });
  }
}
