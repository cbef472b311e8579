// The IPC server (docs/protocol.md): newline-delimited JSON-RPC 2.0 over a Unix socket (a named pipe on
// Windows). It owns the socket file and the connections; each connection owns its flow control
// (connection.ts); the dispatcher turns lines into responses (dispatch.ts); the connection budget
// decides who gets in and who is closed to make room (admission.ts).
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../log/logger.js";
import { MAX_LINE_BYTES } from "../protocol.js";
import { systemClock, type Clock } from "../sync/clock.js";
import { withDeadline } from "../sync/deadline.js";
import { admit, CrowdLog, evictedError, refusedError } from "./admission.js";
import { dismissSocket, IpcConnection } from "./connection.js";
import { encodeError, type Dispatcher } from "./dispatch.js";
import {
  clearStaleSocket,
  listenPrivately,
  prepareSocketDirectory,
  removeSocketFile,
  secureSocketFile,
  usesNamedPipe,
} from "./socket-file.js";

export { AlreadyRunningError } from "./socket-file.js";

export interface IpcLimits {
  /** Longest line read, newline excluded (default MAX_LINE_BYTES, 1 MiB). */
  maxLineBytes: number;
  /** Requests (lines) running at once per connection; at the cap the connection is not read. */
  maxInFlightPerConnection: number;
  /** Notifications queued for a connection that is not reading; more are dropped and counted. */
  maxQueuedNotifications: number;
  /**
   * Idle connections kept (no subscription, nothing in flight, nothing left to write); a new
   * connection beyond it closes the one idle the longest, after an error line (admission.ts).
   */
  maxIdleConnections: number;
  /**
   * Connections open at once, subscribed and busy ones included. A new connection at the ceiling
   * closes the one idle the longest; when none is idle it is itself refused with an error line.
   */
  maxConnections: number;
  /** An idle connection that sends nothing for this long is closed after an error line; 0: never. */
  idleTimeoutMs: number;
  /** A burst of evicted or refused connections ends after this long without one (one warning each). */
  crowdQuietMs: number;
  /** How long start() waits for an existing socket to answer daemon.ping. */
  probeTimeoutMs: number;
  /** How long stop() lets a connection flush its output after end() before destroying it. */
  closeGraceMs: number;
}

export const DEFAULT_IPC_LIMITS: IpcLimits = {
  maxLineBytes: MAX_LINE_BYTES,
  maxInFlightPerConnection: 64,
  maxQueuedNotifications: 1000,
  maxIdleConnections: 128,
  maxConnections: 512,
  // Longer than any pause of a person in an interactive command: `caro-sync init` holds its
  // connection while the recovery phrase is written down.
  idleTimeoutMs: 30 * 60_000,
  crowdQuietMs: 10_000,
  probeTimeoutMs: 1000,
  closeGraceMs: 1000,
};

export interface IpcServerOptions {
  socketPath: string;
  dispatcher: Dispatcher;
  logger: Logger;
  limits?: Partial<IpcLimits>;
  /** Drives the idle timeout, the activity order and the burst warnings (default: the system clock). */
  clock?: Clock;
}

export interface IpcStats {
  connections: number;
  inFlight: number;
  /** Input bytes held by all framers (partial lines and unread chunks). */
  bufferedInputBytes: number;
  /** Output bytes written but not yet taken by the kernel, over all connections. */
  pendingOutputBytes: number;
  queuedNotifications: number;
  /** Connections whose input is paused (in-flight cap or a client not reading). */
  readPaused: number;
  /** Connections whose output is blocked because the client is not reading. */
  writeBlocked: number;
}

export interface IpcServer {
  readonly socketPath: string;
  /**
   * Prepares the socket file (see socket-file.ts) and listens. Rejects with AlreadyRunningError
   * when another daemon answers on the socket, and with an Error when the path is unusable.
   */
  start(): Promise<void>;
  /**
   * Shutdown, step 1: closes the listener (new clients are refused), starts no new request, and
   * lets in-flight requests finish and write their responses (for at most `drainMs`, default 5 s).
   * Connections stay open, so a client learns the daemon is gone when its connection closes, in
   * step 2 (`stop`), after the daemon has closed its files. Idempotent. Never rejects.
   */
  drain(opts?: { drainMs?: number }): Promise<void>;
  /**
   * Step 2: drains (step 1, if not done yet), ends every connection and removes the socket file.
   * Idempotent: every call returns the same promise. Never rejects.
   */
  stop(opts?: { drainMs?: number }): Promise<void>;
  connections(): number;
  inFlight(): number;
  stats(): IpcStats;
}

export function createIpcServer({
  socketPath,
  dispatcher,
  logger,
  limits,
  clock = systemClock,
}: IpcServerOptions): IpcServer {
  const config: IpcLimits = { ...DEFAULT_IPC_LIMITS, ...limits };
  if (!(config.maxIdleConnections >= 1 && config.maxConnections >= 1))
    throw new RangeError("IPC limits: maxIdleConnections and maxConnections must be at least 1");
  const open = new Set<IpcConnection>();
  const crowd = new CrowdLog(logger, clock, config.crowdQuietMs);
  // Built once: a burst closes hundreds of connections with the same two lines.
  const evicted = evictedError(config);
  const refusedLine = encodeError(null, refusedError(config));
  let server: Server | undefined;
  let socketIno: number | undefined;
  let nextId = 1;
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  let stopping: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let listenerClosed: Promise<void> | undefined;

  function accept(socket: Socket): void {
    if (draining) {
      socket.destroy();
      return;
    }
    if (!makeRoom(socket)) return;
    const connection = new IpcConnection(nextId++, socket, {
      dispatcher,
      logger,
      clock,
      maxLineBytes: config.maxLineBytes,
      maxInFlight: config.maxInFlightPerConnection,
      maxQueuedNotifications: config.maxQueuedNotifications,
      idleTimeoutMs: config.idleTimeoutMs,
      closeGraceMs: config.closeGraceMs,
      onRequestStart: () => inFlight++,
      onRequestSettled: () => {
        inFlight--;
        if (inFlight > 0) return;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      },
    });
    open.add(connection);
    logger.debug({ connection: connection.id, connections: open.size }, "client connected");
    connection.onClose(() => {
      open.delete(connection);
      logger.debug({ connection: connection.id, connections: open.size }, "client disconnected");
    });
  }

  /** Applies the connection budget for a new socket: closes idle ones; false when it is refused. */
  function makeRoom(socket: Socket): boolean {
    const live = [...open].filter((c) => !c.closing);
    const { evict, refuse } = admit(live, config);
    if (evict.length === 0 && !refuse) return true;
    const { maxIdleConnections, maxConnections } = config;
    const idle = live.filter((c) => c.idle).length;
    const context = { connections: live.length, idle, maxIdleConnections, maxConnections };
    for (const victim of evict) {
      logger.debug({ connection: victim.id }, "closing an idle connection to make room");
      crowd.record("evicted", context);
      victim.dismiss(evicted);
    }
    if (!refuse) return true;
    crowd.record("refused", context);
    dismissSocket(socket, refusedLine, config.closeGraceMs);
    return false;
  }

  async function start(): Promise<void> {
    if (server) throw new Error("IPC server already started");
    if (!usesNamedPipe()) {
      await prepareSocketDirectory(socketPath, logger);
      await clearStaleSocket(socketPath, config.probeTimeoutMs);
    }
    // No `maxConnections` on the listener: Node would close further sockets without a word.
    const candidate = createServer({ allowHalfOpen: true }, accept);
    await listenPrivately(candidate, socketPath);
    candidate.on("error", (err) => logger.error({ err }, "IPC server error"));
    try {
      if (!usesNamedPipe()) socketIno = await secureSocketFile(socketPath);
    } catch (err) {
      candidate.close();
      throw err;
    }
    server = candidate;
    logger.info({ socket: socketPath }, "IPC server listening");
  }

  /** Resolves true once nothing is in flight, or false after `ms`. */
  function waitIdle(ms: number): Promise<boolean> {
    if (inFlight === 0) return Promise.resolve(true);
    let wake!: () => void;
    const idle = new Promise<boolean>((resolve) => idleWaiters.push((wake = () => resolve(true))));
    return withDeadline(idle, {
      ms,
      clock: systemClock,
      onTimeout: () => {
        idleWaiters = idleWaiters.filter((w) => w !== wake);
        return false;
      },
    });
  }

  async function drainRequests(drainMs: number): Promise<void> {
    const listening = server;
    if (!listening) return;
    // Closing the listener first: new clients get ECONNREFUSED/ENOENT, not a half-served connection.
    listenerClosed = new Promise<void>((resolve) => listening.close(() => resolve()));
    crowd.stop();
    for (const connection of open) connection.stopAccepting();
    if (!(await waitIdle(drainMs))) {
      logger.warn({ inFlight, drainMs }, "IPC stop: requests still running after the drain bound");
    }
  }

  /** Step 1 once, whoever asks first: `drain()`, or `stop()` without it. */
  function drain(drainMs: number): Promise<void> {
    draining ??= drainRequests(drainMs).catch((err: unknown) => {
      logger.error({ err }, "IPC drain failed");
    });
    return draining;
  }

  async function shutdown(drainMs: number): Promise<void> {
    await drain(drainMs);
    if (!listenerClosed) return;
    await Promise.all([...open].map((c) => c.close(config.closeGraceMs)));
    await listenerClosed;
    if (!usesNamedPipe()) {
      try {
        await removeSocketFile(socketPath, socketIno);
      } catch (err) {
        logger.warn({ err, socket: socketPath }, "could not remove the socket file");
      }
    }
    logger.info({ socket: socketPath }, "IPC server stopped");
  }

  return {
    socketPath,
    start,
    drain: (opts = {}) => drain(opts.drainMs ?? 5_000),
    stop(opts = {}) {
      stopping ??= shutdown(opts.drainMs ?? 5_000).catch((err: unknown) => {
        logger.error({ err }, "IPC stop failed");
      });
      return stopping;
    },
    connections: () => open.size,
    inFlight: () => inFlight,
    stats() {
      const stats: IpcStats = {
        connections: open.size,
        inFlight,
        bufferedInputBytes: 0,
        pendingOutputBytes: 0,
        queuedNotifications: 0,
        readPaused: 0,
        writeBlocked: 0,
      };
      for (const connection of open) {
        const s = connection.stats();
        stats.bufferedInputBytes += s.bufferedInputBytes;
        stats.pendingOutputBytes += s.pendingOutputBytes;
        stats.queuedNotifications += s.queuedNotifications;
        if (s.readPaused) stats.readPaused++;
        if (s.writeBlocked) stats.writeBlocked++;
      }
      return stats;
    },
  };
}
