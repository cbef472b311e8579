// Drives the relay connection with the seed's retry policy: one attempt at a time, the next one
// scheduled on the injected clock as RetryPolicy decides. Jazz's own reconnection is never used
// (it is linear and uncapped). The driver knows nothing of states; it reports what happened and
// SyncManager maps that to ONLINE/OFFLINE, lastError and health.
import type { Logger } from "../log/logger.js";
import type { Clock, TimerHandle } from "./clock.js";
import { RemoteConnectError, type ConnectFailure, type RemoteSession } from "./remote.js";
import { RetryPolicy, type RetryDecision } from "./retryPolicy.js";

export interface ConnectionEvents {
  /** A connection attempt succeeded. */
  connected(): void;
  /** An attempt failed, or an established connection dropped; `nextRetryAt` is null when no retry is planned. */
  failed(failure: ConnectFailure, decision: RetryDecision, nextRetryAt: number | null): void;
  /** The driver went idle: nothing is scheduled any more (stop(), or the owner wants no connection). */
  idle?(): void;
}

export class ConnectionDriver {
  private timer: TimerHandle | null = null;
  private attempting: Promise<boolean> | null = null;
  private running = false;
  private retryAt: number | null = null;
  private readonly offDisconnected: () => void;
  private readonly offWanted: () => void;

  constructor(
    private readonly deps: {
      session: Pick<RemoteSession, "connect" | "disconnect" | "onDisconnected">;
      policy: RetryPolicy;
      clock: Clock;
      logger: Logger;
      events: ConnectionEvents;
      /** Checked before every attempt; false (paused, reset, closing) makes the driver go idle. */
      shouldConnect?: () => boolean;
      /**
       * The owner's requests for a connection, subscribed for the driver's life (dispose()
       * unsubscribes). `fresh`: a new reason to connect (init, start-up, resume), so the current
       * burst and schedule are forgotten and an attempt starts now.
       */
      onWanted?: (listener: (opts: { fresh: boolean }) => void) => () => void;
    },
  ) {
    // Fires only for drops of an established connection, never after disconnect().
    this.offDisconnected = deps.session.onDisconnected((failure) => {
      if (this.running) this.handleFailure(failure);
    });
    this.offWanted = deps.onWanted?.((opts) => this.start(opts)) ?? (() => undefined);
  }

  /** When the next attempt is scheduled (Unix ms), or null. */
  get nextRetryAt(): number | null {
    return this.retryAt;
  }

  /**
   * Starts connecting now, unless an attempt is already running or scheduled, and keeps the
   * connection up per the policy until stop(). Cheap to call whenever a connection is wanted.
   * `fresh: true` cancels a scheduled attempt and starts a new burst (an auth stop or a spent
   * burst of an earlier identity or pause must not delay or shorten this one).
   */
  start(opts: { fresh?: boolean } = {}): void {
    this.running = true;
    if (opts.fresh) {
      this.cancelTimer();
      this.deps.policy.onSuccess(); // resets the burst; the next failure is attempt 1 again
    }
    if (this.attempting || this.timer) return;
    void this.attempt();
  }

  /** Stops retrying; the session's owner disconnects it. */
  stop(): void {
    this.running = false;
    this.goIdle();
  }

  dispose(): void {
    this.stop();
    this.offWanted();
    this.offDisconnected();
  }

  private attempt(): Promise<boolean> {
    if (this.attempting) return this.attempting;
    if (this.deps.shouldConnect && !this.deps.shouldConnect()) {
      this.running = false;
      this.goIdle();
      return Promise.resolve(false);
    }
    const attempt = this.connectOnce().finally(() => (this.attempting = null));
    this.attempting = attempt;
    return attempt;
  }

  private async connectOnce(): Promise<boolean> {
    try {
      await this.deps.session.connect();
      if (!this.running) {
        this.deps.session.disconnect();
        return false;
      }
      this.retryAt = null;
      this.deps.policy.onSuccess();
      this.deps.events.connected();
      return true;
    } catch (err) {
      if (this.running) this.handleFailure(toFailure(err));
      return false;
    }
  }

  private handleFailure(failure: ConnectFailure): void {
    const decision = this.deps.policy.onFailure(failure);
    this.cancelTimer();
    if (decision.kind === "stop" || !this.running) {
      this.retryAt = null;
    } else {
      this.retryAt = this.deps.clock.now() + decision.delayMs;
      this.timer = this.deps.clock.setTimeout(() => {
        this.timer = null;
        void this.attempt();
      }, decision.delayMs);
    }
    this.deps.logger.info(
      { failure: failure.kind, decision: decision.kind, nextRetryAt: this.retryAt },
      "relay connection failed",
    );
    this.deps.events.failed(failure, decision, this.retryAt);
  }

  /** Nothing is scheduled any more: tell the owner, so health does not show a stale nextRetryAt. */
  private goIdle(): void {
    this.cancelTimer();
    this.deps.events.idle?.();
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.retryAt = null;
  }
}

function toFailure(err: unknown): ConnectFailure {
  if (err instanceof RemoteConnectError) return err.failure;
  return { kind: "network", message: err instanceof Error ? err.message : String(err) };
}

/** What driveConnection needs of SyncManager (its connectivity seam). */
export interface ConnectionOwner extends Pick<RemoteSession, "connect" | "disconnect" | "onDisconnected"> {
  wantsConnection(): boolean;
  setNextRetryAt(at: number | null): void;
  on(event: "connectionWanted", listener: (payload: { reason: string }) => void): () => void;
}

/**
 * The production wiring: keeps the relay connection up with the seed's retry policy whenever the
 * manager wants one (start-up, init, resume: a fresh burst; a drop: the burst the drop began),
 * idle while paused, reset or closing; the schedule is reported to health as nextRetryAt.
 */
export function driveConnection(
  manager: ConnectionOwner,
  opts: {
    syncIntervalMs: number;
    clock: Clock;
    logger: Logger;
    /** Jitter source in [0, 1) for the probe interval; tests pass a constant. */
    random?: () => number;
  },
): ConnectionDriver {
  return new ConnectionDriver({
    session: manager,
    policy: new RetryPolicy({ syncIntervalMs: opts.syncIntervalMs, random: opts.random }),
    clock: opts.clock,
    logger: opts.logger,
    shouldConnect: () => manager.wantsConnection(),
    onWanted: (listener) =>
      manager.on("connectionWanted", ({ reason }) => listener({ fresh: reason !== "disconnected" })),
    events: {
      connected: () => manager.setNextRetryAt(null),
      failed: (_failure, _decision, nextRetryAt) => manager.setNextRetryAt(nextRetryAt),
      idle: () => manager.setNextRetryAt(null),
    },
  });
}
