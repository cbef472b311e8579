// The `caro-sync` command line: global options, the command groups, and the one place that turns
// a command's outcome (or error) into an exit code.
import { Command, CommanderError } from "commander";
import { DAEMON_VERSION } from "../version.js";
import type { CliContext, GlobalOptions } from "./context.js";
import { EXIT } from "./exitCodes.js";

type Register = (program: Command, action: Action) => void;

export interface CommandModule {
  /** The top-level commands it registers. */
  names: readonly string[];
  load: () => Promise<Register>;
}

/**
 * Every command, by the module that defines it, in the order `--help` lists them. A run imports
 * only the module of the command it names (a command module pulls in what its bodies need: the
 * crypto, prompts, tables, the daemon itself), so `caro-sync ping` does not pay for `init`. Help and
 * an unknown command import them all. test/cli/commands.test.ts checks that
 * `names` are the names each module registers.
 */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    names: ["daemon", "start", "stop", "restart"],
    load: async () => (await import("./commands/daemon.js")).registerDaemonCommands,
  },
  {
    names: ["ping", "status", "health"],
    load: async () => (await import("./commands/info.js")).registerInfoCommands,
  },
  {
    names: ["init", "join"],
    load: async () => (await import("./commands/account.js")).registerAccountCommands,
  },
  {
    names: ["add", "history", "pref"],
    load: async () => (await import("./commands/data.js")).registerDataCommands,
  },
  { names: ["export"], load: async () => (await import("./commands/export.js")).registerExportCommand },
  {
    names: ["push", "pull", "delete", "pause", "resume", "now", "reset"],
    load: async () => (await import("./commands/sync.js")).registerSyncCommands,
  },
  { names: ["devices"], load: async () => (await import("./commands/devices.js")).registerDeviceCommands },
  { names: ["doctor"], load: async () => (await import("./commands/doctor.js")).registerDoctorCommands },
  { names: ["repair"], load: async () => (await import("./commands/repair.js")).registerRepairCommand },
  { names: ["verify"], load: async () => (await import("./commands/verify.js")).registerVerifyCommand },
  { names: ["logs"], load: async () => (await import("./commands/logs.js")).registerLogsCommands },
  { names: ["service"], load: async () => (await import("./commands/service.js")).registerServiceCommands },
  { names: ["relay"], load: async () => (await import("./commands/relay.js")).registerRelayCommand },
];

/**
 * Wraps a command body: builds its context from the global options, runs it, and records the
 * exit code it returns or the one its error maps to (the error is printed to stderr).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Action = <A extends any[]>(
  body: (ctx: CliContext, ...args: A) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

/** The modules a run with these arguments (argv after node and the script) needs. */
export function modulesFor(args: readonly string[]): readonly CommandModule[] {
  const name = commandName(args);
  if (name === undefined) {
    // `--version` needs no command; `caro-sync` alone and `--help` list them all.
    const versionOnly = args.some((a) => a === "-V" || a === "--version") && !args.some(isHelpFlag);
    return versionOnly ? [] : COMMAND_MODULES;
  }
  const named = COMMAND_MODULES.find((m) => m.names.includes(name));
  // `help [command]`, or a name commander will reject with a suggestion drawn from all of them.
  return named ? [named] : COMMAND_MODULES;
}

/** The first operand, as commander reads it: the command's name. */
function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return args[i + 1];
    if (arg === "--socket")
      i++; // the one global option that takes a separate value
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

const isHelpFlag = (arg: string): boolean => arg === "-h" || arg === "--help";

/** The program with the commands of `modules` (default: all of them). */
export async function buildProgram(
  setExitCode: (code: number) => void,
  opts: { json?: boolean; modules?: readonly CommandModule[] } = {},
): Promise<Command> {
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
      // Here rather than at the top: `--version` and help need no client, config or output code.
      const { CliContext } = await import("./context.js");
      const ctx: CliContext = new CliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        // commander passes (...operands, options, command); bodies take (...operands, options).
        const run = body as (ctx: CliContext, ...operands: unknown[]) => Promise<number>;
        setExitCode(await run(ctx, ...args.slice(0, -1)));
      } catch (err) {
        setExitCode(ctx.out.error(err));
      }
    };

  // Loaded together, registered in the table's order (the order of --help).
  const registers = await Promise.all((opts.modules ?? COMMAND_MODULES).map((m) => m.load()));
  for (const register of registers) register(program, action);
  return program;
}

/** Runs the command line `argv` (as process.argv: node, script, args…) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const args = argv.slice(2);
  // Known before parsing, so that commander's own errors honour it.
  const json = args.includes("--json");
  const program = await buildProgram((c) => (code = c), { json, modules: modulesFor(args) });
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
