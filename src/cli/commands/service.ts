// `caro-sync service install|uninstall|status`: run the daemon as a systemd user unit (Linux) or a
// launchd agent (macOS). install writes the file (service/units.ts) and then asks the service
// manager to load it; when that manager is missing or refuses (no user session, as in CI), the
// file stays written and the output names the exact commands to run.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { Option, type Command } from "commander";
import { BIN_PATH } from "../../client/launch.js";
import { SyncClient } from "../../client/SyncClient.js";
import { defaultPaths } from "../../config/paths.js";
import { DAEMON_VERSION } from "../../version.js";
import type { CliContext } from "../context.js";
import { EXIT, UsageError } from "../exitCodes.js";
import type { Action } from "../program.js";
import {
  LAUNCHD_LABEL,
  PASSED_ENV,
  SERVICE_PLATFORMS,
  SYSTEMD_UNIT,
  renderServiceFile,
  serviceFilePath,
  type ServicePlatform,
} from "../service/units.js";
import { exec, firstLine, run, shellLine, type Exec, type Step } from "../service/tools.js";

interface ServiceFlags {
  platform?: ServicePlatform;
  enable?: boolean;
}

export function registerServiceCommands(program: Command, action: Action): void {
  const service = program
    .command("service")
    .description("run the daemon as a systemd user unit (Linux) or a launchd agent (macOS)");
  const platform = () =>
    new Option("--platform <os>", "write the file for this OS (default: this machine's)").choices(
      SERVICE_PLATFORMS,
    );
  service
    .command("install")
    .description("write the service file for this installation, then enable and start it")
    .addOption(platform())
    .option("--no-enable", "only write the file; do not call systemctl/launchctl")
    .action(action((ctx, opts: ServiceFlags) => install(ctx, opts)));
  service
    .command("uninstall")
    .description("stop and disable the service (best effort) and remove its file")
    .addOption(platform())
    .action(action((ctx, opts: ServiceFlags) => uninstall(ctx, opts)));
  service
    .command("status")
    .description("whether the service file exists, and what systemctl/launchctl says")
    .addOption(platform())
    .action(action((ctx, opts: ServiceFlags) => status(ctx, opts)));
}

interface Target {
  platform: ServicePlatform;
  path: string;
  /** systemctl/launchctl are only run for this machine's own platform. */
  native: boolean;
}

function target(flags: ServiceFlags, env = process.env): Target {
  const host = process.platform;
  const platform = flags.platform ?? (host === "linux" || host === "darwin" ? host : undefined);
  if (!platform) throw new UsageError(`no service manager support on ${host}`, "use --platform linux|darwin");
  const path = serviceFilePath(platform, { home: env.HOME || homedir(), xdgConfigHome: env.XDG_CONFIG_HOME });
  return { platform, path, native: platform === host };
}

/** What install writes now: this Node.js and this package's bin/caro-sync, by absolute path. */
function render(ctx: CliContext, platform: ServicePlatform, env = process.env) {
  const recorded: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") recorded[name] = value;
  }
  const socket = ctx.socketOverride;
  const argv = [process.execPath, BIN_PATH, ...(socket ? ["--socket", socket] : []), "daemon"];
  const logFile = `${defaultPaths(env).cacheDir}/sync-daemon.log`;
  const text = renderServiceFile(platform, { version: DAEMON_VERSION, argv, env: recorded, logFile });
  return { text, argv, environment: Object.keys(recorded), logFile };
}

const launchdDomain = () => `gui/${process.getuid?.() ?? 501}`;

/**
 * What loads the written file: `prepare` runs first and may fail (nothing to undo), then each of
 * `commands` must succeed. A reinstall (`existed`) must also replace a daemon still running the
 * old file: systemd restarts it if it runs; launchd cannot bootstrap a label that is loaded, so
 * it is booted out first.
 */
function enableCommands(t: Target, existed: boolean): { prepare: string[][]; commands: string[][] } {
  if (t.platform === "linux") {
    const commands = [
      ["systemctl", "--user", "daemon-reload"],
      ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT],
      ...(existed ? [["systemctl", "--user", "try-restart", SYSTEMD_UNIT]] : []),
    ];
    return { prepare: [], commands };
  }
  const commands = [
    ["launchctl", "enable", `${launchdDomain()}/${LAUNCHD_LABEL}`],
    ["launchctl", "bootstrap", launchdDomain(), t.path],
  ];
  return { prepare: existed ? disableCommands(t) : [], commands };
}

/** Starts the installed service again once the socket is free. */
function restartCommand(t: Target): string[] {
  return t.platform === "linux"
    ? ["systemctl", "--user", "restart", SYSTEMD_UNIT]
    : ["launchctl", "kickstart", `${launchdDomain()}/${LAUNCHD_LABEL}`];
}

/** Stops and disables the service; best effort. */
function disableCommands(t: Target): string[][] {
  if (t.platform === "linux") return [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]];
  return [["launchctl", "bootout", `${launchdDomain()}/${LAUNCHD_LABEL}`]];
}

async function install(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const t = target(flags);
  const { text, argv, environment, logFile } = render(ctx, t.platform);
  const before = existsSync(t.path) ? readFileSync(t.path, "utf8") : null;
  const changed = before !== text;
  mkdirSync(dirname(t.path), { recursive: true, mode: 0o755 });
  // 0600: the file may record a relay URL; nobody else needs to read a user's own service.
  writeFileSync(t.path, text, { mode: 0o600 });
  // launchd opens the log itself and does not create its directory.
  if (t.platform === "darwin") mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });

  const { prepare, commands } = enableCommands(t, before !== null);
  const steps: Step[] = [];
  const notes: string[] = [];
  let enabled = false;
  if (flags.enable !== false && t.native) {
    // A daemon the CLI started on its own owns the socket: the service's would exit 75 at once.
    if (before === null && (await daemonAnswers(ctx))) {
      notes.push(
        `a caro-sync daemon already answers on ${await ctx.socketPath()}: the service cannot start while it ` +
          `runs; run \`caro-sync stop\`, then \`${shellLine(restartCommand(t))}\``,
      );
    }
    for (const argv of prepare) steps.push(await run(argv));
    enabled = true;
    for (const argv of commands) {
      const step = await run(argv);
      steps.push(step);
      if (!step.ok) {
        enabled = false;
        break;
      }
    }
  }
  const next = enabled ? [] : commands.map(shellLine);
  const doc = {
    platform: t.platform,
    path: t.path,
    written: true,
    /** A service file was there before (replaced, or rewritten unchanged). */
    existed: before !== null,
    /** The content differs from what was there (true for a new file). */
    changed,
    enabled,
    argv,
    environment,
    steps,
    next,
  };
  const failed = enabled ? undefined : steps[steps.length - 1];
  if (failed) ctx.out.warn(`could not enable the service: ${failed.command}: ${failed.error ?? "failed"}`);
  for (const note of notes) ctx.out.warn(note);
  ctx.out.result({ ...doc, notes }, () => [
    `wrote ${t.path}`,
    ...(environment.length > 0 ? [`  with ${environment.join(", ")} as set now`] : []),
    ...(enabled
      ? [t.platform === "linux" ? `enabled and started ${SYSTEMD_UNIT}` : `loaded ${LAUNCHD_LABEL}`]
      : ["to enable and start it, run:", ...next.map((line) => `  ${line}`)]),
  ]);
  return EXIT.ok;
}

async function uninstall(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const t = target(flags);
  const steps: Step[] = [];
  if (t.native) for (const argv of disableCommands(t)) steps.push(await run(argv));
  const existed = existsSync(t.path);
  rmSync(t.path, { force: true });
  if (t.native && t.platform === "linux") steps.push(await run(["systemctl", "--user", "daemon-reload"]));
  ctx.out.result({ platform: t.platform, path: t.path, removed: existed, steps }, () =>
    existed ? `removed ${t.path}` : `no service file at ${t.path}`,
  );
  return EXIT.ok;
}

async function status(ctx: CliContext, flags: ServiceFlags): Promise<number> {
  const t = target(flags);
  const installed = existsSync(t.path);
  // Whether the file still runs this installation (null when there is none).
  const current = installed ? readFileSync(t.path, "utf8") === render(ctx, t.platform).text : null;
  const manager = t.native ? await managerStatus(t.platform) : { available: false, detail: "not this OS" };
  const doc = { platform: t.platform, path: t.path, installed, current, manager };
  ctx.out.result(doc, () => [
    installed ? `installed: ${t.path}` : `not installed (${t.path})`,
    ...(current === false
      ? [
          "  it differs from what `caro-sync service install` would write now (paths or CARO_SYNC_* variables)",
        ]
      : []),
    `${t.platform === "linux" ? "systemctl" : "launchctl"}: ${describeManager(manager)}`,
  ]);
  return EXIT.ok;
}

interface ManagerStatus {
  available: boolean;
  enabled?: string;
  active?: string;
  loaded?: boolean;
  state?: string;
  pid?: number;
  detail?: string;
}

async function managerStatus(platform: ServicePlatform): Promise<ManagerStatus> {
  if (platform === "linux") {
    // Both exit non-zero for "disabled" / "inactive" and still print that one word; anything
    // else ("Failed to connect to bus: …") means there is no user manager to ask.
    const enabled = await exec(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT]);
    const active = await exec(["systemctl", "--user", "is-active", SYSTEMD_UNIT]);
    if (enabled.missing) return { available: false, detail: "systemctl not found" };
    const word = (r: Exec) => (/^[a-z-]+$/.test(r.output) ? r.output : null);
    if (word(active) === null) return { available: false, detail: firstLine(active.output) };
    return { available: true, enabled: word(enabled) ?? firstLine(enabled.output), active: active.output };
  }
  const printed = await exec(["launchctl", "print", `${launchdDomain()}/${LAUNCHD_LABEL}`]);
  if (printed.missing) return { available: false, detail: "launchctl not found" };
  if (!printed.ok) return { available: true, loaded: false };
  const pid = /^\s*pid = (\d+)/m.exec(printed.output)?.[1];
  const state = /^\s*state = (\S+)/m.exec(printed.output)?.[1];
  return { available: true, loaded: true, ...(state ? { state } : {}), ...(pid ? { pid: Number(pid) } : {}) };
}

function describeManager(m: ManagerStatus): string {
  if (!m.available) return `not available${m.detail ? ` (${m.detail})` : ""}`;
  if (m.loaded === false) return "not loaded";
  if (m.loaded) return `loaded${m.state ? `, ${m.state}` : ""}${m.pid ? `, pid ${m.pid}` : ""}`;
  return `${m.enabled ?? "?"}, ${m.active ?? "?"}`;
}

async function daemonAnswers(ctx: CliContext): Promise<boolean> {
  const client = await SyncClient.probe(await ctx.socketPath(), 1_000).catch(() => null);
  client?.close();
  return client !== null;
}
