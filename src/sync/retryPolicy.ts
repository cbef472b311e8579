// The seed's retry policy (SPEC §5) as a pure decision function over connection failures. It holds
// only the current burst's attempt count; timing is applied by whoever drives the connection, on an
// injected clock.
//
// | failure            | retry | delay before the next attempt         | attempts in a burst |
// |--------------------|-------|----------------------------------------|---------------------|
// | timeout / network  | yes   | 1 s, 2 s, 4 s, 8 s (exponential)       | 5                   |
// | rate limited (429) | yes   | Retry-After (1 s, 2 s, … when absent)  | 3                   |
// | auth (401/403)     | no    | –                                      | 1                   |
// | invalid data       | no    | –                                      | 1                   |
// | account not found  | probe | syncIntervalMs (the account may come)  | 1                   |
// | server (5xx)       | yes   | 1 s, 2 s, 4 s (exponential)            | 3                   |
//
// When a burst's attempts are spent the daemon stays OFFLINE and probes every `syncIntervalMs`
// with ±20 % jitter (never sooner than a relay's Retry-After); a probe that fails keeps probing.
// A success resets everything.
import type { ConnectFailure } from "./remote.js";

export type RetryDecision =
  | { kind: "retry"; delayMs: number; attempt: number; of: number }
  | { kind: "probe"; delayMs: number }
  | { kind: "stop"; reason: "auth" | "invalidData" };

const BASE_DELAY_MS = 1_000;
const JITTER = 0.2;
const MAX_ATTEMPTS: Record<ConnectFailure["kind"], number> = {
  timeout: 5,
  network: 5,
  rateLimited: 3,
  server: 3,
  auth: 1,
  invalidData: 1,
  accountNotFound: 1,
};

/** Failures that share a burst: a timeout followed by a refused connection is one outage. */
const burstFamily = (kind: ConnectFailure["kind"]) => (kind === "timeout" ? "network" : kind);

export class RetryPolicy {
  private attempts = 0;
  private family: string | null = null;
  private burstSpent = false;

  constructor(
    private readonly opts: {
      syncIntervalMs: number;
      /** A number in [0, 1); injectable so tests get exact delays. */
      random?: () => number;
    },
  ) {}

  /** Called after a failed attempt: what to do next. */
  onFailure(failure: ConnectFailure): RetryDecision {
    if (failure.kind === "auth" || failure.kind === "invalidData") {
      this.burstSpent = true;
      return { kind: "stop", reason: failure.kind };
    }
    // A joined account the relay does not hold yet appears once the first device uploads it:
    // nothing to gain from a fast burst, but worth a probe now and then.
    if (this.burstSpent || failure.kind === "accountNotFound") {
      this.burstSpent = true;
      return this.probe(failure);
    }

    const family = burstFamily(failure.kind);
    if (family !== this.family) {
      this.family = family;
      this.attempts = 0;
    }
    this.attempts += 1;
    const max = MAX_ATTEMPTS[failure.kind];
    if (this.attempts >= max) {
      this.burstSpent = true;
      return this.probe(failure);
    }
    const delayMs =
      failure.kind === "rateLimited" && failure.retryAfterMs !== null
        ? failure.retryAfterMs
        : BASE_DELAY_MS * 2 ** (this.attempts - 1);
    return { kind: "retry", delayMs, attempt: this.attempts + 1, of: max };
  }

  /** Called after a successful connection: the next outage starts a fresh burst. */
  onSuccess(): void {
    this.attempts = 0;
    this.family = null;
    this.burstSpent = false;
  }

  private probe(failure: ConnectFailure): RetryDecision {
    const random = this.opts.random ?? Math.random;
    const factor = 1 - JITTER + 2 * JITTER * random();
    const jittered = Math.round(this.opts.syncIntervalMs * factor);
    // A relay that said when to come back is not asked sooner.
    const floor = failure.kind === "rateLimited" ? (failure.retryAfterMs ?? 0) : 0;
    return { kind: "probe", delayMs: Math.max(jittered, floor) };
  }
}
