// Running and controlling the daemon: daemon (foreground), start, stop, restart.
import { Option, type Command } from "commander";
import { loadConfig, type ConfigOverrides } from "../../config/load.js";
import { ConnectionError } from "../../client/errors.js";
import { defaultDaemonCommand } from "../../client/launch.js";
import { SyncClient } from "../../client/SyncClient.js";
import { connectSocket } from "../../client/transport.js";
import type { CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import type { Action } from "../program.js";

/** Bound on `stop`: the daemon's flush at shutdown is bounded too (shutdownFlushMs, 3 s default). */
const STOP_TIMEOUT_MS = 15_000;

interface DaemonFlags {
  relay?: string;
  logLevel?: string;
  cachePath?: string;
  config?: string;
  metricsPort?: string;
}

function addDaemonFlags(cmd: Command): Command {
  return cmd
    .option("--relay <url>", "Jazz relay URL (ws:// or wss://)")
    .option("--log-level <level>", "log level (trace, debug, info, warn, error, fatal)")
    .option("--cache-path <path>", "SQLite cache file")
    .option("--config <file>", "config file (default ~/.config/cmdai/sync-daemon.json)")
    .option(
      "--metrics-port <port>",
      "serve GET /metrics (Prometheus) on 127.0.0.1:<port>; 0 = off (default)",
    );
}

export function registerDaemonCommands(program: Command, action: Action): void {
  addDaemonFlags(program.command("daemon").description("run the daemon in the foreground"))
    .addOption(new Option("--background", "log to the log file instead of stderr (used by start)").hideHelp())
    .action(action((ctx, opts: DaemonFlags & { background?: boolean }) => daemon(ctx, opts)));

  addDaemonFlags(program.command("start").description("start the daemon in the background")).action(
    action((ctx, opts: DaemonFlags) => start(ctx, opts)),
  );

  program
    .command("stop")
    .description("stop the daemon (exit 0 when it is not running)")
    .action(action((ctx) => stop(ctx)));

  addDaemonFlags(program.command("restart").description("stop the daemon, then start it")).action(
    action((ctx, opts: DaemonFlags) => restart(ctx, opts)),
  );
}

function overridesOf(ctx: CliContext, flags: DaemonFlags): ConfigOverrides {
  return {
    socketPath: ctx.socketOverride,
    relay: flags.relay,
    logLevel: flags.logLevel,
    cachePath: flags.cachePath,
    configFile: flags.config,
    metricsPort: flags.metricsPort,
  };
}

async function daemon(ctx: CliContext, flags: DaemonFlags & { background?: boolean }): Promise<number> {
  // Loaded on demand: client commands stay fast and never load the daemon's internals.
  const { runDaemon } = await import("../../main.js");
  const code = await runDaemon({ overrides: overridesOf(ctx, flags), background: flags.background === true });
  // runDaemon resolves once the daemon has shut down in order; should a library still hold a
  // handle open, do not linger as a zombie daemon.
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}

interface StartResult {
  running: true;
  started: boolean;
  pid: number | null;
  version: string;
  socket: string;
}

async function start(ctx: CliContext, flags: DaemonFlags): Promise<number> {
  const result = await startDaemon(ctx, flags);
  ctx.out.result(result, () =>
    result.started
      ? `started the caro-sync daemon ${result.version} (pid ${result.pid ?? "?"}) on ${result.socket}`
      : `the caro-sync daemon ${result.version} is already running on ${result.socket}`,
  );
  return EXIT.ok;
}

async function startDaemon(ctx: CliContext, flags: DaemonFlags): Promise<StartResult> {
  // Fail here, with the message naming the file and key, rather than as a silent background exit 78;
  // and show what the background daemon would only log (a misspelt key, say).
  const { config, warnings } = loadConfig(overridesOf(ctx, flags));
  for (const warning of warnings) ctx.out.warn(warning);
  const socket = await ctx.socketPath();
  const running = await SyncClient.probe(socket);
  if (running) {
    try {
      const { version } = await running.ping();
      return { running: true, started: false, pid: null, version, socket };
    } finally {
      running.close();
    }
  }
  let launched: Awaited<ReturnType<typeof SyncClient.launch>>;
  try {
    launched = await SyncClient.launch({
      socketPath: socket,
      command: defaultDaemonCommand(socket, daemonArgs(flags)),
    });
  } catch (err) {
    if (!(err instanceof ConnectionError)) throw err;
    throw new ConnectionError(err.message, {
      socketPath: socket,
      errno: err.errno,
      hint: `see ${config.logFile}, or run \`caro-sync daemon\` to run it in the foreground`,
    });
  }
  const { client, child } = launched;
  try {
    const { version } = await client.ping();
    return { running: true, started: true, pid: child.pid ?? null, version, socket };
  } finally {
    client.close();
  }
}

function daemonArgs(flags: DaemonFlags): string[] {
  const args: string[] = [];
  if (flags.relay !== undefined) args.push("--relay", flags.relay);
  if (flags.logLevel !== undefined) args.push("--log-level", flags.logLevel);
  if (flags.cachePath !== undefined) args.push("--cache-path", flags.cachePath);
  if (flags.config !== undefined) args.push("--config", flags.config);
  if (flags.metricsPort !== undefined) args.push("--metrics-port", flags.metricsPort);
  return args;
}

interface StopResult {
  stopped: boolean;
  wasRunning: boolean;
  pendingOperations: number;
  socket: string;
}

async function stop(ctx: CliContext): Promise<number> {
  const result = await stopDaemon(ctx);
  ctx.out.result(result, () =>
    result.wasRunning
      ? `stopped the caro-sync daemon on ${result.socket}`
      : `the caro-sync daemon is not running (${result.socket})`,
  );
  return EXIT.ok;
}

async function stopDaemon(ctx: CliContext): Promise<StopResult> {
  const socket = await ctx.socketPath();
  let client: SyncClient;
  try {
    client = await ctx.connect();
  } catch (err) {
    if (err instanceof ConnectionError && err.notRunning) {
      return { stopped: false, wasRunning: false, pendingOperations: 0, socket };
    }
    throw err;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  const gone = new Promise<void>((resolve) => client.onClose(() => resolve()));
  let pendingOperations: number;
  try {
    ({ pendingOperations } = await client.shutdown({ reason: "caro-sync stop" }));
  } catch (err) {
    client.close();
    throw err;
  }
  // The daemon closes our connection when it exits; then its socket stops answering.
  await untilDeadline(gone, deadline);
  client.close();
  while (await answers(socket)) {
    if (Date.now() >= deadline) {
      throw new Error(`the daemon on ${socket} did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
    }
    await delay(50);
  }
  return { stopped: true, wasRunning: true, pendingOperations, socket };
}

async function restart(ctx: CliContext, flags: DaemonFlags): Promise<number> {
  loadConfig(overridesOf(ctx, flags));
  const stopped = await stopDaemon(ctx);
  const started = await startDaemon(ctx, flags);
  ctx.out.result({ ...started, stopped: stopped.stopped }, () => [
    stopped.wasRunning ? "stopped the caro-sync daemon" : "the caro-sync daemon was not running",
    `started the caro-sync daemon ${started.version} (pid ${started.pid ?? "?"}) on ${started.socket}`,
  ]);
  return EXIT.ok;
}

async function answers(socket: string): Promise<boolean> {
  try {
    (await connectSocket(socket, 1_000)).destroy();
    return true;
  } catch (err) {
    if (err instanceof ConnectionError && err.notRunning) return false;
    throw err;
  }
}

function untilDeadline(promise: Promise<void>, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
