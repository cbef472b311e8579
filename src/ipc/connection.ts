// One client connection: framing, flow control and the notification queue. Nothing a client sends
// can make the daemon hold more than a bounded amount of memory for it:
//  - input: the framer holds at most one line (MAX_LINE_BYTES) plus one chunk; a new chunk is read
//    only after every complete line of the last one has been taken;
//  - work: at most `maxInFlight` requests run at once; at the cap, reading pauses;
//  - output: when `socket.write` returns false (the client is not reading), reading pauses until
//    'drain', so a client that never reads stops feeding requests and responses stop accumulating;
//  - notifications: queued while the socket is blocked, at most `maxQueuedNotifications`; beyond
//    that they are dropped, and one `daemon.notificationsDropped {dropped}` notification takes the
//    place of each run of dropped ones, so the client learns exactly where and how many it missed.
// A client that hangs up while its requests run aborts `signal`, so handlers stop waiting for it
// (hangupProbe.ts tells a hang-up from a half-close). A connection that is idle (no subscription,
// nothing in flight, nothing left to write) for `idleTimeoutMs` is dismissed; the server dismisses
// idle ones to make room for new clients (admission.ts).
import type { Socket } from "node:net";
import type { Logger } from "../log/logger.js";
import { ErrorCode, SyncError, type NotificationMap } from "../protocol.js";
import { systemClock, type Clock, type TimerHandle } from "../sync/clock.js";
import { withDeadline } from "../sync/deadline.js";
import { idleTimeoutError } from "./admission.js";
import { encodeError, type Dispatcher } from "./dispatch.js";
import { LineFramer, type FrameEvent } from "./framing.js";
import { HangupProbe } from "./hangupProbe.js";
import { encodeErrorWithRawId } from "./leadingId.js";
import type { Connection } from "./methods/types.js";

export interface ConnectionOptions {
  dispatcher: Dispatcher;
  logger: Logger;
  maxLineBytes: number;
  maxInFlight: number;
  maxQueuedNotifications: number;
  /** Idle (see `idle`) and sending nothing for this long: dismissed. 0: never. */
  idleTimeoutMs: number;
  /** How long a dismissed connection waits for the client to close before it is destroyed. */
  closeGraceMs: number;
  clock: Clock;
  /** Called when a request starts and when it settles (the server counts in-flight work for stop()). */
  onRequestStart(): void;
  onRequestSettled(): void;
}

export interface ConnectionStats {
  inFlight: number;
  bufferedInputBytes: number;
  pendingOutputBytes: number;
  queuedNotifications: number;
  readPaused: boolean;
  writeBlocked: boolean;
}

/** A run of dropped notifications, reported in its place in the queue. */
interface DroppedRun {
  dropped: number;
}

export class IpcConnection implements Connection {
  private readonly framer: LineFramer;
  private inFlight = 0;
  /** The framer has no complete line left: reading more input is safe. */
  private framerDrained = true;
  private writeBlocked = false;
  private readEnded = false;
  /** The server is stopping: no new requests are started. */
  private stopping = false;
  private ending = false;
  private closed = false;
  private readonly closeListeners = new Set<() => void>();
  private queue: (string | DroppedRun)[] = [];
  private queuedMessages = 0;
  private readonly gone = new AbortController();
  private readonly hangup: HangupProbe;
  /** Subscriptions holding the connection open (holdOpen). */
  private holds = 0;
  private activityAt: number;
  private idleTimer: TimerHandle | null = null;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.framer = new LineFramer({ maxLineBytes: opts.maxLineBytes });
    this.hangup = new HangupProbe(socket, () => this.inFlight > 0 && !this.ending && !this.closed);
    this.activityAt = opts.clock.now();
    this.armIdleTimer(opts.idleTimeoutMs);
    socket.on("data", (chunk: Buffer) => {
      if (this.ending) return; // closing: input is read only to reach the client's FIN, then dropped
      this.activityAt = opts.clock.now();
      this.framer.push(chunk);
      this.framerDrained = false;
      this.pump();
    });
    socket.on("end", () => {
      // The client half-closed: answer what it sent (a final line needs no "\n"), then end.
      this.readEnded = true;
      this.framer.end();
      this.framerDrained = false;
      this.pump();
      this.hangup.start();
    });
    socket.on("drain", () => {
      this.activityAt = opts.clock.now();
      this.writeBlocked = false;
      this.flushNotifications();
      this.pump();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      opts.logger.debug({ connection: id, code: err.code }, "connection error");
    });
    socket.on("close", () => this.handleClose());
  }

  notify<E extends keyof NotificationMap>(method: E, params: NotificationMap[E]): void {
    if (this.closed || this.ending) return;
    let line: string;
    try {
      line = JSON.stringify({ jsonrpc: "2.0", method, params });
    } catch (err) {
      this.opts.logger.error({ err, connection: this.id, method }, "notification not serializable");
      return;
    }
    if (!this.writeBlocked && this.queue.length === 0) this.write(line);
    else this.enqueue(line);
  }

  get signal(): AbortSignal {
    return this.gone.signal;
  }

  onClose(listener: () => void): () => void {
    if (this.closed) {
      // Registered too late: run it anyway, so a subscription made during close is still released.
      queueMicrotask(() => this.runCloseListener(listener));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  holdOpen(): () => void {
    this.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holds--;
      // Idle from now on: the idle timeout counts from the release, not from the subscription.
      this.activityAt = this.opts.clock.now();
    };
  }

  /** Closing it loses nothing: no subscription, no request in flight, no output pending, not closing. */
  get idle(): boolean {
    return (
      !this.ending &&
      !this.closed &&
      this.holds === 0 &&
      this.inFlight === 0 &&
      !this.writeBlocked &&
      this.queue.length === 0 &&
      this.socket.writableLength === 0
    );
  }

  /** When the client last sent something or was last answered (clock time). */
  get lastActivity(): number {
    return this.activityAt;
  }

  /** Ending or closed: it no longer counts against the connection budget. */
  get closing(): boolean {
    return this.ending || this.closed;
  }

  /**
   * Closes the connection with one last line saying why: the error response
   * `{"jsonrpc":"2.0","id":null,"error":…}` of `err`; nothing is read or answered after it
   * (dismissSocket: closed by the client's FIN, or destroyed after closeGraceMs).
   */
  dismiss(err: SyncError): void {
    if (this.closing) return;
    this.ending = true;
    this.clearIdleTimer();
    this.hangup.stop();
    this.queue = [];
    this.queuedMessages = 0;
    dismissSocket(this.socket, encodeError(null, err), this.opts.closeGraceMs);
  }

  stats(): ConnectionStats {
    return {
      inFlight: this.inFlight,
      bufferedInputBytes: this.framer.bufferedBytes,
      pendingOutputBytes: this.socket.writableLength,
      queuedNotifications: this.queuedMessages,
      readPaused: this.socket.isPaused(),
      writeBlocked: this.writeBlocked,
    };
  }

  /** Server shutdown, step 1: start no new requests (the in-flight ones still answer). */
  stopAccepting(): void {
    this.stopping = true;
    this.pump();
  }

  /** Server shutdown, step 2: end the connection; destroy it if it has not closed after `graceMs`. */
  close(graceMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    this.end();
    // A paused socket never sees the client's FIN, so it would never close by itself.
    this.socket.resume();
    // The grace timer must not keep a stopping process alive by itself.
    return withDeadline(closed, {
      ms: graceMs,
      clock: systemClock,
      unref: true,
      onTimeout: () => {
        this.socket.destroy();
        return closed;
      },
    });
  }

  /** Takes lines from the framer while there is capacity, then decides whether to read more. */
  private pump(): void {
    // Once ending, the socket stays flowing (input dropped) so the client's FIN can close it.
    if (this.closed || this.ending) return;
    try {
      this.takeLines();
    } catch (err) {
      // A defect, not client input (accept() catches per message): drop this client, keep the daemon.
      this.opts.logger.error({ err, connection: this.id }, "connection failed; closing it");
      this.socket.destroy();
    }
  }

  private takeLines(): void {
    while (!this.stopping && !this.writeBlocked && this.inFlight < this.opts.maxInFlight) {
      const event = this.framer.next();
      if (event === undefined) {
        this.framerDrained = true;
        break;
      }
      this.accept(event);
    }
    const canRead =
      !this.stopping && !this.writeBlocked && this.inFlight < this.opts.maxInFlight && this.framerDrained;
    if (canRead && !this.readEnded) this.socket.resume();
    else this.socket.pause();
    if (this.readEnded && this.framerDrained && this.inFlight === 0) this.end();
  }

  /** One framed message; its own try/catch so nothing a client sends escapes. */
  private accept(event: FrameEvent): void {
    try {
      switch (event.kind) {
        case "line":
          this.dispatch(event.text);
          return;
        case "invalidUtf8":
          this.write(encodeError(null, new SyncError(ErrorCode.ParseError, "Parse error: invalid UTF-8")));
          return;
        case "oversize": {
          const message = `Payload Too Large: a line may not exceed ${event.limit} bytes`;
          const err = new SyncError(ErrorCode.PayloadTooLarge, message, { limit: event.limit });
          // With the id from the line's first bytes when readable, so the client can match it.
          this.write(event.id === undefined ? encodeError(null, err) : encodeErrorWithRawId(event.id, err));
          return;
        }
      }
    } catch (err) {
      this.opts.logger.error({ err, connection: this.id }, "message handling failed");
    }
  }

  private dispatch(text: string): void {
    const answer = this.opts.dispatcher.handle(text, this);
    if (!(answer instanceof Promise)) {
      // Answered at once (daemon.ping): nothing was in flight, and takeLines goes on by itself.
      if (answer !== null) this.write(answer);
      return;
    }
    this.inFlight++;
    this.opts.onRequestStart();
    answer.then(
      (response) => this.settle(response),
      (err: unknown) => {
        this.opts.logger.error({ err, connection: this.id }, "dispatch rejected");
        this.settle(null);
      },
    );
  }

  /** A request is answered: write its response, then take more lines. Never throws. */
  private settle(response: string | null): void {
    try {
      if (response !== null) this.write(response);
    } catch (err) {
      this.opts.logger.error({ err, connection: this.id }, "writing a response failed");
    }
    try {
      this.inFlight--;
      this.activityAt = this.opts.clock.now();
      this.opts.onRequestSettled();
      this.pump();
    } catch (err) {
      this.opts.logger.error({ err, connection: this.id }, "pump failed");
    }
  }

  private write(line: string): void {
    if (this.closed || this.ending || !this.socket.writable) return;
    if (this.socket.write(`${line}\n`)) return;
    if (!this.writeBlocked)
      this.opts.logger.debug({ connection: this.id }, "client not reading; pausing input");
    this.writeBlocked = true;
    this.socket.pause();
  }

  private enqueue(line: string): void {
    if (this.queuedMessages < this.opts.maxQueuedNotifications) {
      this.queue.push(line);
      this.queuedMessages++;
      return;
    }
    const tail = this.queue[this.queue.length - 1];
    if (tail !== undefined && typeof tail !== "string") tail.dropped++;
    else this.queue.push({ dropped: 1 });
  }

  private flushNotifications(): void {
    while (!this.writeBlocked && !this.closed) {
      const entry = this.queue.shift();
      if (entry === undefined) return;
      if (typeof entry === "string") {
        this.queuedMessages--;
        this.write(entry);
      } else {
        const params: NotificationMap["daemon.notificationsDropped"] = { dropped: entry.dropped };
        this.write(JSON.stringify({ jsonrpc: "2.0", method: "daemon.notificationsDropped", params }));
      }
    }
  }

  private end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.clearIdleTimer();
    this.socket.end();
  }

  /**
   * The idle timeout, checked lazily: activity only moves `activityAt`; the timer, when it fires,
   * dismisses the connection if it has been idle long enough, or waits for the rest.
   */
  private armIdleTimer(ms: number): void {
    if (this.opts.idleTimeoutMs <= 0) return;
    // It must not keep the process alive: the server's listener does.
    this.idleTimer = this.opts.clock.setTimeout(() => this.checkIdle(), ms, { unref: true });
  }

  private checkIdle(): void {
    this.idleTimer = null;
    if (this.closing) return;
    const timeout = this.opts.idleTimeoutMs;
    if (!this.idle) {
      this.armIdleTimer(timeout);
      return;
    }
    const idleFor = this.opts.clock.now() - this.activityAt;
    if (idleFor < timeout) {
      this.armIdleTimer(timeout - idleFor);
      return;
    }
    this.opts.logger.debug({ connection: this.id, idleTimeoutMs: timeout }, "closing an idle connection");
    this.dismiss(idleTimeoutError(timeout));
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) this.opts.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    this.hangup.stop();
    this.gone.abort();
    this.queue = [];
    this.queuedMessages = 0;
    for (const listener of this.closeListeners) this.runCloseListener(listener);
    this.closeListeners.clear();
  }

  private runCloseListener(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.opts.logger.error({ err, connection: this.id }, "close listener failed");
    }
  }
}

/**
 * Writes `line` as the socket's last output and ends it. Input is read and dropped from then on (a
 * client may have sent a request before it reads the line), so the client's FIN closes the socket;
 * a client that keeps its end open is destroyed after `graceMs`.
 */
export function dismissSocket(socket: Socket, line: string, graceMs: number): void {
  socket.on("error", () => {}); // an EPIPE here only means the client is already gone
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const grace = setTimeout(() => socket.destroy(), graceMs).unref();
  socket.once("close", () => clearTimeout(grace));
  socket.end(`${line}\n`);
  socket.resume();
}
