// `caro-sync relay`: a self-hosted Jazz sync server in the foreground (docs/cli.md).
import { InvalidArgumentError, type Command } from "commander";
import { LOG_LEVELS, type LogLevel } from "../../log/levels.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../exitCodes.js";
import type { Action } from "../program.js";

interface RelayFlags {
  host: string;
  port: number;
  db?: string;
  inMemory?: boolean;
  durability: "full" | "normal";
  logLevel: LogLevel;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("expected a port number");
  return n;
}

function logLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(", ")}`);
  return value as LogLevel;
}

function durability(value: string): "full" | "normal" {
  if (value !== "full" && value !== "normal") throw new InvalidArgumentError("expected full or normal");
  return value;
}

export function registerRelayCommand(program: Command, action: Action): void {
  program
    .command("relay")
    .description("run a self-hosted Jazz relay (sync server) in the foreground")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", port, 4200)
    .option("--db <path>", "SQLite file that persists everything the relay holds")
    .option("--in-memory", "keep everything in memory (lost when the relay stops)")
    .option(
      "--durability <mode>",
      "full: fsync every commit; normal: faster, may lose the last commits on power loss",
      durability,
      "full",
    )
    .option("--log-level <level>", "log level", logLevel, "info" as LogLevel)
    .action(action((ctx, flags: RelayFlags) => relay(ctx, flags)));
}

async function relay(ctx: CliContext, flags: RelayFlags): Promise<number> {
  if (!flags.db === !flags.inMemory) {
    throw new UsageError(
      "relay needs exactly one of --db PATH or --in-memory",
      "e.g. `caro-sync relay --db ~/relay.db`",
    );
  }
  // Loaded on demand: the client commands never load Jazz.
  const [{ runRelayCommand }, { createLogger }] = await Promise.all([
    import("../../relay/command.js"),
    import("../../log/logger.js"),
  ]);
  const logger = createLogger({ level: flags.logLevel, name: "caro-sync-relay" });
  return runRelayCommand({
    host: flags.host,
    port: flags.port,
    dbPath: flags.db,
    inMemory: flags.inMemory,
    durability: flags.durability,
    logger,
    onListening: ({ url, port }) =>
      ctx.out.result({ listening: true, url, port }, () => `relay listening on ${url}`),
  });
}
