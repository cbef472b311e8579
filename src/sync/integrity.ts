// The completeness check: after every connection, and again on the retry policy's probe schedule
// while the answer is not "complete", the daemon asks the Remote what is held where
// (RemoteSession.inventory: the relay is asked afresh, sent what it lacks of what this device
// holds, and parts this device lacks are loaded again). The verdict feeds daemon.health:
//
// | status       | meaning                                                              | healthy |
// |--------------|----------------------------------------------------------------------|---------|
// | `unknown`    | not checked on this identity yet (no connection so far)              | yes     |
// | `complete`   | this device holds the whole account, the relay all it holds          | yes     |
// | `restoring`  | the relay lacks some of what this device holds; it is being uploaded | yes     |
// | `incomplete` | part of the account is neither here nor on the relay                 | no      |
//
// `incomplete` is what a device sees when it joined while the relay held only part of the
// account: nothing it can do restores the rest, but it keeps probing, and completes by itself
// once a device that holds the rest has uploaded it.
import type { Logger } from "../log/logger.js";
import type { Clock, TimerHandle } from "./clock.js";
import type { MissingPart, RemoteInventory } from "./remote.js";
import type { RemoteLink } from "./remoteLink.js";
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
}

const UNKNOWN: IntegrityReport = { status: "unknown", checkedAt: null, missing: [] };

/** The verdict on one inventory taken while connected. */
export function judgeInventory(inv: RemoteInventory & { relay: NonNullable<RemoteInventory["relay"]> }) {
  const missing: PlacedPart[] = [
    ...inv.local.missing.map((m) => ({ where: "jazz" as const, ...m })),
    ...inv.relay.missing.map((m) => ({ where: "relay" as const, ...m })),
  ];
  const status: IntegrityStatus =
    inv.local.missing.length > 0 ? "incomplete" : inv.relay.missing.length > 0 ? "restoring" : "complete";
  return { status, missing };
}

export class IntegrityMonitor {
  private report: IntegrityReport = UNKNOWN;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  /** Bumped by stop(): a check still running then neither records nor reschedules. */
  private epoch = 0;

  constructor(
    private readonly deps: {
      link: Pick<RemoteLink, "connected" | "inventory">;
      clock: Clock;
      logger: Logger;
      retry: RetryOptions;
      /** How long one check waits for the relay to hold what this device holds. */
      timeoutMs: number;
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
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
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

  private async run(): Promise<void> {
    const { link, clock, logger } = this.deps;
    const epoch = this.epoch;
    let inv: RemoteInventory | null;
    try {
      inv = await link.inventory(this.deps.timeoutMs);
    } catch (err) {
      logger.warn({ err }, "the completeness check failed");
      inv = null;
    }
    // Disconnected meanwhile (no relay answer): the next connection checks again.
    if (epoch !== this.epoch || !inv?.relay || !link.connected) return;
    const { status, missing } = judgeInventory({ ...inv, relay: inv.relay });
    if (status !== this.report.status) {
      const fields = { status, missing: missing.map((m) => `${m.where}:${m.part}:${m.state}`) };
      if (status === "incomplete") logger.warn(fields, "the account is incomplete here and on the relay");
      else logger.info(fields, "account completeness checked");
    }
    const recovered =
      status === "complete" && this.report.status !== "complete" && this.report.status !== "unknown";
    this.report = { status, checkedAt: clock.now(), missing };
    if (recovered) this.deps.onCompleted?.();
    if (status !== "complete")
      this.timer = clock.setTimeout(() => void this.check(), probeDelayMs(this.deps.retry));
  }

  private clearTimer(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
