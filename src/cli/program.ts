// The `caro-sync` command line: global options, the command groups, and the one place that turns
// a command's outcome (or error) into an exit code.
import { Command, CommanderError } from "commander";
import { DAEMON_VERSION } from "../version.js";
import { CliContext, type GlobalOptions } from "./context.js";
import { registerAccountCommands } from "./commands/account.js";
import { registerDaemonCommands } from "./commands/daemon.js";
import { registerDataCommands } from "./commands/data.js";
import { registerExportCommand } from "./commands/export.js";
import { registerDeviceCommands } from "./commands/devices.js";
import { registerDoctorCommands } from "./commands/doctor.js";
import { registerLogsCommands } from "./commands/logs.js";
import { registerServiceCommands } from "./commands/service.js";
import { registerInfoCommands } from "./commands/info.js";
import { registerRelayCommand } from "./commands/relay.js";
import { registerRepairCommand } from "./commands/repair.js";
import { registerSyncCommands } from "./commands/sync.js";
import { registerVerifyCommand } from "./commands/verify.js";
import { EXIT } from "./exitCodes.js";

/**
 * Wraps a command body: builds its context from the global options, runs it, and records the
 * exit code it returns or the one its error maps to (the error is printed to stderr).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Action = <A extends any[]>(
  body: (ctx: CliContext, ...args: A) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

export function buildProgram(setExitCode: (code: number) => void, opts: { json?: boolean } = {}): Command {
  const json = opts.json === true;
  const program = new Command("caro-sync")
    .description("caro-sync: the local-first sync daemon of the caro CLI, and its reference client")
    .version(DAEMON_VERSION, "-V, --version")
    .option("--socket <path>", "daemon socket (default: $CARO_SYNC_SOCKET, else ~/.config/cmdai/sync.sock)")
    .option("--json", "machine-readable output: one JSON document on stdout, errors on stderr")
    .option("--no-auto-start", "do not start the daemon when a command needs it and it is not running")
    .showHelpAfterError(json ? false : "(run with --help for usage)")
    .exitOverride();
  // With --json, argument errors too are one JSON line on stderr (the scripting contract).
  if (json)
    program.configureOutput({
      outputError: (text, write) =>
        write(
          JSON.stringify({
            error: { message: text.replace(/^error: /, "").trim(), reason: "usage", exitCode: EXIT.usage },
          }) + "\n",
        ),
    });

  const action: Action =
    (body) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      const ctx = new CliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        // commander passes (...operands, options, command); bodies take (...operands, options).
        const run = body as (ctx: CliContext, ...operands: unknown[]) => Promise<number>;
        setExitCode(await run(ctx, ...args.slice(0, -1)));
      } catch (err) {
        setExitCode(ctx.out.error(err));
      }
    };

  registerDaemonCommands(program, action);
  registerInfoCommands(program, action);
  registerAccountCommands(program, action);
  registerDataCommands(program, action);
  registerExportCommand(program, action);
  registerSyncCommands(program, action);
  registerDeviceCommands(program, action);
  registerDoctorCommands(program, action);
  registerRepairCommand(program, action);
  registerVerifyCommand(program, action);
  registerLogsCommands(program, action);
  registerServiceCommands(program, action);
  registerRelayCommand(program, action);
  return program;
}

/** Runs the command line `argv` (as process.argv: node, script, args…) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  // Known before parsing, so that commander's own errors honour it.
  const json = argv.slice(2).includes("--json");
  const program = buildProgram((c) => (code = c), { json });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version are not errors; everything else commander rejects is a usage error.
    const benign = [
      "commander.helpDisplayed",
      "commander.help",
      "commander.version",
      "commander.executeSubCommandAsync",
    ];
    return benign.includes(err.code) ? EXIT.ok : EXIT.usage;
  }
  return code;
}
