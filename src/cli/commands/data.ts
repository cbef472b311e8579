// The user's own data, encrypted and decrypted here with the keys from the phrase: `add`,
// `history`, `pref set|get|list`. (`pull` shows the raw, still encrypted entries.)
import { InvalidArgumentError, Option, type Command } from "commander";
import { SAFETY_LEVELS } from "../../protocol.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT, UsageError } from "../exitCodes.js";
import { requireKeys } from "../keys.js";
import { relative } from "../output.js";
import type { Action } from "../program.js";
import {
  commandEntry,
  decryptHistoryEntry,
  decryptPreferenceEntry,
  newestFirst,
  ownDeviceId,
  parseHistoryCursor,
  preferenceEntry,
  pullAll,
  pushOne,
  type HistoryRecord,
} from "../records.js";
import { colors, table } from "../ui.js";
import { parseSince } from "../time.js";

const work = { autoStart: true };

interface AddOptions {
  explanation?: string;
  safety: string;
  tags?: string[];
}

interface HistoryOptions {
  device?: string;
  since?: number;
  search?: string;
  limit: number;
  all?: boolean;
  before?: string;
  deleted?: boolean;
}

export function registerDataCommands(program: Command, action: Action): void {
  program
    .command("add")
    .description("encrypt a command and push it, the way the caro CLI does")
    .argument("<prompt>", "what was asked")
    .argument("<command>", "the command")
    .option("--explanation <text>", "why this command")
    .addOption(new Option("--safety <level>", "safety level").choices(SAFETY_LEVELS).default("safe"))
    .option("--tags <tags>", "comma-separated tags", (v: string) =>
      v
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .action(
      action((ctx, prompt: string, command: string, opts: AddOptions) => add(ctx, prompt, command, opts)),
    );

  program
    .command("history")
    .description("your command history, decrypted on this device, newest first")
    .option("--device <id|name>", "only commands from this device")
    .option("--since <when>", "only commands created since (2h, 7d, 2026-01-31, or epoch ms)", sinceOption)
    .option("--search <text>", "only commands whose prompt, command or explanation contains this (any case)")
    .option("--limit <n>", "at most this many (default 20)", positive, 20)
    .option("--all", "no limit")
    .option("--before <cursor>", "the next (older) page: the cursor of the last line shown")
    .option("--deleted", "include deleted commands")
    .action(action((ctx, opts: HistoryOptions) => history(ctx, opts)));

  const pref = program.command("pref").description("preferences, encrypted like your history");
  pref
    .command("set")
    .argument("<key>")
    .argument("<value>")
    .description("set a preference (last writer wins across devices)")
    .action(action((ctx, key: string, value: string) => prefSet(ctx, key, value)));
  pref
    .command("get")
    .argument("<key>")
    .description("print a preference (exit 1 when it is not set)")
    .action(action((ctx, key: string) => prefGet(ctx, key)));
  pref
    .command("list")
    .description("every preference")
    .action(action((ctx) => prefList(ctx)));
}

function positive(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

function sinceOption(value: string): number {
  const ms = parseSince(value);
  if (ms === null) throw new InvalidArgumentError("expected a duration (30m, 2h, 7d), a date, or epoch ms");
  return ms;
}

async function add(ctx: CliContext, prompt: string, command: string, opts: AddOptions): Promise<number> {
  const { keys } = requireKeys();
  const id = await ctx.withClient(async (client) => {
    const entry = commandEntry(keys, await ownDeviceId(client), {
      prompt,
      command,
      safetyLevel: opts.safety,
      ...(opts.explanation === undefined ? {} : { explanation: opts.explanation }),
      ...(opts.tags === undefined ? {} : { tags: opts.tags }),
    });
    await pushOne(client, entry);
    return entry.id;
  }, work);
  ctx.out.result({ id }, () => `added ${id}`);
  return EXIT.ok;
}

async function history(ctx: CliContext, opts: HistoryOptions): Promise<number> {
  const { keys } = requireKeys();
  const before = opts.before === undefined ? null : parseHistoryCursor(opts.before);
  if (opts.before !== undefined && before === null)
    throw new UsageError("--before expects a cursor printed by `caro-sync history --json`");
  const { records, names } = await ctx.withClient(async (client) => {
    const [entries, { devices }] = await Promise.all([pullAll(client, ["command"]), client.listDevices()]);
    return {
      records: entries.map((e) => decryptHistoryEntry(keys, e)),
      names: new Map(devices.map((d) => [d.deviceId, d.name])),
    };
  }, work);
  const device = opts.device;
  const needle = opts.search?.toLowerCase();
  const selected = records
    .filter((r) => opts.deleted || r.deletedAt === undefined)
    .filter((r) => device === undefined || r.deviceId === device || names.get(r.deviceId) === device)
    .filter((r) => opts.since === undefined || r.createdAt >= opts.since)
    .filter((r) => needle === undefined || matches(r, needle))
    .sort(newestFirst)
    .filter((r) => before === null || newestFirst(before, r) < 0);
  const page = opts.all ? selected : selected.slice(0, opts.limit);
  if (ctx.json) {
    for (const r of page) ctx.out.jsonLine(r);
    return EXIT.ok;
  }
  if (page.length === 0) {
    ctx.out.print("no commands");
    return EXIT.ok;
  }
  ctx.out.print(historyTable(page, names));
  if (page.length < selected.length) {
    const last = page[page.length - 1]!;
    ctx.out.print(
      colors.dim(
        `${selected.length - page.length} older: caro-sync history --before ${last.cursor} (or --all)`,
      ),
    );
  }
  return EXIT.ok;
}

function matches(r: HistoryRecord, needle: string): boolean {
  if ("undecryptable" in r) return false;
  return [r.prompt, r.command, r.explanation ?? ""].some((t) => t.toLowerCase().includes(needle));
}

function historyTable(records: HistoryRecord[], names: Map<string, string>): string[] {
  const rows = records.map((r) => [
    relative(r.createdAt),
    names.get(r.deviceId) ?? r.deviceId.slice(0, 8),
    safety(r.safetyLevel),
    "undecryptable" in r ? colors.red(`<undecryptable: ${r.error}>`) : r.command,
    "undecryptable" in r ? "" : r.prompt + (r.deletedAt === undefined ? "" : colors.dim(" (deleted)")),
  ]);
  return table(["WHEN", "DEVICE", "SAFETY", "COMMAND", "PROMPT"], rows);
}

function safety(level: string): string {
  if (level === "critical" || level === "high") return colors.red(level);
  if (level === "moderate") return colors.yellow(level);
  return colors.green(level);
}

async function prefSet(ctx: CliContext, key: string, value: string): Promise<number> {
  const { keys } = requireKeys();
  const entry = await ctx.withClient(async (client) => {
    const e = preferenceEntry(keys, await ownDeviceId(client), key, value);
    await pushOne(client, e);
    return e;
  }, work);
  ctx.out.result({ key, value, updatedAt: entry.metadata.updatedAt }, () => `${key} = ${value}`);
  return EXIT.ok;
}

async function prefGet(ctx: CliContext, key: string): Promise<number> {
  const { keys } = requireKeys();
  const entries = await ctx.withClient((client) => pullAll(client, ["preference"]), work);
  const entry = entries.find((e) => e.id === key);
  if (!entry)
    throw new CliError(`no preference ${key}`, EXIT.failure, "not_found", "see `caro-sync pref list`");
  const pref = decryptPreferenceEntry(keys, entry);
  if (pref.value === null)
    throw new CliError(
      `preference ${key} does not decrypt (${pref.error})`,
      EXIT.encryptionError,
      "undecryptable",
    );
  ctx.out.result({ key, value: pref.value, updatedAt: pref.updatedAt }, () => pref.value ?? "");
  return EXIT.ok;
}

async function prefList(ctx: CliContext): Promise<number> {
  const { keys } = requireKeys();
  const entries = await ctx.withClient((client) => pullAll(client, ["preference"]), work);
  const preferences = entries
    .map((e) => decryptPreferenceEntry(keys, e))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  ctx.out.result({ preferences }, () =>
    preferences.length === 0
      ? "no preferences"
      : table(
          ["KEY", "VALUE", "UPDATED"],
          preferences.map((p) => [
            p.key,
            p.value ?? colors.red(`<undecryptable: ${p.error}>`),
            relative(p.updatedAt),
          ]),
        ),
  );
  return EXIT.ok;
}
