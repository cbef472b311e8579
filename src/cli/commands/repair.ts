// `caro-sync repair`: the way out of a damaged cache, which the daemon refuses (exit 65). With the
// daemon stopped it moves the file aside (never deleting it), salvages the entries the relay has
// not confirmed into a 0600 JSON file beside it, starts the daemon on a fresh cache (which fills
// from Jazz's local storage and the relay), pushes the salvaged entries again (pushes are
// idempotent by id) and reports what it could not recover: exit 1 then.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ConnectionError } from "../../client/errors.js";
import { SyncClient } from "../../client/SyncClient.js";
import { loadConfig } from "../../config/load.js";
import type { RemoteRecord } from "../../sync/remote.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT, UsageError } from "../exitCodes.js";
import type { Action } from "../program.js";
import { repush, settle, type RepushResult, type Settled } from "../repairDaemon.js";

/** How long a daemon asked to stop may take to let go of the cache (its flush is bounded too). */
const STOP_TIMEOUT_MS = 20_000;
/** Unreadable entries named one by one in the report; the rest are counted. */
const MAX_NAMED = 20;

interface RepairFlags {
  force?: boolean;
  from?: string;
  wait: string;
}

export interface RepairReport {
  /** False when there was nothing to repair (`message` says why). */
  repaired: boolean;
  message: string | null;
  cache: string;
  /** What was wrong with the cache; null with --force on a sound one, and with --from. */
  damage: string | null;
  movedAside: { database: string; wal: string | null; shm: string | null } | null;
  salvage: {
    file: string;
    /** Unsynced changes found in the damaged cache (read or not). */
    queued: number;
    salvaged: number;
    /** Unsynced changes that could not be read (entry rows and queue rows). */
    unreadable: number;
  } | null;
  repushed: RepushResult | null;
  rebuilt: Settled | null;
  /** What could not be recovered, one sentence each; empty means everything was. */
  unrecovered: string[];
}

export function registerRepairCommand(program: Command, action: Action): void {
  program
    .command("repair")
    .description(
      "move a damaged cache aside, keep its unsynced entries and rebuild it; exit 1 if any is lost",
    )
    .option("--force", "rebuild even when the cache passes its check or the daemon is healthy")
    .option("--from <file>", "only push again the entries of a salvage file an earlier repair left")
    .option("--wait <seconds>", "how long to wait for the rebuilt cache to settle", "60")
    .action(action((ctx, opts: RepairFlags) => repair(ctx, opts)));
}

async function repair(ctx: CliContext, flags: RepairFlags): Promise<number> {
  const waitMs = Number(flags.wait) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0)
    throw new UsageError(`--wait: expected seconds, got ${flags.wait}`);
  const { config } = loadConfig({ socketPath: ctx.socketOverride });
  const report: RepairReport = {
    repaired: false,
    message: null,
    cache: config.cachePath,
    damage: null,
    movedAside: null,
    salvage: null,
    repushed: null,
    rebuilt: null,
    unrecovered: [],
  };
  // Loaded here: the other commands never load SQLite.
  const files = await import("../../cache/setAside.js");
  const { readSalvageFile } = await import("../../cache/salvage.js");
  let records: RemoteRecord[];
  if (flags.from !== undefined) {
    const { records: read, invalid } = readSalvageFile(flags.from);
    records = read;
    report.salvage = {
      file: flags.from,
      queued: read.length + invalid,
      salvaged: read.length,
      unreadable: invalid,
    };
    if (invalid > 0) report.unrecovered.push(`${invalid} records of ${flags.from} are not valid entries`);
  } else {
    const running = await SyncClient.probe(await ctx.socketPath());
    let why: string | null;
    try {
      why = await nothingToRepair(
        running,
        config.cachePath,
        flags.force === true,
        (d) => (report.damage = d),
      );
      if (why === null && running) await running.shutdown({ reason: "caro-sync repair" });
    } finally {
      running?.close();
    }
    if (why !== null) {
      report.message = why;
      ctx.out.result(report, () => why);
      return EXIT.ok;
    }
    let lock;
    try {
      lock = await files.waitForCacheLock(config.cachePath, running ? STOP_TIMEOUT_MS : 1_000);
    } catch (err) {
      if (!(err instanceof files.CacheLockedError)) throw err;
      throw new CliError(
        `the cache ${config.cachePath} is in use by another caro-sync process`,
        EXIT.failure,
        "cache_locked",
        "stop it (`caro-sync stop`) and run `caro-sync repair` again",
      );
    }
    let aside;
    try {
      aside = files.setAsideAndSalvage(config.cachePath, new Date());
    } finally {
      lock.release();
    }
    const { salvage } = aside;
    records = salvage.records;
    report.movedAside = aside.moved;
    report.salvage = {
      file: aside.salvageFile,
      queued: salvage.records.length + salvage.unreadable.length + salvage.lostQueueRows,
      salvaged: salvage.records.length,
      unreadable: salvage.unreadable.length + salvage.lostQueueRows,
    };
    for (const u of salvage.unreadable.slice(0, MAX_NAMED))
      report.unrecovered.push(`unsynced ${u.type} ${u.id} could not be read: ${u.reason}`);
    if (salvage.unreadable.length > MAX_NAMED)
      report.unrecovered.push(
        `${salvage.unreadable.length - MAX_NAMED} more unsynced entries could not be read`,
      );
    if (salvage.lostQueueRows > 0)
      report.unrecovered.push(
        `${salvage.lostQueueRows} unsynced changes whose queue rows could not be read (ids unknown)`,
      );
    if (salvage.queueIncomplete)
      report.unrecovered.push(
        `parts of the queue could not be read and nothing tells what they held; the damaged copy stays at ${aside.moved.database}`,
      );
  }
  report.repaired = true;

  let client: SyncClient;
  try {
    client = await ctx.connect({ autoStart: true });
  } catch (err) {
    if (!(err instanceof ConnectionError)) throw err;
    const next =
      records.length > 0
        ? `; run \`caro-sync repair --from ${report.salvage?.file ?? "<salvage file>"}\` once it runs`
        : "";
    report.unrecovered.push(`the daemon did not start (${err.message})${next}`);
    return finish(ctx, report);
  }
  try {
    const deadline = Date.now() + waitMs;
    // Rebuilt first: a device removal applies only to a device the cache knows again.
    await settle(client, deadline);
    report.repushed = await repush(client, records);
    for (const { id, message } of report.repushed.errors)
      report.unrecovered.push(`salvaged entry ${id} was refused when pushed again: ${message}`);
    report.rebuilt = await settle(client, deadline);
  } finally {
    client.close();
  }
  return finish(ctx, report);
}

/** Why there is nothing to repair, or null to go on; records what is wrong with the cache. */
async function nothingToRepair(
  running: SyncClient | null,
  cachePath: string,
  force: boolean,
  setDamage: (damage: string) => void,
): Promise<string | null> {
  let unhealthy = "";
  if (running) {
    const health = await running.health();
    if (health.healthy && !force)
      return "the daemon is running and healthy: nothing to repair (--force rebuilds the cache anyway)";
    if (health.lastError)
      unhealthy = `; the daemon is unhealthy (${health.lastError.message}): see \`caro-sync doctor\``;
  }
  if (!existsSync(cachePath)) return `there is no cache at ${cachePath}: nothing to repair`;
  const { checkCacheFile } = await import("../../cache/setAside.js");
  const damage = checkCacheFile(cachePath);
  if (damage !== null) setDamage(damage);
  else if (!force)
    return `the cache ${cachePath} passed quick_check: nothing to repair (--force rebuilds it anyway)${unhealthy}`;
  return null;
}

function finish(ctx: CliContext, report: RepairReport): number {
  ctx.out.result(report, () => describe(report));
  return report.unrecovered.length > 0 ? EXIT.failure : EXIT.ok;
}

function describe(r: RepairReport): string[] {
  const lines: string[] = [];
  if (r.damage) lines.push(`the cache ${r.cache} was damaged: ${r.damage}`);
  if (r.movedAside) {
    const extra = [r.movedAside.wal && "-wal", r.movedAside.shm && "-shm"].filter(Boolean).join(" and ");
    lines.push(`moved it aside to ${r.movedAside.database}${extra ? ` (with its ${extra})` : ""}`);
  }
  if (r.salvage)
    lines.push(
      `salvaged ${r.salvage.salvaged} of ${r.salvage.queued} unsynced entries into ${r.salvage.file}` +
        (r.salvage.unreadable > 0 ? `; ${r.salvage.unreadable} could not be read` : ""),
    );
  if (r.repushed)
    lines.push(
      `pushed ${r.repushed.pushed} salvaged entries again` +
        (r.repushed.failed > 0 ? `, ${r.repushed.failed} refused` : "") +
        (r.repushed.skipped > 0 ? `, ${r.repushed.skipped} skipped (other devices' records)` : ""),
    );
  if (r.rebuilt)
    lines.push(
      `the rebuilt cache holds ${r.rebuilt.entries} entries (${r.rebuilt.state}` +
        (r.rebuilt.settled ? ")" : "; still filling: the rest arrives once the relay is reachable)"),
    );
  if (r.unrecovered.length > 0) lines.push("could not recover:", ...r.unrecovered.map((u) => `  - ${u}`));
  else lines.push("nothing was lost");
  return lines;
}
