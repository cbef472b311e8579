// The SyncManager's recurring work on the injected clock: the queue TTL check and the periodic
// lastSeen update while online. Each timer has one owner and is cleared on stop. They keep the
// process alive while they run, like the daemon they serve.
import type { Logger } from "../log/logger.js";
import { RepeatGuard } from "../log/repeatGuard.js";
import type { Clock, TimerHandle } from "./clock.js";

/** How often this device's lastSeen is refreshed while ONLINE (docs/protocol.md: no more than once a minute). */
export const LAST_SEEN_INTERVAL_MS = 5 * 60_000;

export class SyncTimers {
  private expiry: TimerHandle | null = null;
  private lastSeen: TimerHandle | null = null;
  /** One per task: a task that keeps failing (a database error) is logged in full once. */
  private readonly expiryFailures: RepeatGuard;
  private readonly lastSeenFailures: RepeatGuard;

  constructor(
    private readonly clock: Clock,
    logger: Logger,
  ) {
    const guard = (task: string) =>
      new RepeatGuard({
        logger: logger.child({ task }),
        clock,
        level: "error",
        msg: "periodic sync task failed",
        recoveredMsg: "periodic sync task ran",
      });
    this.expiryFailures = guard("queueExpiry");
    this.lastSeenFailures = guard("lastSeen");
  }

  startExpiry(everyMs: number, fn: () => void): void {
    this.stopExpiry();
    const tick = (): void => {
      this.run(fn, this.expiryFailures);
      this.expiry = this.clock.setTimeout(tick, everyMs);
    };
    this.expiry = this.clock.setTimeout(tick, everyMs);
  }

  startLastSeen(fn: () => void): void {
    this.stopLastSeen();
    const tick = (): void => {
      this.run(fn, this.lastSeenFailures);
      this.lastSeen = this.clock.setTimeout(tick, LAST_SEEN_INTERVAL_MS);
    };
    this.lastSeen = this.clock.setTimeout(tick, LAST_SEEN_INTERVAL_MS);
  }

  stopExpiry(): void {
    if (this.expiry) this.clock.clearTimeout(this.expiry);
    this.expiry = null;
  }

  stopLastSeen(): void {
    if (this.lastSeen) this.clock.clearTimeout(this.lastSeen);
    this.lastSeen = null;
  }

  stopAll(): void {
    this.stopExpiry();
    this.stopLastSeen();
  }

  private run(fn: () => void, failures: RepeatGuard): void {
    try {
      fn();
    } catch (err) {
      failures.failed({ err });
      return;
    }
    failures.recovered();
  }
}
