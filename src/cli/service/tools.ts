// Running systemctl / launchctl for `caro-sync service`: bounded in time, never throwing, and
// reported as the command line a user could paste.
import { execFile } from "node:child_process";

/** Bound on each call: a wedged service manager must not hang the CLI. */
const TOOL_TIMEOUT_MS = 15_000;

/** One step of install/uninstall, as reported: the command line and, if it failed, why. */
export interface Step {
  command: string;
  ok: boolean;
  error?: string;
}

export interface Exec {
  ok: boolean;
  /** The tool is not installed. */
  missing: boolean;
  /** stdout and stderr, trimmed. */
  output: string;
  failure?: string;
}

/** Runs a service-manager command; never rejects (a missing tool or a timeout is `ok: false`). */
export function exec(argv: string[]): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: TOOL_TIMEOUT_MS }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      const missing = (err as NodeJS.ErrnoException | null)?.code === "ENOENT";
      resolve({ ok: !err, missing, output, ...(err ? { failure: err.message } : {}) });
    });
  });
}

/** Runs one step; a failure carries the first line the tool printed. */
export async function run(argv: string[]): Promise<Step> {
  const r = await exec(argv);
  const command = shellLine(argv);
  if (r.ok) return { command, ok: true };
  const error = r.missing ? `${argv[0]} not found` : firstLine(r.output) || (r.failure ?? "failed");
  return { command, ok: false, error };
}

export function firstLine(text: string): string {
  return text.split("\n")[0] ?? "";
}

/** argv as one line to paste into a POSIX shell (words with specials single-quoted). */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
