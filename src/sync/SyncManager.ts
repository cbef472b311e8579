// SyncManager (seed): the state machine, the sync.* and device.* methods, and the coordination of
// the local cache with the Remote. Pure domain code: the cache, the credentials store, the Remote
// and the clock come in through SyncManagerDeps.
//
// Connectivity seam: SyncManager never decides when to connect. The retry driver listens for
// "connectionWanted", checks wantsConnection() and calls connect() for one attempt (it rejects with
// the RemoteConnectError classifying the failure); it reports its schedule with setNextRetryAt().
// connect(), disconnect() and onDisconnected() have RemoteSession's signatures, so the driver can
// take the manager where it expects a session. A dropped connection moves ONLINE → OFFLINE.
import { randomUUID } from "node:crypto";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import {
  ErrorCode,
  SyncError,
  TIMEOUTS,
  type DeviceInfo,
  type HealthResult,
  type InitResult,
  type ParamsOf,
  type PullResult,
  type PushResult,
  type StatusResult,
  type SyncState,
} from "../protocol.js";
import type { Clock } from "./clock.js";
import type { CredentialStore, Credentials } from "./credentials.js";
import { Connectivity } from "./connectivity.js";
import { Emitter, type SyncEvents } from "./events.js";
import { SyncHealth } from "./health.js";
import { identityForInit, localDeriveIdentity, type DeriveIdentity } from "./identity.js";
import type { LocalCache } from "./localCache.js";
import { EntryOperations } from "./operations.js";
import { TokenBucket } from "./rateLimit.js";
import { RemoteConnectError, type ConnectFailure, type Remote } from "./remote.js";
import { RemoteLink } from "./remoteLink.js";
import { StateMachine } from "./stateMachine.js";
import { SyncTimers } from "./timers.js";

export type { SyncEvents } from "./events.js";

export interface SyncManagerDeps {
  cache: LocalCache;
  credentials: CredentialStore;
  remote: Remote | null;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, "relay" | "cacheMaxSize" | "offlineQueueTtlMs" | "pushRatePerSecond" | "pushBurst">;
  /** Identity derivation when there is no Remote (default: localDeriveIdentity). */
  deriveIdentity?: DeriveIdentity;
  /** How long `sync.push {ack: "relay"}` and one upload wait for the relay (default 55 s). */
  pushTimeoutMs?: number;
}

/**
 * Default wait of `ack: "relay"`: the answer listing unconfirmed entries (-32003) must reach the
 * client before its own push timeout (TIMEOUTS.push, 60 s, SPEC §4) gives up on the call, or the
 * client sees a timeout instead of the answer. 5 s covers storing a full request first.
 */
export const RELAY_ACK_WAIT_MS = TIMEOUTS.push - 5_000;

export class SyncManager {
  private readonly machine: StateMachine;
  private readonly emitter: Emitter<SyncEvents>;
  private readonly health: SyncHealth;
  private readonly link: RemoteLink;
  private readonly ops: EntryOperations;
  private readonly timers: SyncTimers;
  private readonly derive: DeriveIdentity;
  private creds: Credentials | null = null;
  private readonly net: Connectivity;
  private closing: Promise<void> | null = null;

  /** Builds a manager on opened stores (cache/index.ts openLocalStores); call start() next. */
  static open(deps: SyncManagerDeps): Promise<SyncManager> {
    return Promise.resolve(new SyncManager(deps));
  }

  constructor(private readonly deps: SyncManagerDeps) {
    const { cache, clock, logger, config, remote } = deps;
    const pushTimeoutMs = deps.pushTimeoutMs ?? RELAY_ACK_WAIT_MS;
    this.emitter = new Emitter((err) => logger.error({ err }, "sync event listener failed"));
    this.machine = new StateMachine((from, to) => {
      logger.info({ from, to }, "sync state changed");
      this.emitter.emit("stateChange", { from, to, at: clock.now() });
    });
    this.health = new SyncHealth({
      cache,
      clock,
      logger,
      config,
      onError: (e) => this.emitter.emit("error", e),
    });
    this.derive = remote ? (key) => remote.deriveIdentity(key) : (deps.deriveIdentity ?? localDeriveIdentity);
    this.timers = new SyncTimers(clock, logger);
    this.link = new RemoteLink({
      remote,
      cache,
      clock,
      logger,
      uploadTimeoutMs: pushTimeoutMs,
      events: {
        onRemoteEntries: (count, cursor) => {
          this.health.notePulled(count);
          this.emitter.emit("entries", { count, cursor });
          this.evictIfNeeded();
        },
        onConfirmed: () => {
          this.health.markSynced();
          this.evictIfNeeded();
        },
        onDisconnected: (failure) => this.net.handleDisconnect(failure),
      },
    });
    this.ops = new EntryOperations({
      cache,
      clock,
      logger,
      bucket: new TokenBucket({ ratePerSecond: config.pushRatePerSecond, burst: config.pushBurst, clock }),
      link: this.link,
      pushTimeoutMs,
      onLocalChange: (count, cursor) => {
        this.emitter.emit("entries", { count, cursor });
        this.evictIfNeeded();
        if (this.link.connected) void this.net.flush();
      },
    });
    this.net = new Connectivity({
      link: this.link,
      machine: this.machine,
      health: this.health,
      timers: this.timers,
      emitter: this.emitter,
      clock,
      logger,
      offlineQueueTtlMs: config.offlineQueueTtlMs,
      identity: () => this.creds,
      onRootId: (syncRootId) => this.creds && this.saveCredentials({ ...this.creds, syncRootId }),
      touchLastSeen: () => {
        const c = this.creds;
        if (c) this.ops.touchLastSeen({ deviceId: c.deviceId, name: c.deviceName, platform: c.platform });
      },
      closing: () => this.closing !== null,
    });
  }

  get state(): SyncState {
    return this.machine.state;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof SyncEvents>(event: E, listener: (payload: SyncEvents[E]) => void): () => void;
  /** For callers mapping event names generically (main.ts); the payload is SyncEvents[event]. */
  on(event: keyof SyncEvents, listener: (payload: never) => void): () => void;
  on(event: keyof SyncEvents, listener: (payload: never) => void): () => void {
    return this.emitter.on(event, listener as (payload: unknown) => void);
  }

  /**
   * Loads the stored identity: stays UNINITIALIZED without one, else INITIALIZING → OFFLINE.
   * Throws CredentialsError when the credentials file is unsafe or unreadable (a start-up error).
   */
  async start(): Promise<void> {
    const creds = this.deps.credentials.load();
    this.health.load();
    if (!creds) return;
    this.creds = creds;
    this.machine.transition("INITIALIZING");
    await this.net.openSession();
    this.net.becomeOffline("start");
  }

  async init(params: ParamsOf<"sync.init">): Promise<InitResult> {
    if (this.state !== "UNINITIALIZED") {
      throw new SyncError(ErrorCode.AlreadyInitialized, undefined, {
        hint: "this device already has a sync identity; run `caro-sync reset` first to replace it",
      });
    }
    const mode = initMode(params);
    const checkable = this.deps.remote !== null || this.deps.deriveIdentity !== undefined;
    const identity = identityForInit(params, this.derive, checkable);
    this.machine.transition("INITIALIZING");
    const creds: Credentials = {
      version: 1,
      ...identity,
      deviceId: randomUUID(),
      deviceName: params.deviceName,
      platform: params.platform,
      createdAt: this.deps.clock.now(),
      syncRootId: null,
      mode,
    };
    try {
      // Leftovers of an earlier identity (an interrupted reset) must not leak into this one.
      this.deps.cache.wipe();
      this.deps.credentials.save(creds);
      this.creds = creds;
      this.health.clear();
      this.ops.registerDevice({ deviceId: creds.deviceId, name: creds.deviceName, platform: creds.platform });
    } catch (err) {
      // Nothing half-done stays behind: no identity, back to UNINITIALIZED.
      this.creds = null;
      this.deps.credentials.remove();
      this.machine.transition("UNINITIALIZED");
      throw err;
    }
    const failure = await this.net.openSession();
    if (mode === "join" && isAccountNotFound(failure)) {
      // The relay answered and does not know the account: a wrong phrase, or a first device that
      // never uploaded. Nothing of this attempt stays behind.
      await this.forgetIdentity();
      throw new SyncError(ErrorCode.InvalidCredentials, "the relay has no account for this recovery phrase", {
        reason: "account_not_found",
        hint: "check the phrase, or run `caro-sync init` on your first device and let it reach the relay",
      });
    }
    this.net.becomeOffline("init");
    const { deviceId, syncRootId, accountId } = this.creds;
    return { success: true, deviceId, syncRootId, accountId, state: this.state };
  }

  status(): StatusResult {
    const { deviceId, accountId } = this.requireReady();
    return this.health.status({ state: this.state, connected: this.link.connected, deviceId, accountId });
  }

  async push(params: { entries: unknown[]; ack?: "local" | "relay" }): Promise<PushResult> {
    this.requireReady();
    return await this.ops.push(params);
  }

  pull(params: ParamsOf<"sync.pull">): PullResult {
    this.requireReady();
    const result = this.ops.pull(params);
    if (result.nextCursor !== null && result.entries.length > 0) this.health.noteHandedOut(result.nextCursor);
    return result;
  }

  deleteCommands(ids: readonly string[]): { deleted: number } {
    this.requireReady();
    return this.ops.deleteCommands(ids);
  }

  async syncNow(): Promise<{ pushed: number; pulled: number }> {
    this.requireReady();
    if (this.health.paused)
      throw new SyncError(ErrorCode.NetworkUnreachable, "sync is paused", { hint: "run `caro-sync resume`" });
    if (!this.link.connected) {
      throw new SyncError(ErrorCode.NetworkUnreachable, undefined, {
        hint: this.link.hasRemote
          ? "the relay is not reachable; pushes stay queued and are uploaded when it is (see `caro-sync health`)"
          : "this daemon runs without a relay; pushes stay queued in the local cache",
      });
    }
    const round = await this.net.flush();
    if (round.failed) {
      throw new SyncError(ErrorCode.NetworkUnreachable, "the relay did not confirm the upload", {
        hint: "the entries stay queued and are retried",
      });
    }
    this.health.markSynced();
    return { pushed: round.pushed, pulled: round.pulled };
  }

  pause(): { paused: true } {
    this.requireReady();
    this.health.setPaused(true);
    this.disconnect();
    // The driver goes idle at its next tick; health must not show an attempt that will not come.
    this.health.scheduleRetry(null);
    return { paused: true };
  }

  resume(): { paused: false } {
    this.requireReady();
    this.health.setPaused(false);
    this.emitter.emit("connectionWanted", { reason: "resume" });
    return { paused: false };
  }

  /** Forgets the identity, the cache and the queue on this device; state → UNINITIALIZED. */
  async reset(): Promise<{ reset: true }> {
    if (this.state !== "ONLINE" && this.state !== "OFFLINE") this.requireReady();
    await this.forgetIdentity();
    return { reset: true };
  }

  /** Closes the session and deletes the identity and every local trace of it; → UNINITIALIZED. */
  private async forgetIdentity(): Promise<void> {
    this.timers.stopAll();
    try {
      await this.link.close();
    } catch (err) {
      this.deps.logger.warn({ err }, "closing the remote session failed during reset");
    }
    // Credentials first: a crash before the wipe leaves a stale cache, which init wipes.
    this.deps.credentials.remove();
    this.deps.cache.wipe();
    try {
      await this.deps.remote?.forgetLocalData();
    } catch (err) {
      this.deps.logger.warn({ err }, "deleting the remote's local data failed during reset");
    }
    this.creds = null;
    this.health.clear();
    this.machine.transition("UNINITIALIZED");
  }

  registerDevice(params: { name: string; platform: string }): { deviceId: string; registeredAt: number } {
    const creds = this.requireReady();
    const registeredAt = this.ops.registerDevice({ deviceId: creds.deviceId, ...params });
    if (creds.deviceName !== params.name || creds.platform !== params.platform)
      this.saveCredentials({ ...creds, deviceName: params.name, platform: params.platform });
    return { deviceId: creds.deviceId, registeredAt };
  }

  listDevices(): { devices: DeviceInfo[] } {
    return { devices: this.ops.listDevices(this.requireReady().deviceId) };
  }

  removeDevice(deviceId: string): { removed: true } {
    this.ops.removeDevice(deviceId, this.requireReady().deviceId);
    return { removed: true };
  }

  // ---- connectivity seam (for the retry driver) ------------------------------------------------

  /** True when an attempt makes sense: OFFLINE, not paused, a Remote configured, not closing. */
  wantsConnection(): boolean {
    return this.net.wantsConnection();
  }

  /**
   * One connection attempt. Resolves when ONLINE (the queue is then replayed in the background);
   * rejects with the RemoteConnectError classifying the failure (recorded as lastError, an auth
   * failure as fatal), or with SyncError -32003 when no attempt can be made now.
   */
  connect(signal?: AbortSignal): Promise<void> {
    return this.net.connect(signal);
  }

  /** Drops the relay connection without pausing: ONLINE → OFFLINE. */
  disconnect(): void {
    this.net.disconnect();
  }

  /** An established connection dropped (not after disconnect()); returns the unsubscribe function. */
  onDisconnected(listener: (failure: ConnectFailure) => void): () => void {
    return this.emitter.on("disconnected", listener);
  }

  /**
   * The retry driver's schedule, reported by health (null: no attempt scheduled). Called after
   * each failed attempt or drop; the failure's sync.error goes out now, with `retryInMs`.
   */
  setNextRetryAt(at: number | null): void {
    this.health.scheduleRetry(at);
  }

  // ---- health and shutdown ---------------------------------------------------------------------

  healthReport(): Omit<HealthResult, "uptime"> {
    return this.health.report({
      state: this.state,
      connected: this.link.connected,
      latency: this.link.latencyMs(),
    });
  }

  /** Changes accepted locally and not yet confirmed by the relay. */
  pendingOperations(): number {
    return this.deps.cache.queue.size();
  }

  /** Best-effort upload within flushMs, then closes the session and the cache. Idempotent. */
  shutdown(opts: { flushMs: number }): Promise<void> {
    this.closing ??= this.close(opts.flushMs);
    return this.closing;
  }

  private async close(flushMs: number): Promise<void> {
    const { logger, cache } = this.deps;
    this.timers.stopAll();
    if (this.link.connected && flushMs > 0 && !(await this.timers.within(this.net.flush(), flushMs)))
      logger.warn({ pending: this.pendingOperations() }, "shutdown flush did not finish in time");
    const steps: [string, () => unknown][] = [
      ["saving the pull cursor", () => this.health.savePullCursor()],
      ["closing the remote session", () => this.link.close()],
      ["closing the cache", () => cache.close()],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, `${what} failed`);
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  private requireReady(): Credentials {
    if (this.state === "INITIALIZING")
      throw new SyncError(ErrorCode.NotInitialized, "Initializing", {
        state: this.state,
        retryAfterMs: 1000,
      });
    if (!this.creds || this.state === "UNINITIALIZED")
      throw new SyncError(ErrorCode.NotInitialized, undefined, { hint: "run `caro sync init` first" });
    return this.creds;
  }

  private evictIfNeeded(): void {
    const evicted = this.deps.cache.enforceMaxSize(this.deps.config.cacheMaxSize);
    if (evicted > 0) this.deps.logger.info({ count: evicted }, "evicted confirmed entries over cacheMaxSize");
  }

  private saveCredentials(creds: Credentials): void {
    this.deps.credentials.save(creds);
    this.creds = creds;
  }
}

/** sync.init's mode: explicit, else "join" when an accountId is given. An accountId cannot create. */
function initMode(params: ParamsOf<"sync.init">): "create" | "join" {
  if (params.mode === "create" && params.accountId !== undefined)
    throw new SyncError(ErrorCode.InvalidParams, "Invalid params", {
      field: "mode",
      hint: 'an accountId means joining an existing account: omit it, or use mode "join"',
    });
  return params.mode ?? (params.accountId === undefined ? "create" : "join");
}

function isAccountNotFound(err: unknown): boolean {
  return err instanceof RemoteConnectError && err.failure.kind === "accountNotFound";
}
