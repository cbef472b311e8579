// Drives the relay connection with the seed's retry policy: one attempt at a time, the next one
// scheduled on the injected clock as RetryPolicy decides. Jazz's own reconnection is never used
// (it is linear and uncapped). The driver knows nothing of states; it reports what happened and
// SyncManager maps that to ONLINE/OFFLINE, lastError and health.
import type { Logger } from "../log/logger.js";
import type { Clock, TimerHandle } from "./clock.js";
import { RemoteConnectError, type ConnectFailure, type RemoteSession } from "./remote.js";
import type { RetryDecision, RetryPolicy } from "./retryPolicy.js";

export interface ConnectionEvents {
  /** A connection attempt succeeded. */
  connected(): void;
  /** An attempt failed, or an established connection dropped; `nextRetryAt` is null when no retry is planned. */
  failed(failure: ConnectFailure, decision: RetryDecision, nextRetryAt: number | null): void;
}

export class ConnectionDriver {
  private timer: TimerHandle | null = null;
  private attempting: Promise<boolean> | null = null;
  private running = false;
  private retryAt: number | null = null;
  private readonly offDisconnected: () => void;

  constructor(
    private readonly deps: {
      session: Pick<RemoteSession, "connect" | "disconnect" | "onDisconnected">;
      policy: RetryPolicy;
      clock: Clock;
      logger: Logger;
      events: ConnectionEvents;
      /** Checked before every attempt; false (paused, reset, closing) makes the driver go idle. */
      shouldConnect?: () => boolean;
    },
  ) {
    // Fires only for drops of an established connection, never after disconnect().
    this.offDisconnected = deps.session.onDisconnected((failure) => {
      if (this.running) this.handleFailure(failure);
    });
  }

  /** When the next attempt is scheduled (Unix ms), or null. */
  get nextRetryAt(): number | null {
    return this.retryAt;
  }

  /**
   * Starts connecting now, unless an attempt is already running or scheduled, and keeps the
   * connection up per the policy until stop(). Cheap to call whenever a connection is wanted.
   */
  start(): void {
    this.running = true;
    if (this.attempting || this.timer) return;
    void this.attempt();
  }

  /** Stops retrying; the session's owner disconnects it. */
  stop(): void {
    this.running = false;
    this.cancelTimer();
  }

  dispose(): void {
    this.stop();
    this.offDisconnected();
  }

  private attempt(): Promise<boolean> {
    if (this.attempting) return this.attempting;
    if (this.deps.shouldConnect && !this.deps.shouldConnect()) {
      this.running = false;
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
