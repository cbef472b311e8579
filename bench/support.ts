// What every benchmark shares: statistics, timing processes, reading a process's memory and CPU
// from /proc (Linux), child processes that report over IPC, the daemons' HOME, the entries pushed.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EncryptedCommandEntry } from "../src/jazz/schema.js";
import { waitFor } from "../test/helpers/wait.js";

// --- Statistics ----------------------------------------------------------------------------------

/** Milliseconds since `t` (a performance.now() reading). */
export const since = (t: number): number => performance.now() - t;

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median (the mean of the two middle values for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

// --- Processes -----------------------------------------------------------------------------------

/** Wall time of a process from spawn to exit, in ms; rejects when it exits non-zero. */
export function timeProcess(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("exit", (code) => {
      const ms = since(t);
      if (code === 0) resolve(ms);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${stderr.slice(-500)}`));
    });
  });
}

/** Memory of a process from /proc/<pid>/status, in MiB. */
export interface Rss {
  rss: number;
  peak: number;
  anon: number;
  file: number;
}

export function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: mib("VmRSS"), peak: mib("VmHWM"), anon: mib("RssAnon"), file: mib("RssFile") };
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/**
 * Waits until the processes are idle: none used more than `budgetMs` of CPU over one `windowMs`
 * (a background sync round or a GC may still run later; this is "settled", not "asleep").
 */
export async function waitIdle(
  pids: readonly number[],
  opts: { windowMs?: number; budgetMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const windowMs = opts.windowMs ?? 1000;
  const budget = opts.budgetMs ?? 30;
  let last = pids.map(cpuMs);
  await waitFor(
    () => {
      const now = pids.map(cpuMs);
      const idle = now.every((ms, i) => ms - last[i]! <= budget);
      last = now;
      return idle;
    },
    { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: windowMs, what: "the processes to be idle" },
  );
}

/**
 * Waits until the processes are idle and their RSS has settled: no reading in the last
 * `windowS` seconds (one a second) more than 1 MiB from the others. A daemon gives memory back once
 * idle (src/runtime/idleCollector.ts, a second or two after a burst), so idle RSS is read after that.
 */
export async function waitSettled(pids: readonly number[], opts: { windowS?: number } = {}): Promise<void> {
  const windowS = opts.windowS ?? 5;
  await waitIdle(pids);
  const readings: number[][] = pids.map(() => []);
  await waitFor(
    () =>
      pids.every((pid, i) => {
        const seen = readings[i]!;
        seen.push(readRss(pid).rss);
        if (seen.length > windowS) seen.shift();
        return seen.length === windowS && Math.max(...seen) - Math.min(...seen) <= 1;
      }),
    { timeoutMs: 120_000, intervalMs: 1000, what: "the processes' memory to settle" },
  );
}

/** A message from a benchmark child process (bench/baselines/*): `event` names it. */
export type ChildMessage = { event: string } & Record<string, unknown>;

/**
 * A Node child process talking over the IPC channel: `next(event)` resolves with the first
 * message of that event not handed out yet; `send` writes to it. Its stdout and stderr go to
 * this process's stderr, so cojson's console lines never mix with the results.
 */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  next(event: string): Promise<ChildMessage>;
  send(message: object): void;
  /** Resolves when it exits with 0; rejects otherwise. */
  readonly done: Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), then waits for the exit. */
  stop(): Promise<void>;
}

export function forkChild(modulePath: string, args: string[], name: string): Child {
  const child = fork(modulePath, args, { stdio: ["ignore", 2, 2, "ipc"] });
  const queued = new Map<string, ChildMessage[]>();
  const waiting = new Map<string, { resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[]>();
  let exitError: Error | null = null;
  child.on("message", (raw) => {
    const msg = raw as ChildMessage;
    const w = waiting.get(msg.event)?.shift();
    if (w) w.resolve(msg);
    else queued.set(msg.event, [...(queued.get(msg.event) ?? []), msg]);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const done = exited.then((code) => {
    exitError = new Error(`${name} ended (${code})`);
    for (const ws of waiting.values()) for (const w of ws) w.reject(exitError);
    waiting.clear();
    if (code !== 0) throw new Error(`${name} exited with ${code}`);
  });
  done.catch(() => undefined);
  return {
    process: child,
    pid: child.pid!,
    done,
    next(event) {
      const msg = queued.get(event)?.shift();
      if (msg) return Promise.resolve(msg);
      if (exitError) return Promise.reject(exitError);
      return new Promise((resolve, reject) =>
        waiting.set(event, [...(waiting.get(event) ?? []), { resolve, reject }]),
      );
    },
    send(message) {
      child.send(message);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** In a child process: sends one message to the parent; resolves once it is handed to the OS. */
export function report(event: string, fields: Record<string, unknown> = {}): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send({ event, ...fields }, undefined, undefined, () => resolve());
  });
}

/** In a child process: exit when the parent goes (its IPC channel closes), even if it crashed. */
export function exitWithParent(): void {
  process.on("disconnect", () => process.exit(0));
}

/** In a child process: calls `handler` for each message from the parent. */
export function onParentMessage(handler: (message: Record<string, unknown>) => void): void {
  process.on("message", (m) => handler(m as Record<string, unknown>));
}

// --- Daemons and entries -------------------------------------------------------------------------

/**
 * A HOME for a benchmarked daemon, with a config file that lifts the local push rate limit (a bulk
 * import is not a runaway client), syncs every second, and keeps every entry (the default
 * cacheMaxSize, 100 MiB of records, holds ~170,000 of these; beyond it confirmed entries are
 * evicted and a fresh device would never hold all of them).
 */
export async function homeWithConfig(root: string, name: string): Promise<string> {
  const home = join(root, name);
  await mkdir(join(home, ".config", "cmdai"), { recursive: true });
  const config = {
    pushRatePerSecond: 1_000_000,
    pushBurst: 1_000_000,
    syncIntervalMs: 1000,
    cacheMaxSize: 4 * 2 ** 30,
  };
  await writeFile(join(home, ".config", "cmdai", "sync-daemon.json"), JSON.stringify(config));
  return home;
}

const CPU_PROFILER = fileURLToPath(new URL("./cpuProfiler.js", import.meta.url));

/**
 * Extra environment for benchmarked daemons: BENCH_DAEMON_NODE_OPTIONS and `extra` become
 * NODE_OPTIONS; with BENCH_CPU_PROFILE_DIR (`--cpu-profile DIR`) each daemon profiles itself
 * (cpuProfiler.ts).
 */
export function daemonNodeOptions(extra: string[] = []): NodeJS.ProcessEnv {
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const options = [process.env.BENCH_DAEMON_NODE_OPTIONS ?? "", ...extra];
  if (profileDir) options.push(`--import=${CPU_PROFILER}`);
  const all = options.filter((s) => s !== "").join(" ");
  return {
    ...(all === "" ? {} : { NODE_OPTIONS: all }),
    ...(profileDir ? { BENCH_CPU_PROFILE_DIR: profileDir } : {}),
  };
}

/** Entries pushed per sync.push in every benchmark (the issue's batch size). */
export const PUSH_BATCH = 1000;

/** A `sync.push` command entry: ~400 B of base64 (a 300-byte blob), as `caro` would send. */
export interface PushEntry {
  id: string;
  type: "command";
  encrypted: string;
  metadata: { deviceId: string; createdAt: number; safetyLevel: string };
}

export function commandEntry(deviceId: string, createdAt: number): PushEntry {
  // Blob format (docs/encryption.md): version byte 0x01, then nonce, ciphertext and tag.
  const blob = Buffer.concat([Buffer.from([1]), randomBytes(299)]);
  return {
    id: randomUUID(),
    type: "command",
    encrypted: blob.toString("base64"),
    metadata: { deviceId, createdAt, safetyLevel: "safe" },
  };
}

export function commandEntries(count: number, deviceId: string): PushEntry[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => commandEntry(deviceId, now - (count - i)));
}

/** The feed item the daemon writes to Jazz for a pushed entry (jazz/rootWriter.ts). */
export function feedItem(entry: PushEntry): EncryptedCommandEntry {
  return {
    id: entry.id,
    deviceId: entry.metadata.deviceId,
    encryptedPayload: entry.encrypted,
    safetyLevel: entry.metadata.safetyLevel,
    executed: false,
    createdAt: entry.metadata.createdAt,
  };
}

/** Splits into chunks of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
