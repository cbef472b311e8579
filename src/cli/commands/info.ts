// Looking at the daemon: ping, status, health. ping and health never start the daemon (they
// report on it); status does, like every command that needs the daemon to answer.
import type { Command } from "commander";
import type { HealthResult, LastError, StatusResult } from "../../protocol.js";
import { EVENT_NAMES } from "../../protocol/constants.js";
import { ConnectionError } from "../../client/errors.js";
import { whileLoading, type CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import { duration, when } from "../output.js";
import type { Action } from "../program.js";
import { colors } from "../ui.js";

export function registerInfoCommands(program: Command, action: Action): void {
  program
    .command("ping")
    .description("check that the daemon answers, and how fast")
    .action(action((ctx) => ping(ctx)));
  program
    .command("status")
    .description("sync state, pending entries, this device")
    .option("-w, --watch", "print it again whenever it changes, until interrupted (--json: JSON lines)")
    .action(action((ctx, opts: { watch?: boolean }) => (opts.watch ? watchStatus(ctx) : status(ctx))));
  program
    .command("health")
    .description("the daemon's health report (exit 1 when unhealthy)")
    .action(action((ctx) => health(ctx)));
}

async function ping(ctx: CliContext): Promise<number> {
  await ctx.withClient(async (client) => {
    const started = performance.now();
    const result = await client.ping();
    const roundTripMs = Math.round((performance.now() - started) * 1000) / 1000;
    ctx.out.result(
      { ...result, roundTripMs },
      () =>
        `pong from the caro-sync daemon ${result.version} in ${roundTripMs} ms (up ${duration(result.uptime)})`,
    );
  });
  return EXIT.ok;
}

async function status(ctx: CliContext): Promise<number> {
  const result = await ctx.withClient((client) => client.status(), { autoStart: true });
  ctx.out.result(result, () => formatStatus(result));
  return EXIT.ok;
}

/**
 * Shows the status, subscribes to the daemon's events and shows it again after each, only when it
 * changed (events that arrive while a refresh is in flight cause one more refresh, not one each).
 * On a terminal the block is redrawn in place; otherwise (and with --json, as JSON lines) a new
 * block is printed per change. Ends on SIGINT (exit 0) or when the daemon goes away (exit 3).
 */
async function watchStatus(ctx: CliContext): Promise<number> {
  const client = await ctx.connect({ autoStart: true });
  // Only --watch on a terminal redraws in place: the package is not loaded otherwise.
  const screen =
    !ctx.json && process.stdout.isTTY === true
      ? (await import("log-update")).createLogUpdate(process.stdout)
      : null;
  let shown = "";
  const show = async () => {
    const status = await client.status();
    // The last error comes from the health report; a daemon that cannot give one still has a status.
    const lastError = ctx.json
      ? null
      : await client.health().then(
          (h) => h.lastError,
          () => null,
        );
    const text = ctx.json
      ? JSON.stringify(status)
      : [...formatStatus(status), ...formatLastError(lastError)].join("\n");
    if (text === shown) return;
    shown = text;
    if (ctx.json) ctx.out.jsonLine(status);
    else if (screen)
      screen(
        `${text}\n${colors.dim(`(watching; updated ${new Date().toLocaleTimeString()}; Ctrl-C to stop)`)}`,
      );
    else ctx.out.print([text, ""]);
  };
  let inFlight = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      do {
        again = false;
        await show();
      } while (again);
    } catch {
      // A failed refresh means the connection is going away; the close handler below reports it.
    } finally {
      inFlight = false;
    }
  };
  for (const event of EVENT_NAMES) client.on(event, () => void refresh());
  // A listener that stays until the end: log-update's signal-exit re-raises SIGINT (exit 130) when
  // it finds no other listener, and Ctrl-C is this command's normal end (exit 0).
  let onSigint = (): void => {};
  const ended = new Promise<ConnectionError | null>((resolve) => {
    onSigint = () => resolve(null);
    client.onClose((err) => resolve(err));
  });
  process.on("SIGINT", onSigint);
  try {
    await client.subscribe();
    await whileLoading(show);
    const lost = await ended;
    if (lost) throw lost;
    return EXIT.ok;
  } finally {
    screen?.done();
    client.close();
    process.off("SIGINT", onSigint);
  }
}

/** The last error in plain words, for people: what failed, when, and the code for reports. */
function formatLastError(e: LastError | null): string[] {
  if (!e) return [];
  return fields([["last error", `${colors.red(e.message)} (code ${e.code}, ${when(e.at)})`]]);
}

async function health(ctx: CliContext): Promise<number> {
  const result = await ctx.withClient((client) => client.health());
  ctx.out.result(result, () => formatHealth(result));
  return result.healthy ? EXIT.ok : EXIT.failure;
}

function formatStatus(s: StatusResult): string[] {
  return fields([
    ["state", `${s.state}${s.connected ? " (connected)" : ""}${s.paused ? " (paused)" : ""}`],
    ["last sync", when(s.lastSync)],
    ["pending", `${s.pendingUp} to upload, ${s.pendingDown} to pull`],
    ["device", s.deviceId ?? "-"],
    ["account", s.accountId ?? "-"],
  ]);
}

function formatHealth(h: HealthResult): string[] {
  const relay = h.jazz.connected
    ? `${h.jazz.relay} (connected${h.jazz.latency === null ? "" : `, ${h.jazz.latency} ms`})`
    : `${h.jazz.relay} (not connected)`;
  const lastError = h.lastError
    ? `${h.lastError.message} [${h.lastError.code}], ${when(h.lastError.at)}`
    : "none";
  const oldest = h.queue.oldestAgeMs === null ? "" : `, oldest ${duration(h.queue.oldestAgeMs / 1000)}`;
  return fields([
    ["healthy", h.healthy ? "yes" : "NO"],
    ["state", `${h.state}${h.paused ? " (paused)" : ""}`],
    ["uptime", duration(h.uptime)],
    ["relay", relay],
    ["cache", `${h.cache.entries} entries, ${bytes(h.cache.sizeBytes)}${cacheWritable(h.cache)}`],
    ["queue", `${h.queue.pending} pending, ${h.queue.failed} failed${oldest}`],
    ["last sync", when(h.lastSync)],
    ["last error", lastError],
    ["next retry", h.nextRetryAt === null ? "-" : when(h.nextRetryAt)],
    ["completeness", formatIntegrity(h.integrity)],
  ]);
}

/** "" when writable; else why not (an older daemon sends no `error`). */
function cacheWritable(cache: HealthResult["cache"]): string {
  if (cache.writable !== false) return "";
  const error = cache.error as HealthResult["cache"]["error"] | undefined;
  return error ? `, NOT writable: ${error.message} (${error.reason})` : ", NOT writable";
}

/** The completeness check: its status, and what is missing where (`relay: commandHistory (partial)`). */
function formatIntegrity(i: HealthResult["integrity"] | undefined): string {
  if (!i) return "unknown (this daemon does not report it)";
  const missing = i.missing.map((m) => `${m.where}: ${m.part}${m.state === "partial" ? " (partial)" : ""}`);
  return missing.length === 0 ? i.status : `${i.status}; missing ${missing.join(", ")}`;
}

/** "label:   value" lines with the values aligned. */
export function fields(pairs: [string, string][]): string[] {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
