// Runs the connection machine (connectionMachine.ts): feeds it events, performs the effects it
// returns, in order, and feeds their outcomes back as events. It owns the retry timer and the
// attempt in flight; every decision is the machine's. Also groups uploads into sync rounds.
import type { Logger } from "../log/logger.js";
import { RepeatGuard } from "../log/repeatGuard.js";
import { ErrorCode, SyncError } from "../protocol.js";
import type { Clock, TimerHandle } from "./clock.js";
import {
  INITIAL_CONNECTION,
  step,
  wantsConnection,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionState,
  type MachineEnv,
} from "./connectionMachine.js";
import type { CurrentIdentity } from "./credentials.js";
import type { Emitter, SyncEvents } from "./events.js";
import type { FailureSource } from "./failures.js";
import { expireQueue } from "./healthReport.js";
import type { IntegrityMonitor } from "./integrity.js";
import type { LocalCache } from "./localCache.js";
import type { EntryOperations } from "./operations.js";
import type { SyncProgress } from "./progress.js";
import type { UploadResult } from "./queueUpload.js";
import { RemoteConnectError, type ConnectFailure } from "./remote.js";
import type { RemoteLink } from "./remoteLink.js";
import type { RetryOptions } from "./retryPolicy.js";
import { StateMachine } from "./stateMachine.js";
import type { SyncTimers } from "./timers.js";

const META_PAUSED = "sync.paused";

/** One upload run as sync.now and sync.complete report it. */
export interface SyncRound {
  pushed: number;
  pulled: number;
  failed: boolean;
  /** Why the run failed (null when it did not): the write's, the confirmation's or the upload's error. */
  error: Error | null;
}

export interface RelayConnectionDeps {
  link: RemoteLink;
  cache: LocalCache;
  identity: CurrentIdentity;
  progress: SyncProgress;
  ops: Pick<EntryOperations, "touchLastSeen">;
  timers: SyncTimers;
  integrity: Pick<IntegrityMonitor, "check" | "stop">;
  emitter: Emitter<SyncEvents>;
  clock: Clock;
  logger: Logger;
  retry: RetryOptions;
  autoConnect: boolean;
  offlineQueueTtlMs: number;
}

export class RelayConnection {
  private c: ConnectionState = INITIAL_CONNECTION;
  private readonly states: StateMachine;
  private retryTimer: TimerHandle | null = null;
  private attempting: Promise<void> | null = null;
  private opening: Promise<FailureSource | null> | null = null;
  private pending: ConnectionEvent[] = [];
  private dispatching = false;
  /** One sync round per upload run, whoever asked for it. */
  private readonly rounds = new WeakMap<Promise<UploadResult>, Promise<SyncRound>>();
  /** Attempts, opens and uploads fail the same way for hours: one full line each, then counts. */
  private readonly attemptFailures: RepeatGuard;
  private readonly openFailures: RepeatGuard;
  private readonly uploadFailures: RepeatGuard;

  constructor(private readonly deps: RelayConnectionDeps) {
    const { emitter, clock, logger, link } = deps;
    this.states = new StateMachine((from, to) => {
      logger.info({ from, to }, "sync state changed");
      emitter.emit("stateChange", { from, to, at: clock.now() });
    });
    link.onDisconnected((failure) => this.dispatch({ type: "dropped", failure }));
    const guard = (level: "info" | "warn" | "error", msg: string, recoveredMsg: string) =>
      new RepeatGuard({ logger, clock, level, msg, recoveredMsg });
    this.attemptFailures = guard("info", "relay connection failed", "relay connection made");
    this.openFailures = guard("error", "could not open the sync account", "opened the sync account");
    this.uploadFailures = guard("warn", "upload not confirmed by the relay", "upload confirmed by the relay");
  }

  /** The machine's state: what health and status report. */
  get snapshot(): ConnectionState {
    return this.c;
  }

  get isOnline(): boolean {
    return this.c.phase === "connected";
  }

  wantsConnection(): boolean {
    return wantsConnection(this.c, this.env());
  }

  /**
   * Runs one event to completion: its effects run in order before the next event is stepped. An
   * event raised while effects run (a listener of stateChange that calls pause()) waits its turn.
   */
  dispatch(event: ConnectionEvent): void {
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        const { next: state, effects } = step(this.c, next, this.env());
        this.c = state;
        if (next.type === "attemptFailed" || next.type === "dropped") this.logFailure(next);
        if (next.type === "connected") this.attemptFailures.recovered();
        for (const effect of effects) this.perform(effect);
      }
    } finally {
      this.dispatching = false;
      this.pending = [];
    }
  }

  /** start-up (`paused` as persisted) or init (never paused): → INITIALIZING. */
  beginOpening(opts: { restoring: boolean }): void {
    const paused = opts.restoring && this.deps.cache.meta.get(META_PAUSED) === "1";
    this.dispatch({ type: "opening", paused });
  }

  /**
   * Opens the account's session; a failure is recorded (lastError, sync.error) and returned, never
   * thrown: the next attempt opens it again.
   */
  async openSession(): Promise<FailureSource | null> {
    const failure = await this.tryOpen();
    if (failure) this.dispatch({ type: "openFailed", source: failure });
    return failure;
  }

  /**
   * One attempt now. Resolves when ONLINE; rejects with the attempt's RemoteConnectError (or the
   * open failure), or with -32003 when no attempt can be made now (paused, closing, no Remote).
   */
  connect(): Promise<void> {
    if (this.isOnline) return Promise.resolve();
    if (this.attempting) return this.attempting;
    if (!this.wantsConnection())
      return Promise.reject(
        new SyncError(ErrorCode.NetworkUnreachable, "no connection attempt possible now", {
          state: this.c.state,
        }),
      );
    this.dispatch({ type: "attempt" });
    // Asked from inside another event's effects, the attempt starts once they are done.
    return this.attempting ?? Promise.resolve().then(() => this.attempting ?? undefined);
  }

  /**
   * Uploads the queue if connected. Callers joining a run share its round, which records a
   * failure or emits "syncComplete" (what it pushed, what was pulled since the previous round).
   */
  syncRound(): Promise<SyncRound> {
    const run = this.deps.link.upload();
    let round = this.rounds.get(run);
    if (!round) {
      round = run.then((result) => this.completeRound(result));
      this.rounds.set(run, round);
    }
    return round;
  }

  private perform(effect: ConnectionEffect): void {
    const { link, emitter, timers, progress, cache, clock, logger } = this.deps;
    switch (effect.type) {
      case "stateChange":
        return this.states.transition(effect.to);
      case "attempt":
        this.attempting = this.runAttempt().finally(() => (this.attempting = null));
        // A background attempt's failure is already an event; connect() callers see the rejection.
        this.attempting.catch(() => undefined);
        return;
      case "scheduleRetry":
        this.clearRetryTimer();
        this.retryTimer = clock.setTimeout(() => {
          this.retryTimer = null;
          this.dispatch({ type: "retryDue" });
        }, effect.delayMs);
        return;
      case "cancelRetry":
        return this.clearRetryTimer();
      case "disconnect":
        return link.disconnect();
      case "notifyError":
        return emitter.emit("error", effect.error);
      case "connectionWanted":
        return emitter.emit("connectionWanted", { reason: effect.reason });
      case "persistPaused":
        if (effect.paused) cache.meta.set(META_PAUSED, "1");
        else cache.meta.delete(META_PAUSED);
        return;
      case "startExpiryTimer": {
        const ttlMs = this.deps.offlineQueueTtlMs;
        return timers.startExpiry(Math.min(60_000, ttlMs), () =>
          expireQueue(cache, { now: clock.now(), ttlMs, logger }),
        );
      }
      case "startLastSeenTimer":
        return timers.startLastSeen(() => this.refreshLastSeen());
      case "stopTimers":
        // The completeness probe runs only while connected, like the lastSeen refresh.
        this.deps.integrity.stop();
        return effect.which === "all" ? timers.stopAll() : timers.stopLastSeen();
      case "markSynced":
        return progress.markSynced();
      case "saveRootId":
        return this.saveRootId();
      case "refreshLastSeen":
        return this.refreshLastSeen();
      case "upload":
        void this.syncRound();
        return;
      case "checkIntegrity":
        void this.deps.integrity.check();
        return;
    }
  }

  /** Opens the session if needed, then connects; the outcome goes back to the machine. */
  private async runAttempt(): Promise<void> {
    const openFailure = this.deps.link.hasSession ? null : await this.tryOpen();
    if (openFailure) {
      this.dispatch({ type: "attemptFailed", source: openFailure });
      throw openFailure.during === "open" && openFailure.error instanceof RemoteConnectError
        ? openFailure.error
        : new SyncError(ErrorCode.NetworkUnreachable, "the account could not be opened");
    }
    try {
      await this.deps.link.connect();
    } catch (err) {
      this.dispatch({ type: "attemptFailed", source: { during: "connect", failure: toFailure(err) } });
      throw err;
    }
    this.dispatch({ type: "connected" });
  }

  /**
   * One open at a time: an attempt that finds no session while an open is under way (init's, or
   * start-up's) waits for that open rather than starting a second one, which would close the
   * first session and race it on the same account and storage.
   */
  private tryOpen(): Promise<FailureSource | null> {
    this.opening ??= this.openOnce().finally(() => (this.opening = null));
    return this.opening;
  }

  private async openOnce(): Promise<FailureSource | null> {
    const { link, identity } = this.deps;
    const creds = identity.get();
    if (!creds || !link.hasRemote) return null;
    if (creds.agentSecret === null) return { during: "localIdentity" };
    try {
      await link.open({ accountId: creds.accountId, agentSecret: creds.agentSecret }, creds.mode);
      this.saveRootId();
      this.openFailures.recovered();
      return null;
    } catch (error) {
      this.openFailures.failed({ err: error });
      return { during: "open", error };
    }
  }

  private completeRound(result: UploadResult): SyncRound {
    if (result.error) {
      this.uploadFailures.failed({ err: result.error });
      this.dispatch({ type: "uploadFailed", error: result.error });
      return { pushed: result.confirmed, pulled: 0, failed: true, error: result.error };
    }
    this.uploadFailures.recovered();
    const round = {
      pushed: result.confirmed,
      pulled: this.deps.progress.takePulled(),
      failed: false,
      error: null,
    };
    if (round.pushed > 0 || round.pulled > 0)
      this.deps.emitter.emit("syncComplete", {
        pushed: round.pushed,
        pulled: round.pulled,
        at: this.deps.clock.now(),
      });
    return round;
  }

  private saveRootId(): void {
    const root = this.deps.link.syncRootId();
    if (root) this.deps.identity.update({ syncRootId: root });
  }

  private refreshLastSeen(): void {
    const c = this.deps.identity.get();
    if (c) this.deps.ops.touchLastSeen({ deviceId: c.deviceId, name: c.deviceName, platform: c.platform });
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== null) this.deps.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** The raw detail of a failure goes to the log only (clients get failures.ts's safe text). */
  private logFailure(event: Extract<ConnectionEvent, { type: "attemptFailed" | "dropped" }>): void {
    const failure = event.type === "dropped" ? event.failure : sourceFailure(event.source);
    const fields = {
      failure: failure?.kind,
      detail: failure?.message,
      nextRetryAt: this.c.retryAt,
      phase: this.c.phase,
    };
    if (event.type === "dropped") this.deps.logger.info(fields, "relay connection dropped");
    else this.attemptFailures.failed({ key: `${failure?.kind}: ${failure?.message}`, fields });
  }

  private env(): MachineEnv {
    return {
      now: this.deps.clock.now(),
      hasRemote: this.deps.link.hasRemote,
      autoConnect: this.deps.autoConnect,
      ...this.deps.retry,
    };
  }
}

function toFailure(err: unknown): ConnectFailure {
  if (err instanceof RemoteConnectError) return err.failure;
  return { kind: "network", message: err instanceof Error ? err.message : String(err) };
}

function sourceFailure(source: FailureSource): ConnectFailure | null {
  if (source.during === "connect" || source.during === "drop") return source.failure;
  if (source.during === "open" && source.error instanceof RemoteConnectError) return source.error.failure;
  return null;
}
