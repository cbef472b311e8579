// The relay side of SyncManager: opening the account's session, one connection attempt at a time
// on the retry driver's request, ONLINE ⇄ OFFLINE, and uploads grouped into sync rounds.
import type { Logger } from "../log/logger.js";
import { ErrorCode, SyncError } from "../protocol.js";
import type { Clock } from "./clock.js";
import type { Credentials } from "./credentials.js";
import type { Emitter, SyncEvents } from "./events.js";
import type { SyncHealth } from "./health.js";
import type { FlushResult } from "./queue.js";
import { RemoteConnectError, type ConnectFailure } from "./remote.js";
import type { RemoteLink } from "./remoteLink.js";
import type { StateMachine } from "./stateMachine.js";
import type { SyncTimers } from "./timers.js";

export interface SyncRound {
  pushed: number;
  pulled: number;
  failed: boolean;
}

export class Connectivity {
  /** One sync round per upload run, whoever asked for it. */
  private readonly rounds = new WeakMap<Promise<FlushResult>, Promise<SyncRound>>();

  constructor(
    private readonly deps: {
      link: RemoteLink;
      machine: StateMachine;
      health: SyncHealth;
      timers: SyncTimers;
      emitter: Emitter<SyncEvents>;
      clock: Clock;
      logger: Logger;
      offlineQueueTtlMs: number;
      /** The stored identity, or null. */
      identity: () => Credentials | null;
      /** The root became known: store it with the identity. */
      onRootId: (syncRootId: string) => void;
      touchLastSeen: () => void;
      closing: () => boolean;
    },
  ) {}

  /** True when an attempt makes sense: OFFLINE, not paused, a Remote configured, not closing. */
  wantsConnection(): boolean {
    const { machine, health, link, closing } = this.deps;
    return machine.state === "OFFLINE" && !health.paused && link.hasRemote && !closing();
  }

  async connect(signal?: AbortSignal): Promise<void> {
    const { machine, health, link, timers } = this.deps;
    if (machine.state === "ONLINE") return;
    if (!this.wantsConnection())
      throw new SyncError(ErrorCode.NetworkUnreachable, "no connection attempt possible now", {
        state: machine.state,
      });
    // Failures below are announced (sync.error) once the retry driver has scheduled the next
    // attempt (SyncManager.setNextRetryAt), so they carry the right retryInMs. An open() failure
    // is rethrown as the Remote classified it, so the retry policy sees it (a join the relay
    // refuses is `auth`: not retried), not as a generic -32003.
    const openFailure = link.hasSession ? null : await this.openSession({ awaitSchedule: true });
    if (!link.hasSession)
      throw openFailure instanceof RemoteConnectError
        ? openFailure
        : new SyncError(ErrorCode.NetworkUnreachable, "the account could not be opened");
    try {
      await link.connect(signal);
    } catch (err) {
      health.recordFailure(err, { awaitSchedule: true });
      throw err;
    }
    if (!this.wantsConnection()) {
      link.disconnect(); // paused, reset or shutting down meanwhile
      return;
    }
    health.clearError();
    machine.transition("ONLINE");
    health.markSynced();
    this.saveRootId();
    this.deps.touchLastSeen();
    timers.startLastSeen(() => this.deps.touchLastSeen());
    void this.flush();
  }

  disconnect(): void {
    this.deps.link.disconnect();
    this.deps.timers.stopLastSeen();
    if (this.deps.machine.state === "ONLINE") this.deps.machine.transition("OFFLINE");
  }

  /** INITIALIZING → OFFLINE with the queue TTL check running; asks the driver to connect. */
  becomeOffline(reason: string): void {
    this.deps.machine.transition("OFFLINE");
    const every = Math.min(60_000, this.deps.offlineQueueTtlMs);
    this.deps.timers.startExpiry(every, () => this.deps.health.expireQueue());
    this.deps.emitter.emit("connectionWanted", { reason });
  }

  /** The link reported a dropped connection. */
  handleDisconnect(failure: ConnectFailure): void {
    const { machine, health, timers, emitter } = this.deps;
    timers.stopLastSeen();
    if (machine.state === "ONLINE") machine.transition("OFFLINE");
    // The retry driver schedules the next attempt synchronously on "disconnected"; the drop is
    // announced then (or right after, if no driver listens).
    health.recordConnectFailure(failure, { awaitSchedule: true });
    emitter.emit("disconnected", failure);
    health.announce();
    emitter.emit("connectionWanted", { reason: "disconnected" });
  }

  /**
   * Opens the account's session; a failure is recorded (connect() tries again) and returned,
   * never thrown.
   */
  async openSession(opts: { awaitSchedule?: boolean } = {}): Promise<unknown> {
    const { link, health, logger } = this.deps;
    const creds = this.deps.identity();
    if (!creds || !link.hasRemote) return;
    if (creds.agentSecret === null) {
      const message = "this identity was created without a relay; run `caro-sync reset` and init again";
      health.setError({ code: ErrorCode.InvalidCredentials, message, fatal: true });
      return;
    }
    try {
      await link.open({ accountId: creds.accountId, agentSecret: creds.agentSecret }, creds.mode);
      this.saveRootId();
    } catch (err) {
      logger.error({ err }, "could not open the sync account");
      health.recordFailure(err, opts);
      return err;
    }
    return null;
  }

  /**
   * Uploads the queue if connected. Callers joining a run share its round, which records a
   * failure or emits "syncComplete" (what it pushed, what was pulled since the previous round).
   */
  flush(): Promise<SyncRound> {
    const run = this.deps.link.flush();
    let round = this.rounds.get(run);
    if (!round) {
      round = run.then((result) => this.completeRound(result));
      this.rounds.set(run, round);
    }
    return round;
  }

  private completeRound(result: FlushResult): SyncRound {
    const { health, emitter, clock } = this.deps;
    if (result.error) {
      const message = `upload failed: ${result.error.message}`;
      health.setError({ code: ErrorCode.NetworkUnreachable, message, fatal: false });
      return { pushed: result.confirmed, pulled: 0, failed: true };
    }
    const round = { pushed: result.confirmed, pulled: health.takePulled(), failed: false };
    if (round.pushed > 0 || round.pulled > 0)
      emitter.emit("syncComplete", { pushed: round.pushed, pulled: round.pulled, at: clock.now() });
    return round;
  }

  private saveRootId(): void {
    const root = this.deps.link.syncRootId();
    if (root && root !== this.deps.identity()?.syncRootId) this.deps.onRootId(root);
  }
}
