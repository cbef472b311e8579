// A real terminal for CLI tests: one command in a detached tmux session on a private tmux server
// (its own socket in its own temp dir, so parallel test files never meet), seen as a user sees it:
// a TTY on stdin/stdout/stderr, raw-mode prompts, colours, redraws in place.
// The pane stays after the command exits (remain-on-exit), so a test still reads the last screen
// and the exit status. Everything the command writes to the terminal is also recorded (pipe-pane):
// `transcript()` holds even what a redraw erased before any capture could see it.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

const execFileAsync = promisify(execFile);

let version: string | null | undefined;

/** "tmux 3.3a", or null when tmux is not installed; probed once per process. */
export function tmuxVersion(): string | null {
  if (version === undefined) {
    const probe = spawnSync("tmux", ["-V"], { encoding: "utf8" });
    version = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return version;
}

/** True when tmux can run the test; otherwise it is skipped, or fails when CI is set. */
export function needTmux(t: TestContext): boolean {
  if (tmuxVersion() !== null) return true;
  if (process.env.CI) assert.fail("tmux is not installed, and CI must run these tests (see .ci/run)");
  t.skip("tmux is not installed");
  return false;
}

export interface TerminalOptions {
  /** The command and its arguments, executed directly (no shell). */
  command: string[];
  /**
   * The command's whole environment (undefined values are left out): nothing of the test's own
   * environment, nor tmux's TMUX/TMUX_PANE, reaches it.
   */
  env: Record<string, string | undefined>;
  width?: number;
  height?: number;
  /**
   * Applied to a screen before it goes into an error message, so a failing test does not print
   * what it must keep secret (a recovery phrase on the screen).
   */
  redact?: (screen: string) => string;
}

export interface CaptureOptions {
  /** Keep the escape sequences of text attributes and colours (capture-pane -e). */
  escapes?: boolean;
}

const SESSION = "term";
let serial = 0;

export class Terminal {
  private killed = false;

  private constructor(
    private readonly server: string,
    private readonly dir: { path: string; cleanup: () => Promise<void> },
    private readonly redact: (screen: string) => string,
  ) {}

  /** Starts the command in a new tmux server; resolves once the session exists. */
  static async start(opts: TerminalOptions): Promise<Terminal> {
    const dir = await tempDir("cs-tty-");
    const server = `caro-${process.pid}-${++serial}`;
    const term = new Terminal(server, dir, opts.redact ?? ((s) => s));
    const env = Object.entries(opts.env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    try {
      // One command sequence: remain-on-exit is set before the command runs (a command that exits
      // at once still leaves its screen), and the recording starts before the test types anything.
      await term.tmux(
        ["start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";"],
        [
          "new-session",
          "-d",
          "-s",
          SESSION,
          "-x",
          String(opts.width ?? 120),
          "-y",
          String(opts.height ?? 40),
        ],
        ["--", "env", "-i", ...env, ...opts.command, ";"],
        ["pipe-pane", "-t", SESSION, "-o", `cat >> '${term.transcriptPath}'`],
      );
    } catch (err) {
      await term.kill();
      throw err;
    }
    return term;
  }

  private get transcriptPath(): string {
    return join(this.dir.path, "transcript");
  }

  /** Types `text` literally (no key names), as if pasted key by key. */
  async sendKeys(text: string): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, "-l", "--", text]);
  }

  /** Types `text`, then presses Enter. */
  async sendLine(text: string): Promise<void> {
    await this.sendKeys(text);
    await this.press("Enter");
  }

  /** Presses one key by its tmux name: "Enter", "C-c", "Escape"… */
  async press(key: string): Promise<void> {
    await this.tmux(["send-keys", "-t", SESSION, key]);
  }

  /**
   * The screen and its scrollback as text, wrapped lines joined, trailing empty lines dropped.
   * The scrollback matters: when the command exits, tmux's "Pane is dead" line can scroll the
   * top line of the screen into it.
   */
  async capture(opts: CaptureOptions = {}): Promise<string> {
    const args = ["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION, ...(opts.escapes ? ["-e"] : [])];
    const { stdout } = await this.tmux(args);
    return stdout.replace(/\s+$/, "");
  }

  /** Polls the screen until `predicate` holds; the error names `what` and shows the (redacted) screen. */
  async waitForScreen(
    predicate: (screen: string) => boolean,
    what: string,
    opts: { timeoutMs?: number } = {},
  ): Promise<string> {
    let last = "";
    try {
      return await waitFor(
        async () => {
          last = await this.capture();
          return predicate(last) ? last : null;
        },
        { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 50, what },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen was:\n${this.redact(last)}`);
    }
  }

  /** The command's exit status, or null while it runs. A command killed by a signal reads as 128+N. */
  async exitStatus(): Promise<number | null> {
    const { stdout } = await this.tmux([
      "display-message",
      "-p",
      "-t",
      SESSION,
      "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}:#{pid}",
    ]);
    const [dead, status, signal, serverPid] = stdout.trim().split(":");
    if (dead !== "1") return null;
    if (!status && !signal) {
      // The terminal closed but tmux has not reaped the process. With libutempter (Debian's
      // build), a SIGCHLD that arrives while utempter's helper runs (it does when the pane's
      // terminal closes) is lost, and the command stays a zombie (tmux/tmux#311). Send it again
      // to our own server.
      process.kill(Number(serverPid), "SIGCHLD");
      return null;
    }
    return status ? Number(status) : 128 + Number(signal);
  }

  /** Waits until the command has exited; its exit status. */
  async waitForExit(opts: { timeoutMs?: number } = {}): Promise<number> {
    const status = await waitFor(
      async () => {
        const s = await this.exitStatus();
        return s === null ? null : { s };
      },
      { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 50, what: "the command in the terminal to exit" },
    );
    return status.s;
  }

  /** Every byte the command wrote to the terminal so far, escapes included. */
  async transcript(): Promise<string> {
    return readFile(this.transcriptPath, "utf8").catch(() => "");
  }

  /** Kills the tmux server (and with it the command, by SIGHUP) and removes the temp dir. Idempotent. */
  async kill(): Promise<void> {
    if (this.killed) return;
    this.killed = true;
    await this.tmux(["kill-server"]).catch(() => {});
    await this.dir.cleanup();
  }

  /** Runs tmux on this terminal's server; the argument lists are joined into one invocation. */
  private tmux(...argLists: string[][]): Promise<{ stdout: string }> {
    const args = ["-u", "-L", this.server, "-f", "/dev/null", ...argLists.flat()];
    // TMUX_TMPDIR puts the server socket in our temp dir; -u: the screen is UTF-8 whatever the locale.
    const env = { PATH: process.env.PATH ?? "", TMUX_TMPDIR: this.dir.path };
    return execFileAsync("tmux", args, { env, encoding: "utf8" });
  }
}

/** Removes escape sequences (CSI, OSC, and two-byte ESC x, such as ESC 7 / ESC 8) from terminal output. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[0-?@-Z\\-_]/g, "");
}

/** The SGR sequences (ESC [ … m) in `text`, as their parameter strings ("1", "32", "0"…). */
export function sgrParams(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  return [...text.matchAll(/\x1b\[([0-9;:]*)m/g)].map((m) => m[1] ?? "");
}
