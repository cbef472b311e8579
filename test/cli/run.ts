// Runs the built `caro-sync` (bin/caro-sync) as a child process, asynchronously so that a test
// peer in this process keeps serving while it runs.
import { spawn } from "node:child_process";
import { BIN_PATH } from "../../src/client/launch.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function caroSync(
  args: string[],
  opts: { home: string; socket?: string; input?: string; env?: Record<string, string> },
): Promise<CliRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: opts.home, ...opts.env };
  if (opts.socket !== undefined) env.CARO_SYNC_SOCKET = opts.socket;
  const child = spawn(process.execPath, [BIN_PATH, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // A command that exits without reading stdin makes this write fail with EPIPE: not our error.
  child.stdin.on("error", () => {});
  child.stdin.end(opts.input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The single JSON document the scripting contract promises on stdout. */
export function oneJson(run: CliRun): unknown {
  const lines = run.stdout.split("\n").filter((l) => l !== "");
  if (lines.length !== 1)
    throw new Error(`expected one JSON line on stdout, got ${lines.length}: ${run.stdout}`);
  return JSON.parse(lines[0]!);
}

/** stdout as JSON lines (`history --json`, `export`): one document a line. */
export function jsonLines(run: CliRun): Record<string, unknown>[] {
  return run.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
