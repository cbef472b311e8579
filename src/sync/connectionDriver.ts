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
  private isConnected = false;
  private retryAt: number | null = null;
  private readonly offDisconnected: () => void;

  constructor(
    private readonly deps: {
      session: Pick<RemoteSession, "connect" | "disconnect" | "onDisconnected">;
      policy: RetryPolicy;
      clock: Clock;
      logger: Logger;
      events: ConnectionEvents;
    },
  ) {
    this.offDisconnected = deps.session.onDisconnected((failure) => {
      if (!this.isConnected) return;
      this.isConnected = false;
      this.handleFailure(failure);
    });
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** When the next attempt is scheduled (Unix ms), or null. */
  get nextRetryAt(): number | null {
    return this.retryAt;
  }

  /** Starts connecting (now) and keeps the connection up per the policy until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.attempt();
  }

  /** Stops retrying and drops the connection (pause, shutdown, reset). */
  stop(): void {
    this.running = false;
    this.cancelTimer();
    if (this.isConnected) {
      this.isConnected = false;
      this.deps.session.disconnect();
    }
  }

  /**
   * One immediate attempt, outside the schedule (sync.now, resume). Resolves true when connected.
   * A pending scheduled attempt is replaced by this one.
   */
  async tryNow(): Promise<boolean> {
    if (this.isConnected) return true;
    this.running = true;
    this.cancelTimer();
    return this.attempt();
  }

  dispose(): void {
    this.stop();
    this.offDisconnected();
  }

  private attempt(): Promise<boolean> {
    this.attempting ??= (async () => {
      try {
        await this.deps.session.connect();
        if (!this.running) {
          this.deps.session.disconnect();
          return false;
        }
        this.isConnected = true;
        this.retryAt = null;
        this.deps.policy.onSuccess();
        this.deps.events.connected();
        return true;
      } catch (err) {
        if (this.running) this.handleFailure(toFailure(err));
        return false;
      } finally {
        this.attempting = null;
      }
    })();
    return this.attempting;
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
