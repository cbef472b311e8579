// Human and JSON output. With --json a command prints exactly one JSON document on stdout (JSON
// lines for history), nothing else; errors always go to stderr (docs/cli.md scripting contract).
import { ConnectionError, RpcError, TimeoutError } from "../client/errors.js";
import { CliError, exitCodeFor, type ExitCode } from "./exitCodes.js";
import { errColors } from "./ui.js";

export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly streams: Streams = { stdout: process.stdout, stderr: process.stderr },
  ) {}

  /** A command's result: `doc` as JSON with --json, else the human text. */
  result(doc: unknown, human: () => string | string[]): void {
    if (this.json) this.jsonLine(doc);
    else this.print(human());
  }

  /** One JSON document on one line (also one record of JSON lines output). */
  jsonLine(doc: unknown): void {
    this.streams.stdout.write(JSON.stringify(doc) + "\n");
  }

  /** Human-only text on stdout; nothing in JSON mode. */
  print(text: string | string[]): void {
    if (this.json) return;
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length > 0) this.streams.stdout.write(lines.join("\n") + "\n");
  }

  /** Notes for a human on stderr (progress, warnings); kept out of stdout so pipes stay clean. */
  note(text: string): void {
    if (!this.json) this.streams.stderr.write(text + "\n");
  }

  warn(text: string): void {
    this.streams.stderr.write(`warning: ${text}\n`);
  }

  /** Prints an error to stderr (a JSON object with --json) and returns its exit code. */
  error(err: unknown): ExitCode {
    const exit = exitCodeFor(err);
    const { message, reason, hint, code, data } = describe(err);
    if (this.json) {
      const doc = { error: { message, code, reason, hint, data, exitCode: exit } };
      this.streams.stderr.write(JSON.stringify(doc) + "\n");
    } else {
      // The daemon's stable reason key helps when reporting a problem; our own errors need none.
      const suffix = err instanceof RpcError && reason ? ` (${reason})` : "";
      this.streams.stderr.write(`${errColors.red("error:")} ${message}${suffix}\n`);
      if (hint) this.streams.stderr.write(`${errColors.yellow("hint:")} ${hint}\n`);
    }
    return exit;
  }
}

function describe(err: unknown): {
  message: string;
  reason?: string | undefined;
  hint?: string | undefined;
  code?: number | undefined;
  data?: unknown;
} {
  if (err instanceof RpcError) {
    return {
      message: err.message,
      reason: err.reason,
      hint: ownCommands(err.hint),
      code: err.code,
      data: err.data,
    };
  }
  if (err instanceof ConnectionError) {
    return { message: err.message, reason: "daemon_unavailable", hint: err.hint || undefined };
  }
  if (err instanceof TimeoutError) {
    return { message: err.message, reason: "timeout", hint: "check `caro-sync health`" };
  }
  if (err instanceof CliError) return { message: err.message, reason: err.reason, hint: err.hint };
  if (err instanceof Error) return { message: err.message };
  return { message: String(err) };
}

/**
 * The daemon's hints name the caro CLI's commands (`caro sync init`), the client it serves in
 * production; this client prints its own (`caro-sync init`).
 */
export function ownCommands(hint: string | undefined): string | undefined {
  return hint?.replace(/`caro sync /g, "`caro-sync ");
}

/** "2025-01-02T03:04:05Z (3 min ago)"; "never" for null. */
export function when(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "never";
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return `${iso} (${relative(ms, now)})`;
}

export function relative(ms: number, now = Date.now()): string {
  const delta = now - ms;
  const text = duration(Math.abs(delta) / 1000);
  // A few seconds of clock skew or latency is "now" to a person reading a table.
  if (Math.abs(delta) < 10_000) return "just now";
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** Seconds as "45 s", "3 min", "2 h 5 min", "3 d 4 h". */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}
