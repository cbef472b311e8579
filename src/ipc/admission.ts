// The connection budget (docs/protocol.md, "Limits and timeouts"): a crowded socket never locks out
// a new client. Two bounds, checked when a connection arrives:
//  - idle connections (no subscription, nothing in flight, nothing left to write) are kept up to
//    `maxIdleConnections`; a new one beyond it closes the connection idle the longest;
//  - all connections, subscribed and busy ones included, up to `maxConnections` (file descriptors
//    are finite): a new one at the ceiling closes the connection idle the longest or, when every
//    connection is busy or subscribed, is itself refused.
// A closed or refused connection first gets one error line saying why (the errors below), and the
// log gets one warning per burst of them, not one per connection (CrowdLog).
import type { Logger } from "../log/logger.js";
import { ERROR_REASON_VARIANTS, ErrorCode, SyncError } from "../protocol.js";
import type { Clock, TimerHandle } from "../sync/clock.js";

/** What the budget needs to know about an open connection. */
export interface Candidate {
  readonly id: number;
  /** Closing it loses nothing: no subscription, no request in flight, no output pending. */
  readonly idle: boolean;
  /** When it last read a line or wrote an answer (clock time). */
  readonly lastActivity: number;
}

export interface BudgetLimits {
  maxIdleConnections: number;
  maxConnections: number;
}

export interface Admission<C extends Candidate> {
  /** Connections to close to make room, idle the longest first. */
  evict: C[];
  /** The new connection is refused: everything open is busy or subscribed and the ceiling is reached. */
  refuse: boolean;
}

/** Decides what a new connection costs, given the connections open now (not closing). */
export function admit<C extends Candidate>(open: Iterable<C>, limits: BudgetLimits): Admission<C> {
  let total = 0;
  const idle: C[] = [];
  for (const c of open) {
    total++;
    if (c.idle) idle.push(c);
  }
  idle.sort((a, b) => a.lastActivity - b.lastActivity || a.id - b.id);
  // The new connection is idle too: keep idle + 1 within its budget and total + 1 within the ceiling.
  let evicted = 0;
  while (
    evicted < idle.length &&
    (idle.length - evicted >= limits.maxIdleConnections || total - evicted >= limits.maxConnections)
  )
    evicted++;
  return { evict: idle.slice(0, evicted), refuse: total - evicted >= limits.maxConnections };
}

/** The most clients can wait before trying again after a refusal (an answer is usually quick). */
export const REFUSED_RETRY_AFTER_MS = 1000;

/** Sent to an idle connection closed to make room for a new one. */
export function evictedError(limits: BudgetLimits): SyncError {
  return new SyncError(ErrorCode.RateLimited, "Rate Limited: too many connections; closing this idle one", {
    reason: ERROR_REASON_VARIANTS.TooManyConnections.reason,
    limit: limits.maxIdleConnections,
    hint: "this connection was idle and the daemon needed room for a new one; reconnect to go on",
  });
}

/** Sent to a new connection refused because every open one is busy or subscribed. */
export function refusedError(limits: BudgetLimits): SyncError {
  return new SyncError(ErrorCode.RateLimited, "Rate Limited: too many connections", {
    reason: ERROR_REASON_VARIANTS.TooManyConnections.reason,
    limit: limits.maxConnections,
    retryAfterMs: REFUSED_RETRY_AFTER_MS,
    hint: `the daemon has ${limits.maxConnections} connections open, all busy or subscribed; retry shortly, or stop the clients that hold them`,
  });
}

/** Sent to an idle connection that sent nothing for `idleTimeoutMs`. */
export function idleTimeoutError(idleTimeoutMs: number): SyncError {
  return new SyncError(ErrorCode.RateLimited, "Rate Limited: idle connection closed", {
    reason: ERROR_REASON_VARIANTS.IdleTimeout.reason,
    idleTimeoutMs,
    hint: "the connection sent nothing for too long; reconnect to go on",
  });
}

type CrowdEvent = "evicted" | "refused";

/**
 * One warning per burst of evicted or refused connections: a process opening connections in a
 * loop must not flood the log. The first event of a burst logs a `warn`; the next ones are only
 * counted; once `quietMs` pass without one, an `info` line sums the burst up.
 */
export class CrowdLog {
  private burst: { evicted: number; refused: number; startedAt: number; lastAt: number } | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly quietMs: number,
  ) {}

  record(event: CrowdEvent, context: Record<string, unknown>): void {
    const now = this.clock.now();
    if (this.burst) {
      this.burst[event]++;
      this.burst.lastAt = now;
      return;
    }
    this.burst = { evicted: 0, refused: 0, startedAt: now, lastAt: now };
    this.burst[event]++;
    this.logger.warn(
      { ...context, [event]: 1 },
      event === "evicted"
        ? "too many IPC connections: closing the longest idle ones (one warning per burst)"
        : "too many IPC connections, all busy or subscribed: refusing new ones (one warning per burst)",
    );
    this.arm(this.quietMs);
  }

  /** Sums up a burst still running (the server stops). */
  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.summarise();
  }

  private arm(ms: number): void {
    // The summary must not keep a stopping process alive by itself.
    this.timer = this.clock.setTimeout(() => this.check(), ms, { unref: true });
  }

  private check(): void {
    this.timer = null;
    const burst = this.burst;
    if (!burst) return;
    const quiet = this.clock.now() - burst.lastAt;
    if (quiet < this.quietMs) this.arm(this.quietMs - quiet);
    else this.summarise();
  }

  private summarise(): void {
    const burst = this.burst;
    if (!burst) return;
    this.burst = null;
    const { evicted, refused, startedAt, lastAt } = burst;
    this.logger.info({ evicted, refused, durationMs: lastAt - startedAt }, "IPC connection burst over");
  }
}
