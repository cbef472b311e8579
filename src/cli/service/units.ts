// The service files of `caro-sync service install`: one template per platform, rendered with this
// installation's absolute paths. This is the only copy of the unit and the plist (contrib/ holds
// none), so what the docs show, what the tests verify and what users get cannot drift apart.
import { join } from "node:path";
import { DAEMON_MEMORY_ENV } from "../../client/launch.js";

export const SERVICE_PLATFORMS = ["linux", "darwin"] as const;
export type ServicePlatform = (typeof SERVICE_PLATFORMS)[number];

export const SYSTEMD_UNIT = "caro-sync.service";
export const LAUNCHD_LABEL = "dev.caro.sync";

/**
 * The daemon's environment variables that install records into the service file when they are
 * set, so the service daemon and the user's own `caro-sync` commands agree on the socket, the
 * cache and the relay (a service on another socket than the CLI's would let the CLI start a
 * second daemon on the same cache). An allowlist, not CARO_SYNC_*: nothing else of the install
 * shell's environment is written to disk.
 */
export const PASSED_ENV = [
  "CARO_SYNC_SOCKET",
  "CARO_SYNC_RELAY",
  "CARO_SYNC_LOG_LEVEL",
  "CARO_SYNC_CACHE_PATH",
] as const;

export interface ServiceSpec {
  version: string;
  /** Absolute argv of the daemon in the foreground: node, bin/caro-sync, [--socket P], daemon. */
  argv: string[];
  /** Variables from PASSED_ENV, with their install-time values. */
  env: Record<string, string>;
  /** Where launchd sends the daemon's stderr (its log, in the foreground) and stdout. */
  logFile: string;
}

/** Where the file goes: systemd's user unit directory, or the user's LaunchAgents. */
export function serviceFilePath(platform: ServicePlatform, env: { home: string; xdgConfigHome?: string }) {
  if (platform === "darwin") return join(env.home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`);
  // systemd reads $XDG_CONFIG_HOME/systemd/user when it is set (absolute), else ~/.config/systemd/user.
  const configHome = env.xdgConfigHome?.startsWith("/") ? env.xdgConfigHome : join(env.home, ".config");
  return join(configHome, "systemd", "user", SYSTEMD_UNIT);
}

export function renderServiceFile(platform: ServicePlatform, spec: ServiceSpec): string {
  for (const value of [...spec.argv, ...Object.entries(spec.env).flat(), spec.logFile]) {
    // A newline would end the directive (systemd) and no service needs control characters.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value))
      throw new Error("service values may not contain control characters");
  }
  return platform === "darwin" ? launchdPlist(spec) : systemdUnit(spec);
}

function systemdUnit(spec: ServiceSpec): string {
  // The daemon's memory settings (client/launch.ts), under the recorded variables.
  const all = { ...DAEMON_MEMORY_ENV, ...spec.env };
  const env = Object.entries(all).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`, false)}`);
  return [
    `# caro-sync daemon, systemd user unit written by \`caro-sync service install\` (caro-sync ${spec.version}).`,
    "# It runs this installation by absolute path: install again after moving it or changing Node.js.",
    "# Logs: journalctl --user -u caro-sync.    Remove: caro-sync service uninstall",
    "[Unit]",
    "Description=caro-sync: local-first sync daemon of the caro CLI",
    // No network dependency: the daemon works offline and reconnects by itself.
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${systemdExecLine(spec.argv)}`,
    ...env,
    "# SIGTERM drains requests in flight and flushes to the relay (bounded) before exiting 0.",
    "KillSignal=SIGTERM",
    "TimeoutStopSec=20",
    "Restart=on-failure",
    "RestartSec=5",
    "# 65 (a damaged cache: run caro-sync repair), 75 (another daemon owns the socket or the cache),",
    "# 77 (credentials readable by others, an unsafe socket directory) and 78 (bad configuration, or a",
    "# metrics port that is taken) will not fix themselves by restarting.",
    "RestartPreventExitStatus=65 75 77 78",
    "UMask=0077",
    "NoNewPrivileges=true",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/**
 * An ExecStart= command line, every word double-quoted. systemd treats the executable and the
 * arguments differently (checked with systemd-analyze verify, systemd 252): in the executable
 * only `%` needs escaping and quotes or backslashes are refused outright ("Executable name
 * contains special characters"); in the arguments `\` and `"` are escaped, `%` and `$` doubled.
 */
export function systemdExecLine(argv: string[]): string {
  const [executable = "", ...args] = argv;
  if (/["'\\]/.test(executable)) {
    throw new Error(
      `systemd cannot run an executable whose path contains quotes or backslashes: ${executable}`,
    );
  }
  return [`"${executable.replace(/%/g, "%%")}"`, ...args.map((a) => systemdQuote(a, true))].join(" ");
}

/** One argument (exec: true) or one Environment= assignment, double-quoted and escaped. */
export function systemdQuote(word: string, exec: boolean): string {
  let escaped = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%");
  if (exec) escaped = escaped.replace(/\$/g, "$$$$");
  return `"${escaped}"`;
}

function launchdPlist(spec: ServiceSpec): string {
  const env = Object.entries(spec.env);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- caro-sync daemon, launchd agent written by \`caro-sync service install\` (caro-sync ${xml(spec.version)}).`,
    "     It runs this installation by absolute path: install again after moving it or changing Node.js.",
    "     Remove: caro-sync service uninstall -->",
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${LAUNCHD_LABEL}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...spec.argv.map((a) => `    <string>${xml(a)}</string>`),
    "  </array>",
    ...(env.length === 0
      ? []
      : [
          "  <key>EnvironmentVariables</key>",
          "  <dict>",
          ...env.flatMap(([k, v]) => [`    <key>${xml(k)}</key>`, `    <string>${xml(v)}</string>`]),
          "  </dict>",
        ]),
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <!-- Restarted when it exits with an error; a clean exit (caro-sync stop) stays stopped. -->",
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    "  <key>ThrottleInterval</key>",
    "  <integer>5</integer>",
    "  <key>ExitTimeOut</key>",
    "  <integer>20</integer>",
    "  <key>ProcessType</key>",
    "  <string>Background</string>",
    "  <key>Umask</key>",
    "  <integer>63</integer>",
    "  <key>StandardOutPath</key>",
    `  <string>${xml(spec.logFile)}</string>`,
    "  <key>StandardErrorPath</key>",
    `  <string>${xml(spec.logFile)}</string>`,
    "</dict>",
    "</plist>",
    "",
  ];
  return lines.join("\n");
}

function xml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}
