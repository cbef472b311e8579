// Local push rate limit (docs/protocol.md): a token bucket over entries, one per daemon, on the injected clock.
import { ErrorCode, SyncError } from "../protocol.js";
import type { Clock } from "./clock.js";

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(private readonly opts: { ratePerSecond: number; burst: number; clock: Clock }) {
    this.tokens = opts.burst;
    this.updatedAt = opts.clock.now();
  }

  /**
   * Takes `n` tokens or throws SyncError -32005 with data.retryAfterMs. A request larger than the
   * burst is allowed once the bucket is full and leaves it in debt, so it is slowed, not refused forever.
   */
  take(n: number): void {
    this.refill();
    const needed = Math.min(n, this.opts.burst);
    if (this.tokens < needed) {
      const retryAfterMs = Math.ceil(((needed - this.tokens) / this.opts.ratePerSecond) * 1000);
      throw new SyncError(ErrorCode.RateLimited, "Rate Limited", {
        retryAfterMs,
        hint: `push at most ${this.opts.ratePerSecond} entries per second (burst ${this.opts.burst})`,
      });
    }
    this.tokens -= n;
  }

  private refill(): void {
    const now = this.opts.clock.now();
    // A clock that went backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.opts.burst, this.tokens + (elapsed / 1000) * this.opts.ratePerSecond);
  }
}
