// Composition root: config → logger → cache/SyncManager → methods → IPC server → start → signals.
// Every part is built here and handed only the narrow things it needs; shutdown runs in reverse.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { CacheLockedError, openLocalStores } from "./cache/index.js";
import { CacheCorruptError, EX_DATAERR, isCorruptionError } from "./cache/db.js";
import { ConfigError, EX_CONFIG, loadConfig, type ConfigOverrides } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { createGate } from "./ipc/gate.js";
import { createDispatcher } from "./ipc/dispatch.js";
import { daemonMethods } from "./ipc/methods/daemon.js";
import { deviceMethods } from "./ipc/methods/device.js";
import { syncMethods } from "./ipc/methods/sync.js";
import type { MethodTable } from "./ipc/methods/types.js";
import { AlreadyRunningError, createIpcServer } from "./ipc/server.js";
import { clearStaleSocket, SocketDirectoryError, usesNamedPipe } from "./ipc/socket-file.js";
import { exitAfterFatal, openLogFile, stderrOutput, type LogOutput } from "./log/logFile.js";
import { createLogger, type Logger } from "./log/logger.js";
import { instrumentMethods } from "./metrics/instrument.js";
import { MetricsPortError, startMetricsServer, type MetricsServer } from "./metrics/httpServer.js";
import { createMetrics } from "./metrics/metrics.js";
import { systemClock, type Clock } from "./sync/clock.js";
import { CredentialsError } from "./sync/credentials.js";
import { SyncManager } from "./sync/SyncManager.js";
import { cryptoModeFromEnv } from "./jazz/cryptoMode.js";
import { LazyJazzRemote } from "./jazz/lazyRemote.js";
import { DAEMON_VERSION } from "./version.js";
import { startIdleCollector } from "./runtime/idleCollector.js";
import { flushCompileCache } from "./runtime/compileCache.js";

/** Exit codes of the daemon process (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  failure: 1,
  alreadyRunning: 75, // EX_TEMPFAIL: another daemon owns the socket
  config: EX_CONFIG, // also: the metrics port cannot be bound
  noPermission: 77, // EX_NOPERM: the credentials file is readable by others
  software: 70, // EX_SOFTWARE: an unexpected crash
} as const;

// SyncManager event names behind the protocol's notification names.
const EVENT_SOURCES = {
  "sync.stateChange": "stateChange",
  "sync.complete": "syncComplete",
  "sync.error": "error",
  "sync.entries": "entries",
} as const;

export interface DaemonHandle {
  readonly config: Readonly<Config>;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly stopped: Promise<number>;
  shutdown(reason: string): Promise<number>;
}

/**
 * Runs the daemon in this process until it stops. Resolves with the process exit code:
 * 0 after a clean shutdown, 78 for a configuration error (or a metrics port that cannot be bound),
 * 75 when another daemon is live.
 * `background: true` logs to config.logFile (rotated by size) instead of stderr.
 */
export async function runDaemon(opts: { overrides: ConfigOverrides; background: boolean }): Promise<number> {
  // Everything the daemon creates (the cache, Jazz's storage and their WAL files, logs) is the
  // user's alone, whatever umask it was started with: Jazz's SQLite files are otherwise 0644.
  process.umask(0o077);
  let config: Readonly<Config>;
  let warnings: string[];
  try {
    ({ config, warnings } = loadConfig(opts.overrides));
    // Checked here although Jazz loads later (or never): a bad value must stop the start (78).
    cryptoModeFromEnv();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`caro-sync: configuration error: ${err.message}\n`);
    return EXIT.config;
  }
  const output = logOutput(config, opts.background);
  const logger = createLogger({ level: config.logLevel, destination: output.destination });
  for (const warning of warnings) logger.warn(warning);

  // Signal handlers go in before the socket answers: a SIGTERM that arrives while starting is
  // held and honoured once the daemon can shut down in order.
  let daemon: DaemonHandle | null = null;
  let pendingSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (daemon) void daemon.shutdown(signal);
    else pendingSignal ??= signal;
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const removeSignalHandlers = () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };

  try {
    daemon = await startDaemon({ config, logger });
  } catch (err) {
    removeSignalHandlers();
    const code = startFailure(err, logger);
    await output.close();
    return code;
  }
  if (pendingSignal) void daemon.shutdown(pendingSignal);

  // A crash past per-message isolation leaves state unknown: log it and exit; the cache is durable.
  process.on("uncaughtException", (err) =>
    exitAfterFatal({ logger, output, err, msg: "uncaught exception", code: EXIT.software }),
  );
  const code = await daemon.stopped;
  removeSignalHandlers();
  await output.close();
  return code;
}

/** Reports why the daemon could not start and picks the exit code. */
function startFailure(err: unknown, logger: Logger): number {
  if (err instanceof AlreadyRunningError) {
    process.stderr.write(`caro-sync: ${err.message}\n`);
    return EXIT.alreadyRunning;
  }
  if (err instanceof MetricsPortError) {
    // Like a config error: retrying will not help until the user changes the port.
    logger.fatal({ err }, "metrics port unavailable");
    process.stderr.write(`caro-sync: ${err.message}\n`);
    return EXIT.config;
  }
  if (err instanceof CacheLockedError) {
    process.stderr.write(
      `caro-sync: ${err.message} (stop it, or give this one its own CARO_SYNC_CACHE_PATH)\n`,
    );
    return EXIT.alreadyRunning;
  }
  if (err instanceof SocketDirectoryError) {
    logger.fatal({ err }, "socket directory refused");
    process.stderr.write(`caro-sync: ${err.message}\n`);
    return EXIT.noPermission;
  }
  if (err instanceof CredentialsError) {
    logger.fatal({ err }, "credentials refused");
    process.stderr.write(`caro-sync: ${err.message}\n`);
    return EXIT.noPermission;
  }
  if (err instanceof CacheCorruptError || isCorruptionError(err)) {
    // A restart cannot fix a damaged file: say which one and the way out, and exit EX_DATAERR.
    logger.fatal({ err }, "damaged database refused");
    const message =
      err instanceof CacheCorruptError
        ? err.message
        : `a database file is damaged (${(err as Error).message}): run \`caro-sync doctor\` to see which, then \`caro-sync repair\``;
    process.stderr.write(`caro-sync: ${message}\n`);
    return EX_DATAERR;
  }
  logger.fatal({ err }, "daemon failed to start");
  process.stderr.write(`caro-sync: failed to start: ${(err as Error).message}\n`);
  return EXIT.failure;
}

/** stderr in the foreground; in the background config.logFile, rotated by size. */
function logOutput(config: Readonly<Config>, background: boolean): LogOutput {
  if (!background) return stderrOutput();
  mkdirSync(dirname(config.logFile), { recursive: true, mode: 0o700 });
  return openLogFile({ path: config.logFile, maxBytes: config.logMaxBytes, files: config.logFiles });
}

/** Builds and starts every part. Throws AlreadyRunningError when a live daemon owns the socket. */
export async function startDaemon(deps: {
  config: Readonly<Config>;
  logger: Logger;
  clock?: Clock;
}): Promise<DaemonHandle> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const startedAt = clock.now();

  // A live daemon on our socket is the usual reason its cache is locked: say that one first.
  if (!usesNamedPipe()) await clearStaleSocket(config.socketPath, 1_000);
  const remote = new LazyJazzRemote({
    relayUrl: config.relay,
    storagePath: config.jazzStoragePath,
    logger: logger.child({ part: "jazz" }),
    clock,
  });
  const manager = await SyncManager.open({
    ...openLocalStores(config),
    config,
    clock,
    logger: logger.child({ part: "sync" }),
    remote,
  });
  const metrics = createMetrics({ queueSize: () => manager.pendingOperations() });

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<number> | null = null;

  const methods: MethodTable = instrumentMethods(
    {
      ...daemonMethods({
        version: DAEMON_VERSION,
        startedAt,
        clock,
        metrics,
        health: () => manager.healthReport(),
        // The shutdown request itself is in flight; it is not pending work.
        pendingOperations: () => manager.pendingOperations() + Math.max(0, server.inFlight() - 1),
        requestShutdown: (reason) => setImmediate(() => void shutdown(reason)),
        subscribe: (event, listener) => manager.on(EVENT_SOURCES[event], listener),
      }),
      ...syncMethods(manager),
      ...deviceMethods(manager),
    },
    metrics,
  );
  const dispatcher = createDispatcher({
    methods,
    gate: createGate(() => manager.state),
    logger: logger.child({ part: "ipc" }),
  });
  const server = createIpcServer({
    socketPath: config.socketPath,
    dispatcher,
    logger: logger.child({ part: "ipc" }),
  });

  try {
    // Before the socket accepts: a sync.init sent as soon as it answers must meet the restored
    // identity, not race its restore (two opens of one account).
    manager.restore();
    await server.start();
  } catch (err) {
    await manager.shutdown();
    throw err;
  }
  // After the socket, so that a second daemon reports "already running" rather than a taken port.
  let metricsServer: MetricsServer | null = null;
  try {
    if (config.metricsPort > 0) {
      metricsServer = await startMetricsServer({
        registry: await metrics.registry(),
        port: config.metricsPort,
        logger: logger.child({ part: "metrics" }),
      });
    }
    // Jazz loads once the socket answers, and only for an identity to open (sync.init loads it
    // otherwise). A Jazz that cannot load (CARO_SYNC_JAZZ_CRYPTO=native without the native build)
    // fails the start here.
    if (manager.state !== "UNINITIALIZED") await remote.load();
    await manager.start();
  } catch (err) {
    await metricsServer?.close();
    await server.stop({ drainMs: 0 });
    await manager.shutdown();
    throw err;
  }
  logger.info(
    { socket: config.socketPath, state: manager.state, version: DAEMON_VERSION },
    "caro-sync daemon ready",
  );
  // Memory back to the system once a burst of work is over (runtime/idleCollector.ts).
  const stopIdleCollector = startIdleCollector({ clock });

  // Ordered, best-effort: stop serving metrics (its gauges read the cache), stop accepting and
  // drain in-flight requests, stop connecting and make the final upload, close the sync side
  // (remote, then cache), then end the connections, and report. Each failure is logged; the next
  // step still runs. The connections close last: a client that asked for the shutdown (`caro-sync
  // stop`, restart) learns the daemon is done when its connection closes, and may start another.
  const shutdown = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      logger.info({ reason }, "shutting down");
      stopIdleCollector();
      let code: number = EXIT.ok;
      await metricsServer?.close();
      await server.drain({ drainMs: 5_000 });
      try {
        // Stops connecting, uploads what it can within shutdownFlushMs, closes remote and cache.
        await manager.shutdown({ finalUploadMs: config.shutdownFlushMs });
      } catch (err) {
        logger.error({ err }, "closing the sync manager failed");
        code = EXIT.failure;
      }
      flushCompileCache();
      await server.stop();
      logger.info({ code }, "daemon stopped");
      resolveStopped(code);
      return code;
    })();
    return stopping;
  };

  return { config, stopped, shutdown };
}
