// The seed's retry policy (docs/architecture.md) as a pure decision function over connection failures and the
// current burst (decideRetry). The connection machine (connectionMachine.ts) keeps the burst in its
// state and applies the delay on the injected clock.
//
// | failure            | retry | delay before the next attempt         | attempts in a burst |
// |--------------------|-------|----------------------------------------|---------------------|
// | timeout / network  | yes   | 1 s, 2 s, 4 s, 8 s (exponential)       | 5                   |
// | rate limited (429) | yes   | Retry-After (1 s, 2 s, … when absent)  | 3                   |
// | auth (401/403)     | no    | –                                      | 1                   |
// | invalid data       | no    | –                                      | 1                   |
// | account not found  | probe | syncIntervalMs (the account may come)  | 1                   |
// | account incomplete | probe | syncIntervalMs (the rest may come)     | 1                   |
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
  accountIncomplete: 1,
};

/** Failures that share a burst: a timeout followed by a refused connection is one outage. */
const burstFamily = (kind: ConnectFailure["kind"]) => (kind === "timeout" ? "network" : kind);

/** What the policy remembers between failures: the current burst. */
export interface RetryBurst {
  readonly attempts: number;
  readonly family: string | null;
  /** The burst's attempts are spent (or retrying stopped): every later failure probes. */
  readonly spent: boolean;
}

/** A burst with nothing in it: after a success, and for a fresh reason to connect. */
export const FRESH_BURST: RetryBurst = { attempts: 0, family: null, spent: false };

export interface RetryOptions {
  syncIntervalMs: number;
  /** A number in [0, 1); injectable so tests get exact delays. */
  random?: () => number;
}

/** The decision after a failed attempt (or a drop), and the burst that follows it. Pure. */
export function decideRetry(
  burst: RetryBurst,
  failure: ConnectFailure,
  opts: RetryOptions,
): { decision: RetryDecision; burst: RetryBurst } {
  if (failure.kind === "auth" || failure.kind === "invalidData") {
    return { decision: { kind: "stop", reason: failure.kind }, burst: { ...burst, spent: true } };
  }
  // A joined account the relay does not hold (in full) yet appears once a device that holds it
  // uploads it: nothing to gain from a fast burst, but worth a probe now and then.
  if (burst.spent || failure.kind === "accountNotFound" || failure.kind === "accountIncomplete") {
    return { decision: probe(failure, opts), burst: { ...burst, spent: true } };
  }
  const family = burstFamily(failure.kind);
  const attempts = (family === burst.family ? burst.attempts : 0) + 1;
  const max = MAX_ATTEMPTS[failure.kind];
  if (attempts >= max) return { decision: probe(failure, opts), burst: { attempts, family, spent: true } };
  const delayMs =
    failure.kind === "rateLimited" && failure.retryAfterMs !== null
      ? failure.retryAfterMs
      : BASE_DELAY_MS * 2 ** (attempts - 1);
  return {
    decision: { kind: "retry", delayMs, attempt: attempts + 1, of: max },
    burst: { attempts, family, spent: false },
  };
}

/** decideRetry with the burst kept inside, for callers that feed one failure after another. */
export class RetryPolicy {
  private burst: RetryBurst = FRESH_BURST;

  constructor(private readonly opts: RetryOptions) {}

  /** Called after a failed attempt: what to do next. */
  onFailure(failure: ConnectFailure): RetryDecision {
    const next = decideRetry(this.burst, failure, this.opts);
    this.burst = next.burst;
    return next.decision;
  }

  /** Called after a successful connection: the next outage starts a fresh burst. */
  onSuccess(): void {
    this.burst = FRESH_BURST;
  }
}

function probe(failure: ConnectFailure, opts: RetryOptions): RetryDecision {
  // A relay that said when to come back is not asked sooner.
  const floor = failure.kind === "rateLimited" ? (failure.retryAfterMs ?? 0) : 0;
  return { kind: "probe", delayMs: Math.max(probeDelayMs(opts), floor) };
}

/** The probe interval: syncIntervalMs with ±20 % jitter (also what an incomplete account is re-checked at). */
export function probeDelayMs(opts: RetryOptions): number {
  const random = opts.random ?? Math.random;
  const factor = 1 - JITTER + 2 * JITTER * random();
  return Math.round(opts.syncIntervalMs * factor);
}
