// `caro-sync logs [-f] [--lines N]`: the background daemon's log file (pino JSON lines) for a
// human, or the raw lines with --json (JSON lines output, like history). The last lines reach back
// into the rotated files (sync-daemon.log.1, .2, …) when the current one is short.
import { join } from "node:path";
import type { Command } from "commander";
import { ConfigError, defaultPaths, loadConfig } from "../../config/load.js";
import { rotatedLogPath } from "../../log/logFileName.js";
import { formatLogLine, parseLogLine } from "../logs/logFormat.js";
import { followLog, tailLines } from "../logs/logTail.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT, UsageError } from "../exitCodes.js";
import type { Action } from "../program.js";
import { colors } from "../ui.js";

const DEFAULT_LINES = 50;

interface LogsOptions {
  follow?: boolean;
  lines?: string;
}

export function registerLogsCommands(program: Command, action: Action): void {
  program
    .command("logs")
    .description("the background daemon's log: the last lines, and with -f new ones as they come")
    .option("-f, --follow", "keep printing lines as they are appended, until interrupted")
    .option("-n, --lines <n>", `how many of the last lines to print (default ${DEFAULT_LINES})`)
    .action(action((ctx, opts: LogsOptions) => logs(ctx, opts)));
}

async function logs(ctx: CliContext, opts: LogsOptions): Promise<number> {
  const count = parseCount(opts.lines);
  const path = logFilePath();
  let tail: Awaited<ReturnType<typeof tailLines>>;
  try {
    tail = await tailLines(path, count, { older: (index) => rotatedLogPath(path, index) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new CliError(
        `no log file at ${path}`,
        EXIT.failure,
        "no_log_file",
        "`caro-sync start` runs the daemon in the background and writes it (`caro-sync daemon` logs to stderr)",
      );
    }
    throw new CliError(`cannot read ${path} (${code ?? "error"})`, EXIT.failure, "log_unreadable");
  }
  const print = printer(ctx);
  for (const line of tail.lines) print(line);
  if (!opts.follow) return EXIT.ok;

  const stopped = new AbortController();
  const onSigint = () => stopped.abort();
  // A closed pipe (`caro-sync logs -f | head`) ends it too, quietly.
  const onStdoutError = () => stopped.abort();
  process.once("SIGINT", onSigint);
  process.stdout.once("error", onStdoutError);
  try {
    await followLog(path, tail.position, print, stopped.signal);
  } finally {
    process.off("SIGINT", onSigint);
    process.stdout.off("error", onStdoutError);
  }
  return EXIT.ok;
}

function parseCount(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LINES;
  if (!/^\d+$/.test(value)) throw new UsageError(`--lines must be a whole number, got "${value}"`);
  return Number(value);
}

/**
 * config.logFile; it does not depend on any setting, so with an invalid configuration (which
 * `doctor` reports) the logs of an earlier run are still shown from the default place.
 */
function logFilePath(): string {
  try {
    return loadConfig().config.logFile;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return join(defaultPaths().cacheDir, "sync-daemon.log");
  }
}

/** Human: formatted. --json: the line itself when it is a JSON object; anything else is dropped. */
function printer(ctx: CliContext): (line: string) => void {
  if (!ctx.json) return (line) => ctx.out.print(formatLogLine(line, colors));
  let warned = false;
  return (line) => {
    if (parseLogLine(line) !== null) {
      process.stdout.write(line + "\n");
    } else if (!warned) {
      warned = true;
      ctx.out.warn(`skipped a line of the log that is not JSON (and will skip any others)`);
    }
  };
}
