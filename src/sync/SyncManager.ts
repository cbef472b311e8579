// SyncManager (seed): the sync.* and device.* methods over the local cache and the Remote. Pure
// domain code: the cache, the credentials store, the Remote and the clock come in through
// SyncManagerDeps (syncParts.ts builds the parts from them). Connectivity (states, attempts,
// retries, the last error and their notifications) is one state machine (connectionMachine.ts)
// run by relayConnection.ts: this class hands it events and answers from what it reports.
// The seed's methods and where ours differ: docs/architecture.md §2.15.
import {
  ErrorCode,
  SyncError,
  type DeviceInfo,
  type HealthResult,
  type InitResult,
  type MethodName,
  type ParamsOf,
  type PullResult,
  type PushResult,
  type StatusResult,
  type SyncState,
  type VerifyResult,
} from "../protocol.js";
import type { Credentials } from "./credentials.js";
import type { SyncEvents } from "./events.js";
import { failureError } from "./failures.js";
import { healthReport, statusReport, type ReportSources } from "./healthReport.js";
import { closeSync, forgetIdentity, initializeIdentity } from "./lifecycle.js";
import { checkGate } from "./stateGate.js";
import { buildSyncParts, type SyncManagerDeps, type SyncParts } from "./syncParts.js";

export type { SyncEvents } from "./events.js";

/**
 * How long sync.verify waits for the relay to hold what this device holds: without repair a short
 * look; with repair long enough for a large upload, within the client's timeout for it (60 s).
 */
/** sync.now's hint when the relay did not confirm its upload. */
const UPLOAD_RETRIED_HINT = "the entries stay queued and are retried";
const VERIFY_WAIT_MS = 5_000;
const REPAIR_WAIT_MS = 40_000;
export { RELAY_ACK_WAIT_MS, type SyncManagerDeps } from "./syncParts.js";

export class SyncManager {
  private readonly parts: SyncParts;
  /** Whether restore() found an identity to open; null before restore(). */
  private restoring: boolean | null = null;
  private closing: Promise<void> | null = null;

  /** Builds a manager on opened stores (cache/index.ts openLocalStores); call start() next. */
  static open(deps: SyncManagerDeps): Promise<SyncManager> {
    return Promise.resolve(new SyncManager(deps));
  }

  constructor(private readonly deps: SyncManagerDeps) {
    this.parts = buildSyncParts(deps);
  }

  get state(): SyncState {
    return this.parts.relay.snapshot.state;
  }

  /** Seed: connected to the relay (ONLINE). */
  isOnline(): boolean {
    return this.parts.relay.isOnline;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof SyncEvents>(event: E, listener: (payload: SyncEvents[E]) => void): () => void;
  /** For callers mapping event names generically (main.ts); the payload is SyncEvents[event]. */
  on(event: keyof SyncEvents, listener: (payload: never) => void): () => void;
  on(event: keyof SyncEvents, listener: (payload: never) => void): () => void {
    return this.parts.emitter.on(event, listener as (payload: unknown) => void);
  }

  /**
   * The synchronous half of start-up: loads the stored identity (INITIALIZING) or stays
   * UNINITIALIZED. The daemon calls it before its socket accepts, so that a sync.init arriving
   * during start-up meets the restored identity (-32004) instead of racing its restore into a
   * second open of the same account. Throws CredentialsError when the credentials file is unsafe
   * or unreadable. Idempotent.
   */
  restore(): void {
    if (this.restoring !== null) return;
    const { identity, progress, relay } = this.parts;
    const creds = identity.load();
    progress.load();
    this.restoring = creds !== null;
    if (creds) relay.beginOpening({ restoring: true });
  }

  /** Start-up: restore(), then open the restored identity's account → OFFLINE (then connects). */
  async start(): Promise<void> {
    this.restore();
    if (!this.restoring) return;
    const { relay } = this.parts;
    await relay.openSession();
    relay.dispatch({ type: "opened", reason: "start" });
  }

  /** Seed `initialize`: sync.init, a new identity on this device (lifecycle.ts). */
  initialize(params: ParamsOf<"sync.init">): Promise<InitResult> {
    return initializeIdentity(this.parts, params);
  }

  getStatus(): StatusResult {
    const { deviceId, accountId } = this.requireReady("sync.status");
    return statusReport({ ...this.reportSources(), identity: { deviceId, accountId } });
  }

  /** `signal`: the client that asked went away; an `ack: "relay"` wait ends at once. */
  async pushEntries(
    params: { entries: unknown[]; ack?: "local" | "relay" },
    opts: { signal?: AbortSignal } = {},
  ): Promise<PushResult> {
    this.requireReady("sync.push");
    return await this.parts.ops.push(params, opts);
  }

  pullEntries(params: ParamsOf<"sync.pull">): PullResult {
    this.requireReady("sync.pull");
    const result = this.parts.ops.pull(params);
    if (result.entries.length > 0) this.parts.progress.noteHandedOut(result.nextCursor);
    return result;
  }

  deleteCommands(ids: readonly string[]): { deleted: number } {
    this.requireReady("sync.delete");
    return this.parts.ops.deleteCommands(ids);
  }

  /** sync.now: one upload run now, reported as a round; -32003 when not connected or not confirmed. */
  async syncNow(): Promise<{ pushed: number; pulled: number }> {
    this.requireReady("sync.now");
    const { relay, link, progress } = this.parts;
    if (relay.snapshot.paused)
      throw new SyncError(ErrorCode.NetworkUnreachable, "sync is paused", { hint: "run `caro-sync resume`" });
    if (!this.isOnline()) {
      throw new SyncError(ErrorCode.NetworkUnreachable, undefined, {
        hint: link.hasRemote
          ? "the relay is not reachable; pushes stay queued and are uploaded when it is (see `caro-sync health`)"
          : "this daemon runs without a relay; pushes stay queued in the local cache",
      });
    }
    const round = await relay.syncRound();
    if (round.failed) throw failureError({ during: "upload", error: round.error }, UPLOAD_RETRIED_HINT);
    progress.markSynced();
    return { pushed: round.pushed, pulled: round.pulled };
  }

  /**
   * sync.verify: what the cache, Jazz's storage and the relay hold, per device (verify.ts); with
   * `repair`, mends what it can first. The result also becomes health's `integrity`.
   */
  async verify(params: ParamsOf<"sync.verify">): Promise<VerifyResult> {
    this.requireReady("sync.verify");
    const repair = params?.repair === true;
    const result = await this.parts.verify({ repair, waitMs: repair ? REPAIR_WAIT_MS : VERIFY_WAIT_MS });
    this.parts.integrity.record(result);
    return result;
  }

  pause(): { paused: true } {
    this.requireReady("sync.pause");
    this.parts.relay.dispatch({ type: "pause" });
    return { paused: true };
  }

  resume(): { paused: false } {
    this.requireReady("sync.resume");
    this.parts.relay.dispatch({ type: "resume" });
    return { paused: false };
  }

  /**
   * Forgets the identity, the cache and the queue on this device; state → UNINITIALIZED. Refused
   * (-32602, reason `unsynced_changes`, `pending`) while the relay has not confirmed every accepted
   * change, unless `discardUnsynced`: a reset must not silently lose what a client was told is stored.
   */
  async reset(opts: { discardUnsynced?: boolean | undefined } = {}): Promise<{ reset: true }> {
    if (this.state !== "ONLINE" && this.state !== "OFFLINE") this.requireReady("sync.reset");
    const pending = this.pendingOperations();
    if (pending > 0 && opts.discardUnsynced !== true)
      throw new SyncError(ErrorCode.InvalidParams, `${pending} changes have not reached the relay yet`, {
        reason: "unsynced_changes",
        pending,
        hint: "wait until `caro sync status` shows nothing to upload, or pass discardUnsynced: true to lose them",
      });
    await forgetIdentity(this.parts);
    return { reset: true };
  }

  registerDevice(params: { name: string; platform: string }): { deviceId: string; registeredAt: number } {
    const creds = this.requireReady("device.register");
    const registeredAt = this.parts.ops.registerDevice({ deviceId: creds.deviceId, ...params });
    this.parts.identity.update({ deviceName: params.name, platform: params.platform });
    return { deviceId: creds.deviceId, registeredAt };
  }

  listDevices(): { devices: DeviceInfo[] } {
    return { devices: this.parts.ops.listDevices(this.requireReady("device.list").deviceId) };
  }

  removeDevice(deviceId: string): { removed: true } {
    this.parts.ops.removeDevice(deviceId, this.requireReady("device.remove").deviceId);
    return { removed: true };
  }

  /** True when a connection attempt makes sense now: OFFLINE, not paused, a Remote, not closing. */
  wantsConnection(): boolean {
    return this.parts.relay.wantsConnection();
  }

  /**
   * One connection attempt now (the manager also connects by itself unless autoConnect is off).
   * Resolves when ONLINE; rejects with the attempt's RemoteConnectError, or -32003 when no attempt
   * can be made now.
   */
  connect(): Promise<void> {
    return this.parts.relay.connect();
  }

  healthReport(): Omit<HealthResult, "uptime"> {
    const { logger, config } = this.deps;
    return healthReport({
      ...this.reportSources(),
      relay: config.relay,
      latency: this.parts.link.latencyMs(),
      offlineQueueTtlMs: config.offlineQueueTtlMs,
      logger,
      remoteStorage: () => this.deps.remote?.storageFault?.() ?? null,
      integrity: this.parts.integrity.current,
    });
  }

  /** Changes accepted locally and not yet confirmed by the relay. */
  pendingOperations(): number {
    return this.deps.cache.queue.size();
  }

  /**
   * Stops connecting; if connected, uploads for at most `finalUploadMs` (default 0: not at all);
   * then saves the pull cursor and closes the session and the cache (lifecycle.ts closeSync).
   * Idempotent: concurrent calls share one shutdown.
   */
  shutdown(opts: { finalUploadMs?: number } = {}): Promise<void> {
    this.closing ??= closeSync(this.parts, opts.finalUploadMs ?? 0);
    return this.closing;
  }

  /** The state gate (stateGate.ts, the same table as the IPC layer's) and the identity. */
  private requireReady(method: MethodName): Credentials {
    checkGate(this.state, method);
    const creds = this.parts.identity.get();
    if (!creds)
      throw new SyncError(ErrorCode.NotInitialized, undefined, { hint: "run `caro sync init` first" });
    return creds;
  }

  private reportSources(): ReportSources {
    const { relay, progress, link } = this.parts;
    return {
      cache: this.deps.cache,
      connection: relay.snapshot,
      progress,
      connected: link.connected,
      now: this.deps.clock.now(),
    };
  }
}
