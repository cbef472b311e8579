// `export`: all of the user's data, decrypted on this device, as JSON lines: commands (deleted ones
// included, with deletedAt), preferences and devices. To stdout, or to a 0600 file with --output.
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import { requireKeys } from "../keys.js";
import type { Action } from "../program.js";
import { decryptHistoryEntry, decryptPreferenceEntry, pullAll } from "../records.js";
import { progress } from "../ui.js";

export function registerExportCommand(program: Command, action: Action): void {
  program
    .command("export")
    .description("everything, decrypted, as JSON lines ({type: command|preference|device, ...})")
    .option("-o, --output <file>", "write to this file (created 0600) instead of stdout")
    .action(action((ctx, opts: { output?: string }) => exportAll(ctx, opts)));
}

async function exportAll(ctx: CliContext, opts: { output?: string }): Promise<number> {
  const { keys } = requireKeys();
  const entries = await ctx.withClient(
    async (client) => {
      const { cache } = await client.health();
      const bar = progress("exporting", { json: ctx.json, total: cache.entries });
      try {
        return await pullAll(client, ["command", "preference", "device"], (n) => bar.update(n));
      } finally {
        bar.stop();
      }
    },
    { autoStart: true },
  );
  const lines = entries.map((e) => {
    if (e.type === "command") return { type: "command", ...decryptHistoryEntry(keys, e) };
    if (e.type === "preference") return { type: "preference", ...decryptPreferenceEntry(keys, e) };
    return { type: "device", ...e.metadata.device };
  });
  if (opts.output === undefined) {
    for (const line of lines) ctx.out.jsonLine(line);
    return EXIT.ok;
  }
  const file = createWriteStream(opts.output, { mode: 0o600, flags: "w" });
  for (const line of lines) file.write(JSON.stringify(line) + "\n");
  file.end();
  await finished(file);
  ctx.out.note(`exported ${lines.length} records to ${opts.output}`);
  return EXIT.ok;
}
