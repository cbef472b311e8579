// The TypeScript client of the caro-sync daemon: newline-delimited JSON-RPC 2.0 over its socket,
// typed by protocol.ts. One connection, many concurrent calls matched by id (the daemon may
// answer in any order), notifications to listeners, a timeout per call (docs/protocol.md,
// "Limits and timeouts"). A connection the daemon closed because it sat idle (its idle timeout,
// or room needed for a new one) is opened again by the next call: nothing was lost with it.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { TextDecoder } from "node:util";
// Values from protocol/constants.js and protocol/errors.js only: the rest of protocol/ is zod schemas,
// which a client has no use for (and which cost a CLI process most of its start-up).
import type {
  ErrorData,
  JsonRpcErrorObject,
  MethodName,
  NotificationMap,
  ParamsOf,
  ResultOf,
} from "../protocol.js";
import { MAX_LINE_BYTES, TIMEOUTS } from "../protocol/constants.js";
import { ERROR_REASON_VARIANTS, ErrorCode } from "../protocol/errors.js";
import { ConnectionError, RpcError, TimeoutError } from "./errors.js";
import { defaultDaemonCommand, spawnDaemon, waitForReady, type DaemonCommand } from "./launch.js";
import { LineReader, MAX_RESPONSE_BYTES } from "./lineReader.js";
import { SyncMethods, type CallOptions } from "./methods.js";
import { connectSocket } from "./transport.js";

export interface ConnectOptions {
  socketPath: string;
  /** Default 5 s (TIMEOUTS.connect). */
  connectTimeoutMs?: number;
  /**
   * When the socket does not answer (no socket file, or a stale one): start the daemon and wait
   * up to 5 s for it to answer `daemon.ping`. `true` runs this package's `caro-sync daemon`.
   */
  autoStart?: boolean | DaemonCommand;
  /** Largest message accepted from the daemon (default 512 MiB). */
  maxResponseBytes?: number;
}

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Listener = (params: unknown) => void;

/** The client-side timeouts of docs/protocol.md: a full pull (no cursor) may read the whole cache. */
export function defaultTimeoutMs(method: string, params: unknown): number {
  // A verify with repair waits for an upload, as a push with ack "relay" does.
  if (method === "sync.push" || method === "sync.verify") return TIMEOUTS.push;
  if (method === "sync.pull") {
    const since = (params as { since?: number | null } | undefined)?.since;
    return since === undefined || since === null ? TIMEOUTS.fullPull : TIMEOUTS.request;
  }
  return TIMEOUTS.request;
}

export class SyncClient extends SyncMethods {
  readonly socketPath: string;
  private socket!: Socket;
  private reader!: LineReader;
  private readonly maxResponseBytes: number;
  /** The daemon said it closes this idle connection (an id-null -32005 idle notice). */
  private closingIdle = false;
  /** Closed by the daemon as idle: the next call connects again. */
  private idleClosed = false;
  private reopening: Promise<void> | null = null;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly closeListeners = new Set<(err: ConnectionError) => void>();
  private nextId = 1;
  private closedWith: ConnectionError | null = null;
  private lastSocketError: NodeJS.ErrnoException | null = null;

  /** Wraps a connected socket; prefer `SyncClient.connect`. */
  constructor(socket: Socket, socketPath: string, maxResponseBytes = MAX_RESPONSE_BYTES) {
    super();
    this.socketPath = socketPath;
    this.maxResponseBytes = maxResponseBytes;
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.reader = new LineReader(this.maxResponseBytes);
    this.lastSocketError = null;
    this.closingIdle = false;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => (this.lastSocketError = err));
    socket.on("close", () => {
      if (socket !== this.socket) return;
      const cause = this.lastSocketError;
      const why = cause ? `: ${cause.code ?? cause.message}` : "";
      const lost = new ConnectionError(
        `the connection to the daemon at ${this.socketPath} was closed${why}`,
        {
          socketPath: this.socketPath,
          errno: cause?.code,
          cause: cause ?? undefined,
          hint: "the daemon may have stopped; check `caro-sync status`",
        },
      );
      if (!this.closingIdle || this.closedWith) return this.fail(lost);
      // Closed as idle: a call sent as it closed rejects (it may not have run); the client stays usable.
      this.idleClosed = true;
      this.rejectPending(lost);
    });
  }

  /** Opens a new connection after the daemon closed the last one as idle (one attempt per caller). */
  private reopen(): Promise<void> {
    this.reopening ??= connectSocket(this.socketPath, TIMEOUTS.connect)
      .then((socket) => {
        if (this.closedWith) {
          socket.destroy();
          throw this.closedWith;
        }
        this.idleClosed = false;
        this.attach(socket);
      })
      .finally(() => (this.reopening = null));
    return this.reopening;
  }

  /** Connects to the daemon, starting it first when `autoStart` is set and nothing answers. */
  static async connect(opts: ConnectOptions): Promise<SyncClient> {
    const timeoutMs = opts.connectTimeoutMs ?? TIMEOUTS.connect;
    try {
      return new SyncClient(
        await connectSocket(opts.socketPath, timeoutMs),
        opts.socketPath,
        opts.maxResponseBytes,
      );
    } catch (err) {
      if (!opts.autoStart || !(err instanceof ConnectionError) || !err.notRunning) throw err;
    }
    const command = opts.autoStart === true ? undefined : opts.autoStart;
    const { client } = await SyncClient.launch({ ...opts, command });
    return client;
  }

  /**
   * Starts a daemon (default: this package's `caro-sync daemon --background` on `socketPath`)
   * and resolves with a client once it answers `daemon.ping`, within `timeoutMs` (5 s default).
   * Does not check first whether one is already running.
   */
  static async launch(opts: {
    socketPath: string;
    command?: DaemonCommand | undefined;
    timeoutMs?: number;
    maxResponseBytes?: number | undefined;
  }): Promise<{ client: SyncClient; child: ChildProcess }> {
    const child = spawnDaemon(opts.command ?? defaultDaemonCommand(opts.socketPath));
    const probe = (remainingMs: number) =>
      SyncClient.probe(opts.socketPath, remainingMs, opts.maxResponseBytes);
    const client = await waitForReady(probe, {
      child,
      socketPath: opts.socketPath,
      timeoutMs: opts.timeoutMs ?? TIMEOUTS.daemonStart,
    });
    return { client, child };
  }

  /** A client whose daemon answered `daemon.ping`, or null when nothing answers (yet). */
  static async probe(
    socketPath: string,
    timeoutMs: number = TIMEOUTS.connect,
    maxResponseBytes?: number,
  ): Promise<SyncClient | null> {
    let client: SyncClient;
    try {
      client = new SyncClient(await connectSocket(socketPath, timeoutMs), socketPath, maxResponseBytes);
    } catch (err) {
      if (err instanceof ConnectionError) return null;
      throw err;
    }
    try {
      await client.ping({ timeoutMs });
      return client;
    } catch (err) {
      client.close();
      if (err instanceof ConnectionError || err instanceof TimeoutError) return null;
      throw err;
    }
  }

  /** Sends a request and resolves with its result; see the class comment for the failure types. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>, opts: CallOptions = {}): Promise<ResultOf<M>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.idleClosed) return this.reopen().then(() => this.call(method, params, opts));
    const id = this.nextId++;
    const line = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    // The daemon cannot tell which request an oversized line was, so refuse it here with the
    // error the daemon would give.
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      return Promise.reject(
        new RpcError(method, {
          code: ErrorCode.PayloadTooLarge,
          message: `request exceeds the ${MAX_LINE_BYTES}-byte message limit`,
          data: { reason: "payload_too_large", limit: MAX_LINE_BYTES, hint: "send fewer entries per call" },
        }),
      );
    }
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs(method, params);
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
      this.socket.write(line + "\n");
    });
  }

  /** Sends a notification (no id): the daemon runs it and answers nothing. */
  notify<M extends MethodName>(method: M, params: ParamsOf<M>): void {
    if (this.closedWith) throw this.closedWith;
    // A notification has no answer to carry a failure: one that cannot reconnect is dropped.
    if (this.idleClosed)
      return void this.reopen().then(
        () => this.notify(method, params),
        () => undefined,
      );
    this.socket.write(JSON.stringify({ jsonrpc: "2.0", method, params }) + "\n");
  }

  /** Listens to a server notification (after `subscribe`). Returns the unsubscribe function. */
  on<E extends keyof NotificationMap>(event: E, listener: (params: NotificationMap[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const l = listener as Listener;
    set.add(l);
    return () => set.delete(l);
  }

  /**
   * Called once when the client ends for good, whoever ended it (not when the daemon closes an idle
   * connection: the next call reopens it). Returns the unsubscribe function.
   */
  onClose(listener: (err: ConnectionError) => void): () => void {
    if (this.closedWith) {
      const err = this.closedWith;
      queueMicrotask(() => listener(err));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** A connection is open now (false after close, and while an idle one waits for the next call). */
  get connected(): boolean {
    return this.closedWith === null && !this.idleClosed;
  }

  /** Closes the connection; calls still pending reject with ConnectionError. */
  close(): void {
    if (this.closedWith) return;
    this.fail(
      new ConnectionError(`the client closed the connection to ${this.socketPath}`, {
        socketPath: this.socketPath,
        hint: "",
      }),
    );
  }

  private onData(chunk: Buffer): void {
    let lines: Buffer[];
    try {
      lines = this.reader.push(chunk);
    } catch (err) {
      this.protocolError((err as Error).message);
      return;
    }
    for (const line of lines) {
      if (this.closedWith) return;
      if (line.length === 0) continue;
      let message: unknown;
      try {
        message = JSON.parse(this.decoder.decode(line));
      } catch (err) {
        this.protocolError(`the daemon sent a message that is not JSON (${(err as Error).message})`);
        return;
      }
      for (const m of Array.isArray(message) ? (message as unknown[]) : [message]) this.dispatch(m);
    }
  }

  private dispatch(message: unknown): void {
    if (message === null || typeof message !== "object") return;
    const m = message as {
      id?: unknown;
      method?: unknown;
      params?: unknown;
      result?: unknown;
      error?: unknown;
    };
    if (typeof m.method === "string") {
      if (m.id === undefined) this.emit(m.method, m.params);
      return; // the daemon sends no requests to clients
    }
    const error = m.error as JsonRpcErrorObject | undefined;
    if (m.id === null && error && isIdleNotice(error)) this.closingIdle = true;
    let id = m.id;
    // A daemon that could not read a request answers with id null; with one call in flight it is ours.
    if (id === null && error && this.pending.size === 1) id = this.pending.keys().next().value;
    if (typeof id !== "number") return;
    const call = this.pending.get(id);
    if (!call) return; // timed out already
    this.pending.delete(id);
    clearTimeout(call.timer);
    if (error) call.reject(new RpcError(call.method, normalizeError(error)));
    else call.resolve(m.result);
  }

  private emit(method: string, params: unknown): void {
    for (const listener of [...(this.listeners.get(method) ?? [])]) {
      try {
        listener(params);
      } catch (err) {
        // A listener's bug is the caller's: surface it like an EventEmitter would, later, so the
        // reader stays consistent.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  private protocolError(detail: string): void {
    this.fail(
      new ConnectionError(`protocol error from the daemon at ${this.socketPath}: ${detail}`, {
        socketPath: this.socketPath,
        hint: "the daemon and client versions may not match; check `caro-sync ping`",
      }),
    );
  }

  private fail(err: ConnectionError): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.socket.destroy();
    this.rejectPending(err);
    for (const listener of [...this.closeListeners]) listener(err);
    this.closeListeners.clear();
  }

  private rejectPending(err: ConnectionError): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(err);
    }
  }
}

/**
 * The line the daemon sends before it closes an idle connection: its idle timeout, or room made
 * for a new connection (a refusal of a new one carries `retryAfterMs` instead, docs/protocol.md).
 */
function isIdleNotice(error: JsonRpcErrorObject): boolean {
  const data = error.data as { reason?: unknown; retryAfterMs?: unknown } | undefined;
  if (error.code !== ErrorCode.RateLimited || !data) return false;
  return (
    data.reason === ERROR_REASON_VARIANTS.IdleTimeout.reason ||
    (data.reason === ERROR_REASON_VARIANTS.TooManyConnections.reason && data.retryAfterMs === undefined)
  );
}

function normalizeError(error: JsonRpcErrorObject): { code: number; message: string; data?: ErrorData } {
  const code = typeof error.code === "number" ? error.code : ErrorCode.InternalError;
  const message = typeof error.message === "string" ? error.message : "error";
  const data = error.data !== null && typeof error.data === "object" ? error.data : undefined;
  return data ? { code, message, data } : { code, message };
}
