// The completeness check: after every connection, and again on the retry policy's probe schedule
// while the answer is not "complete", the daemon checks in the background that the account is
// whole here and on the relay. Two depths:
//
// - quick (RemoteSession.holdings): the relay is asked afresh what it holds and sent what it lacks
//   of what this device holds, parts this device lacks are loaded again, and the parts missing in
//   either place are listed. It reads no command: a reconnect costs a round trip per part, not a
//   read of the whole history.
// - full: sync.verify with repair (verify.ts over RemoteSession.inventory): the same, and the
//   commands of the cache, Jazz's storage and the relay compared and mended from each other.
//
// A check is quick unless the last verdict was `restoring` or `incomplete`, or the quick one finds
// something missing: then it is full. The cache and Jazz's storage need no comparing on a reconnect: every
// change reaches Jazz through the queue, which keeps it until the relay confirms it, and every
// record in Jazz reaches the cache through the session's delivery, which replays the whole history
// into the cache when the daemon starts. A sync.verify a client runs is recorded too. The verdict
// feeds daemon.health:
//
// | status       | meaning                                                              | healthy |
// |--------------|----------------------------------------------------------------------|---------|
// | `unknown`    | not checked on this identity yet (no connection so far)              | yes     |
// | `complete`   | this device holds the whole account, the relay all it holds          | yes     |
// | `restoring`  | a place lacks some of what another holds; it is being sent           | yes     |
// | `incomplete` | part of the account is neither here nor on the relay                 | no      |
//
// `incomplete` is what a device sees when it joined while the relay held only part of the
// account: nothing it can do restores the rest, but it keeps probing, and completes by itself
// once a device that holds the rest has uploaded it.
import type { Logger } from "../log/logger.js";
import type { VerifyResult } from "../protocol.js";
import type { Clock, TimerHandle } from "./clock.js";
import type { MissingPart, RemoteHoldings } from "./remote.js";
import { probeDelayMs, type RetryOptions } from "./retryPolicy.js";

export type IntegrityStatus = "unknown" | "complete" | "restoring" | "incomplete";

/** A part of the account missing in one place: this device's Jazz storage, or the relay. */
export interface PlacedPart extends MissingPart {
  where: "jazz" | "relay";
}

export interface IntegrityReport {
  status: IntegrityStatus;
  /** When the last check ended (ms); null before the first. */
  checkedAt: number | null;
  missing: PlacedPart[];
  /** Commands missing or behind somewhere, after the check's repair. */
  missingCommands: number;
}

const UNKNOWN: IntegrityReport = { status: "unknown", checkedAt: null, missing: [], missingCommands: 0 };

/** The verdict on one sync.verify that reached the relay. */
export function judge(result: VerifyResult): IntegrityReport {
  const { parts, commands } = result.missing;
  const missingCommands = commands.reduce((n, c) => n + c.absent + c.behind, 0);
  const status: IntegrityStatus = parts.some((p) => p.where === "jazz")
    ? "incomplete"
    : parts.length > 0 || missingCommands > 0
      ? "restoring"
      : "complete";
  return { status, checkedAt: result.checkedAt, missing: parts, missingCommands };
}

export class IntegrityMonitor {
  private report: IntegrityReport = UNKNOWN;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private runningEpoch = 0;
  /** Bumped by stop(): a check still running then neither records nor reschedules. */
  private epoch = 0;

  constructor(
    private readonly deps: {
      /** sync.verify with repair; null when no session is open. */
      verify: () => Promise<VerifyResult | null>;
      /** The quick check (RemoteSession.holdings); null when no session is open. */
      holdings: () => Promise<RemoteHoldings | null>;
      /** The relay link is up (a check that ends after a drop is not recorded). */
      connected: () => boolean;
      clock: Clock;
      logger: Logger;
      retry: RetryOptions;
      /** The account became complete after a check that said otherwise (queued writes can go now). */
      onCompleted?: () => void;
    },
  ) {}

  get current(): IntegrityReport {
    return this.report;
  }

  /** Checks now (single flight); while the verdict is not complete, again at the probe interval. */
  check(): Promise<void> {
    this.clearTimer();
    if (this.running && this.runningEpoch === this.epoch) return this.running;
    // A check of an earlier connection still running is not this one's: run again after it.
    const epoch = this.epoch;
    const run: Promise<void> = (this.running ?? Promise.resolve())
      .then(() => this.run(epoch))
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    [this.running, this.runningEpoch] = [run, epoch];
    return run;
  }

  /** Stops probing (the link dropped, a pause, shutdown); the last verdict stays until the next. */
  stop(): void {
    this.epoch++;
    this.clearTimer();
  }

  /** Forgets the verdict (a new identity). */
  reset(): void {
    this.stop();
    this.report = UNKNOWN;
  }

  /**
   * Takes a sync.verify result that reached the relay (a client's, or this monitor's own) as the
   * current verdict; while it is not complete, the next check is planned at the probe interval.
   */
  record(result: VerifyResult): void {
    if (!result.relayChecked) return;
    const next = judge(result);
    if (next.status !== this.report.status) {
      const fields = {
        status: next.status,
        missing: next.missing.map((m) => `${m.where}:${m.part}:${m.state}`),
        missingCommands: next.missingCommands,
      };
      if (next.status === "incomplete")
        this.deps.logger.warn(fields, "the account is incomplete here and on the relay");
      else this.deps.logger.info(fields, "account completeness checked");
    }
    const recovered = next.status === "complete" && ["incomplete", "restoring"].includes(this.report.status);
    this.report = next;
    if (recovered) this.deps.onCompleted?.();
    this.clearTimer();
    if (next.status !== "complete" && this.deps.connected())
      this.timer = this.deps.clock.setTimeout(() => void this.check(), probeDelayMs(this.deps.retry));
  }

  private async run(epoch: number): Promise<void> {
    if (epoch !== this.epoch) return; // stopped before it began
    let result: VerifyResult | null;
    try {
      const settled = ["unknown", "complete"].includes(this.report.status);
      if (settled && (await this.quickCheck(epoch))) return;
      if (epoch !== this.epoch) return;
      result = await this.deps.verify();
    } catch (err) {
      this.deps.logger.warn({ err }, "the completeness check failed");
      result = null;
    }
    // Disconnected meanwhile (no relay answer): the next connection checks again.
    if (epoch !== this.epoch || !result || !this.deps.connected()) return;
    this.record(result);
  }

  /**
   * The quick check; true when it settled the verdict: nothing missing anywhere (complete), or
   * no relay answer (disconnected: the next connection checks again). False: run the full one.
   */
  private async quickCheck(epoch: number): Promise<boolean> {
    const held = await this.deps.holdings();
    if (epoch !== this.epoch || !held?.relay || !this.deps.connected()) return true;
    if (held.local.missing.length > 0 || held.relay.missing.length > 0) return false;
    this.report = { ...UNKNOWN, status: "complete", checkedAt: this.deps.clock.now() };
    return true;
  }

  private clearTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
