// The relay connection as one explicit state machine: a pure function from (state, event) to the
// next state and the effects to run, in order. Everything about connectivity is decided here: the
// client-visible SyncState changes, when an attempt starts, the retry schedule (retryPolicy.ts), the
// last error (failures.ts), and the notifications (sync.stateChange, sync.error with retryInMs). The
// runner (relayConnection.ts) only performs the effects and feeds the outcomes back as events, so
// the order of what happens on a drop, a pause or a success is written down once, below
// (transcripts: docs/architecture.md §2.11, test/sync/connectionMachine.test.ts).
import type { NotificationMap, SyncState } from "../protocol.js";
import { describeFailure, failureForRetry, type FailureSource, type WireFailure } from "./failures.js";
import type { ConnectFailure } from "./remote.js";
import { decideRetry, FRESH_BURST, type RetryBurst, type RetryOptions } from "./retryPolicy.js";

/** Where the relay link stands, inside the SyncState. */
export type LinkPhase =
  /** Nothing running or planned (not wanted, paused, retrying stopped, or waiting for connect()). */
  | "idle"
  /** One attempt (open the session if needed, then connect) is running. */
  | "connecting"
  /** An attempt failed or the link dropped; the next attempt is due at `retryAt`. */
  | "waiting"
  /** ONLINE. */
  | "connected";

export interface ConnectionState {
  readonly state: SyncState;
  readonly phase: LinkPhase;
  readonly paused: boolean;
  /** No more attempts: shutting down, or forgetting the identity (reset, a refused join). */
  readonly closing: boolean;
  /** The stored identity cannot be opened by the Remote (it was made without one). */
  readonly unusable: boolean;
  readonly lastError: (WireFailure & { at: number }) | null;
  readonly retryAt: number | null;
  readonly burst: RetryBurst;
}

export const INITIAL_CONNECTION: ConnectionState = {
  state: "UNINITIALIZED",
  phase: "idle",
  paused: false,
  closing: false,
  unusable: false,
  lastError: null,
  retryAt: null,
  burst: FRESH_BURST,
};

export interface MachineEnv extends RetryOptions {
  now: number;
  /** A Remote is configured; without one nothing ever connects. */
  hasRemote: boolean;
  /**
   * Start an attempt by itself when a connection is wanted (start-up, init, resume). Either way a
   * failed attempt or a drop is retried per the policy.
   */
  autoConnect: boolean;
}

export type ConnectionEvent =
  /** start-up with a stored identity, or sync.init: the identity is being opened. */
  | { type: "opening"; paused: boolean }
  /** sync.init could not store the identity. */
  | { type: "openAborted" }
  /** Opening the account failed (it is opened again by the next attempt). */
  | { type: "openFailed"; source: FailureSource }
  /** The identity is usable locally: INITIALIZING → OFFLINE, and a connection is wanted. */
  | { type: "opened"; reason: "start" | "init" }
  /** Someone asked for one attempt now (SyncManager.connect). */
  | { type: "attempt" }
  | { type: "connected" }
  | { type: "attemptFailed"; source: FailureSource }
  | { type: "dropped"; failure: ConnectFailure }
  | { type: "retryDue" }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "uploadFailed"; error: unknown }
  | { type: "forgetting" }
  | { type: "forgotten" }
  | { type: "closing" };

export type ConnectionEffect =
  | { type: "stateChange"; from: SyncState; to: SyncState }
  /** Run one attempt; its outcome comes back as connected / attemptFailed. */
  | { type: "attempt" }
  | { type: "scheduleRetry"; delayMs: number }
  | { type: "cancelRetry" }
  /** Drop the relay link; the session does not report it as a drop. */
  | { type: "disconnect" }
  | { type: "notifyError"; error: NotificationMap["sync.error"] }
  | { type: "connectionWanted"; reason: string }
  | { type: "persistPaused"; paused: boolean }
  | { type: "startExpiryTimer" }
  | { type: "startLastSeenTimer" }
  | { type: "stopTimers"; which: "lastSeen" | "all" }
  | { type: "markSynced" }
  | { type: "saveRootId" }
  | { type: "refreshLastSeen" }
  /** Start an upload run (the queue replay) in the background. */
  | { type: "upload" }
  /** Check in the background that the relay holds what this device holds (sync/integrity.ts). */
  | { type: "checkIntegrity" };

/** True when an attempt makes sense: OFFLINE, not paused, a usable identity and a Remote, not closing. */
export function wantsConnection(c: ConnectionState, env: Pick<MachineEnv, "hasRemote">): boolean {
  return c.state === "OFFLINE" && !c.paused && env.hasRemote && !c.closing && !c.unusable;
}

export function step(
  current: ConnectionState,
  event: ConnectionEvent,
  env: MachineEnv,
): { next: ConnectionState; effects: ConnectionEffect[] } {
  const t = new Transition(current, env);
  switch (event.type) {
    case "opening":
      t.set({ ...INITIAL_CONNECTION, state: t.c.state, paused: event.paused });
      t.moveTo("INITIALIZING");
      break;
    case "openAborted":
      t.moveTo("UNINITIALIZED");
      break;
    case "openFailed":
      t.recordFailure(event.source);
      t.notifyError();
      break;
    case "opened":
      t.moveTo("OFFLINE");
      t.emit({ type: "startExpiryTimer" });
      t.want(event.reason, { fresh: true });
      break;
    case "attempt":
      if (t.c.phase !== "connected" && t.c.phase !== "connecting" && t.wants()) t.startAttempt();
      break;
    case "connected":
      if (!t.wants()) {
        // Paused, reset or shutting down while the attempt ran.
        t.emit({ type: "disconnect" });
        t.set({ phase: "idle" });
        break;
      }
      t.set({ phase: "connected", lastError: null, retryAt: null, burst: FRESH_BURST });
      t.moveTo("ONLINE");
      t.emit({ type: "markSynced" }, { type: "saveRootId" }, { type: "refreshLastSeen" });
      t.emit({ type: "startLastSeenTimer" }, { type: "upload" }, { type: "checkIntegrity" });
      break;
    case "attemptFailed":
      if (t.c.closing) break; // cut short by shutdown or reset: nothing to report or retry
      t.recordFailure(event.source);
      t.planRetry(failureForRetry(event.source));
      t.notifyError();
      break;
    case "dropped":
      if (t.c.phase !== "connected") break; // a late report of a link already given up
      t.emit({ type: "stopTimers", which: "lastSeen" });
      t.moveTo("OFFLINE");
      t.recordFailure({ during: "drop", failure: event.failure });
      t.planRetry(event.failure);
      t.notifyError();
      t.emit({ type: "connectionWanted", reason: "disconnected" });
      break;
    case "retryDue":
      if (t.c.phase !== "waiting") break;
      // retryAt keeps the time this attempt was due until its outcome replaces it.
      if (t.wants()) {
        t.set({ phase: "connecting" });
        t.emit({ type: "attempt" });
      } else t.set({ phase: "idle", retryAt: null });
      break;
    // Saved last: a disk that refuses the write (the request answers -32008) still leaves every
    // other effect done, so the pause or resume holds until a restart.
    case "pause":
      t.set({ paused: true });
      t.stopLink();
      t.emit({ type: "persistPaused", paused: true });
      break;
    case "resume":
      t.set({ paused: false });
      t.want("resume", { fresh: true });
      t.emit({ type: "persistPaused", paused: false });
      break;
    case "uploadFailed":
      t.recordFailure({ during: "upload", error: event.error });
      t.notifyError();
      break;
    case "forgetting":
      t.set({ closing: true });
      t.cancelRetry();
      t.emit({ type: "stopTimers", which: "all" });
      t.set({ phase: "idle" });
      break;
    case "forgotten":
      t.set({ ...INITIAL_CONNECTION, state: t.c.state });
      t.moveTo("UNINITIALIZED");
      break;
    case "closing":
      // The link stays up if it is: shutdown's final upload still uses it.
      t.set({ closing: true });
      t.cancelRetry();
      t.emit({ type: "stopTimers", which: "all" });
      if (t.c.phase !== "connected") t.set({ phase: "idle" });
      break;
  }
  return { next: t.c, effects: t.effects };
}

/** Builds one step: the state as it changes, and the effects in the order they must run. */
class Transition {
  readonly effects: ConnectionEffect[] = [];

  constructor(
    public c: ConnectionState,
    private readonly env: MachineEnv,
  ) {}

  set(patch: Partial<ConnectionState>): void {
    this.c = { ...this.c, ...patch };
  }

  emit(...effects: ConnectionEffect[]): void {
    this.effects.push(...effects);
  }

  wants(): boolean {
    return wantsConnection(this.c, this.env);
  }

  moveTo(to: SyncState): void {
    const from = this.c.state;
    if (from === to) return;
    this.set({ state: to });
    this.emit({ type: "stateChange", from, to });
  }

  recordFailure(source: FailureSource): void {
    const wire = describeFailure(source);
    this.set({ lastError: { ...wire, at: this.env.now } });
    if (source.during === "localIdentity") this.set({ unusable: true });
  }

  /** sync.error for the last error, with the delay until the attempt that follows it. */
  notifyError(): void {
    const e = this.c.lastError;
    if (!e) return;
    const retryInMs = this.c.retryAt === null ? null : Math.max(0, this.c.retryAt - this.env.now);
    this.emit({
      type: "notifyError",
      error: { code: e.code, reason: e.reason, message: e.message, retryInMs },
    });
  }

  /** After a failed attempt or a drop: the policy's next attempt, or idle when it says stop. */
  planRetry(failure: ConnectFailure): void {
    this.cancelRetry();
    if (!this.wants()) {
      this.set({ phase: "idle" });
      return;
    }
    const { decision, burst } = decideRetry(this.c.burst, failure, this.env);
    this.set({ burst });
    if (decision.kind === "stop") {
      this.set({ phase: "idle" });
      return;
    }
    this.set({ phase: "waiting", retryAt: this.env.now + decision.delayMs });
    this.emit({ type: "scheduleRetry", delayMs: decision.delayMs });
  }

  /**
   * A new reason to connect. `fresh` (start-up, init, resume) forgets the current burst and any
   * scheduled attempt: an auth stop or a spent burst of an earlier identity or pause must not delay
   * or shorten this one.
   */
  want(reason: string, opts: { fresh: boolean }): void {
    this.emit({ type: "connectionWanted", reason });
    if (opts.fresh) {
      this.cancelRetry();
      this.set({ burst: FRESH_BURST });
      if (this.c.phase === "waiting") this.set({ phase: "idle" });
    }
    if (this.env.autoConnect && this.c.phase === "idle" && this.wants()) this.startAttempt();
  }

  startAttempt(): void {
    this.cancelRetry();
    this.set({ phase: "connecting" });
    this.emit({ type: "attempt" });
  }

  cancelRetry(): void {
    if (this.c.phase === "waiting") this.emit({ type: "cancelRetry" });
    this.set({ retryAt: null });
  }

  /** pause: the link goes down and nothing is planned; an attempt in flight is dropped on arrival. */
  stopLink(): void {
    if (this.c.phase === "connected") {
      this.emit({ type: "disconnect" }, { type: "stopTimers", which: "lastSeen" });
      this.moveTo("OFFLINE");
    }
    this.cancelRetry();
    this.set({ phase: "idle" });
  }
}
