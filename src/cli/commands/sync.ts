// Working with the daemon's entries as they are on the wire (still encrypted): push, pull, delete;
// and sync control: pause, resume, now, reset.
// These start the daemon when it is not running (unless --no-auto-start).
import { InvalidArgumentError, Option, type Command } from "commander";
import { ENTRY_TYPES, PULL_LIMIT_MAX, type EntryType, type PulledEntry } from "../../protocol.js";
import type { CliContext } from "../context.js";
import { EXIT, UsageError } from "../exitCodes.js";
import { confirm, parseEntries, readInput } from "../input.js";
import { when } from "../output.js";
import { progress, table, type Progress } from "../ui.js";
import type { Action } from "../program.js";
import { RpcError } from "../../client/errors.js";
import { pushInBatches } from "../../client/pushInBatches.js";
import { keysFile } from "../keys.js";

const work = { autoStart: true };

export function registerSyncCommands(program: Command, action: Action): void {
  program
    .command("push")
    .description("push encrypted entries (a JSON array, or {entries}) from FILE or stdin")
    .argument("[file]", 'JSON file; "-" or absent reads stdin')
    .addOption(
      new Option("--ack <level>", "answer once stored locally, or once the relay has them").choices([
        "local",
        "relay",
      ]),
    )
    .action(
      action((ctx, file: string | undefined, opts: { ack?: "local" | "relay" }) => push(ctx, file, opts)),
    );

  program
    .command("pull")
    .description("list raw (still encrypted) entries from the local cache, oldest arrival first")
    .option("--since <cursor>", "only entries after this cursor (a previous nextCursor)", integer)
    .option("--limit <n>", `entries per page (1-${PULL_LIMIT_MAX}, default 100)`, integer)
    .option("--type <types>", `only these types, comma-separated (${ENTRY_TYPES.join(", ")})`, types)
    .option("--all", "page on until every entry is listed")
    .action(action((ctx, opts: HistoryOptions) => history(ctx, opts)));

  program
    .command("delete")
    .description("delete commands by id (they come back as tombstones in history)")
    .argument("<id...>", "command ids")
    .action(action((ctx, ids: string[]) => del(ctx, ids)));

  program
    .command("pause")
    .description("stop network sync (pushes are still accepted and queued)")
    .action(action((ctx) => simple(ctx, "pause")));
  program
    .command("resume")
    .description("restart network sync")
    .action(action((ctx) => simple(ctx, "resume")));
  program
    .command("now")
    .description("run one sync round now")
    .action(action((ctx) => simple(ctx, "now")));

  program
    .command("reset")
    .description("forget this device's sync identity, cache and queue")
    .option("-y, --yes", "do not ask for confirmation (required with --json)")
    .option("--discard-unsynced", "also forget changes the relay has not confirmed yet (they are lost)")
    .action(action((ctx, opts: ResetOptions) => reset(ctx, opts)));
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

function types(value: string): EntryType[] {
  const list = value.split(",").map((t) => t.trim());
  for (const t of list) {
    if (!(ENTRY_TYPES as readonly string[]).includes(t)) {
      throw new InvalidArgumentError(`expected ${ENTRY_TYPES.join(", ")} (comma-separated)`);
    }
  }
  return list as EntryType[];
}

async function push(
  ctx: CliContext,
  file: string | undefined,
  opts: { ack?: "local" | "relay" },
): Promise<number> {
  const { text, source } = await readInput(file, "entries (JSON)");
  const input = parseEntries(text, source);
  const ack = opts.ack ?? input.ack;
  // A bar only for a push of more than one request (pushInBatches reports progress only then): a
  // single request is over before a bar could say anything.
  let bar: Progress | undefined;
  const onProgress = (done: number, total: number) => {
    bar ??= progress("pushing", { json: ctx.json, total });
    bar.update(done);
  };
  const result = await ctx
    .withClient((client) => pushInBatches(client, input.entries, { ack, onProgress }), work)
    .finally(() => bar?.stop());
  ctx.out.result(result, () => [
    `pushed ${result.synced} of ${input.entries.length} entries${ack === "relay" ? " (confirmed by the relay)" : ""}`,
    ...result.errors.map((e) => `  failed ${e.id}: ${e.message} [${e.code}]`),
  ]);
  return result.failed.length > 0 ? EXIT.failure : EXIT.ok;
}

interface HistoryOptions {
  since?: number;
  limit?: number;
  type?: EntryType[];
  all?: boolean;
}

async function history(ctx: CliContext, opts: HistoryOptions): Promise<number> {
  if (opts.limit !== undefined && (opts.limit < 1 || opts.limit > PULL_LIMIT_MAX)) {
    throw new UsageError(`--limit must be between 1 and ${PULL_LIMIT_MAX}`);
  }
  await ctx.withClient(async (client) => {
    let since: number | null = opts.since ?? null;
    let listed = 0;
    for (;;) {
      const page = await client.pull({
        since,
        ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        ...(opts.type === undefined ? {} : { types: opts.type }),
      });
      // JSON lines: one raw pulled entry per line (`history` decrypts).
      if (ctx.json) for (const entry of page.entries) ctx.out.jsonLine(entry);
      else if (page.entries.length > 0) ctx.out.print(historyTable(page.entries, listed === 0));
      listed += page.entries.length;
      if (page.nextCursor !== null) since = page.nextCursor;
      if (!page.hasMore || page.entries.length === 0) break;
      if (!opts.all) {
        ctx.out.print(`… more entries: caro-sync pull --since ${since ?? ""} (or --all)`);
        break;
      }
    }
    if (listed === 0) ctx.out.print("no entries");
  }, work);
  return EXIT.ok;
}

function historyTable(entries: PulledEntry[], withHeader: boolean): string[] {
  const rows = entries.map((e) => [
    e.id,
    e.type,
    e.metadata.deviceId,
    when(e.metadata.createdAt),
    entryState(e),
  ]);
  const lines = table(["ID", "TYPE", "DEVICE", "CREATED", "STATE"], rows);
  return withHeader ? lines : lines.slice(1);
}

function entryState(e: PulledEntry): string {
  const m = e.metadata;
  if (m.deletedAt !== undefined) return "deleted";
  if (e.type === "device") return m.device?.isActive === false ? "removed" : "active";
  if (e.type !== "command") return "-";
  const level = m.safetyLevel ?? "";
  if (!m.executed) return `${level} not run`.trim();
  return `${level} ${m.success === false ? "failed" : m.success ? "ok" : "run"}`.trim();
}

async function del(ctx: CliContext, ids: string[]): Promise<number> {
  const result = await ctx.withClient((client) => client.delete({ ids }), work);
  ctx.out.result(result, () => `deleted ${result.deleted} of ${ids.length} entries`);
  return EXIT.ok;
}

async function simple(ctx: CliContext, what: "pause" | "resume" | "now"): Promise<number> {
  const result = await ctx.withClient<object>((client) => client[what](), work);
  ctx.out.result(result, () => {
    if (what === "pause") return "sync paused (pushes are still accepted and queued)";
    if (what === "resume") return "sync resumed";
    const r = result as { pushed: number; pulled: number };
    return `synced: ${r.pushed} pushed, ${r.pulled} pulled`;
  });
  return EXIT.ok;
}

interface ResetOptions {
  yes?: boolean;
  discardUnsynced?: boolean;
}

async function reset(ctx: CliContext, opts: ResetOptions): Promise<number> {
  if (!opts.yes) {
    if (ctx.json || !process.stdin.isTTY) {
      throw new UsageError("reset needs confirmation", "pass --yes to confirm");
    }
    const ok = await confirm(
      "This forgets this device's sync identity, local cache and queue (other devices keep their data). Continue?",
    );
    if (!ok) {
      ctx.out.print("reset cancelled");
      return EXIT.failure;
    }
  }
  const result = await ctx.withClient(async (client) => {
    try {
      return await client.reset({ confirm: true, discardUnsynced: opts.discardUnsynced === true });
    } catch (err) {
      // Changes the relay does not have yet: say how many, and ask (on a terminal) before losing them.
      if (!(err instanceof RpcError) || err.reason !== "unsynced_changes" || ctx.json || !process.stdin.isTTY)
        throw err;
      const pending = Number((err.data as { pending?: number } | undefined)?.pending ?? 0);
      const lose = await confirm(
        `${pending} changes have not reached the relay yet and would be lost. Reset anyway?`,
      );
      if (!lose) return null;
      return await client.reset({ confirm: true, discardUnsynced: true });
    }
  }, work);
  if (result === null) {
    ctx.out.print("reset cancelled: nothing was forgotten");
    return EXIT.failure;
  }
  // The keys belong to the identity just forgotten.
  keysFile().remove();
  ctx.out.result(result, () => "this device's sync identity, keys, cache and queue are forgotten");
  return EXIT.ok;
}
