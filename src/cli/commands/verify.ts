// `caro-sync verify [--repair]`: is every command everywhere? Per device, the number of commands
// and their digest in the cache, in Jazz's storage and on the relay, then what is missing where.
// Exit 0 when everything is everywhere, 1 otherwise (the report is printed either way).
import type { Command } from "commander";
import type { VerifyResult } from "../../protocol.js";
import type { CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import { when } from "../output.js";
import type { Action } from "../program.js";
import { colors, table } from "../ui.js";

export function registerVerifyCommand(program: Command, action: Action): void {
  program
    .command("verify")
    .description("check that the cache, Jazz's storage and the relay hold the same commands (exit 1 if not)")
    .option("--repair", "upload or download what is missing first")
    .action(action((ctx, opts: { repair?: boolean }) => verify(ctx, opts.repair === true)));
}

async function verify(ctx: CliContext, repair: boolean): Promise<number> {
  const result = await ctx.withClient((client) => client.verify({ repair }), { autoStart: true });
  ctx.out.result(result, () => formatVerify(result));
  return result.complete ? EXIT.ok : EXIT.failure;
}

type Summary = VerifyResult["total"]["cache"] | null;

/** "1520 3f9a0c1b": the count and the digest's first 8 characters; "-" when not known. */
function cell(s: Summary, reference: Summary): string {
  if (!s) return "-";
  const text = `${s.commands} ${s.digest.slice(0, 8)}`;
  return reference && s.digest !== reference.digest ? colors.red(text) : text;
}

export function formatVerify(r: VerifyResult): string[] {
  const row = (label: string, x: { cache: Summary; jazz: Summary; relay: Summary }) => [
    label,
    cell(x.cache, x.jazz ?? x.cache),
    cell(x.jazz, x.cache),
    cell(x.relay, x.jazz ?? x.cache),
  ];
  const lines = table(
    ["DEVICE", "CACHE", "JAZZ", "RELAY"],
    [...r.devices.map((d) => row(d.deviceId, d)), row("all devices", r.total)],
  );
  for (const p of r.missing.parts)
    lines.push(
      `missing ${p.where === "jazz" ? "in Jazz's storage" : "on the relay"}: ${p.part}${p.state === "partial" ? " (partial)" : ""}`,
    );
  for (const c of r.missing.commands) {
    const counts = [c.absent && `${c.absent} absent`, c.behind && `${c.behind} behind`]
      .filter(Boolean)
      .join(", ");
    lines.push(
      `missing in ${c.where === "jazz" ? "Jazz's storage" : `the ${c.where}`}, device ${c.deviceId}: ${counts} (${c.ids.join(", ")}${c.ids.length < c.absent + c.behind ? ", …" : ""})`,
    );
  }
  if (r.repaired)
    lines.push(
      `repaired: ${r.repaired.downloaded} downloaded into the cache, ${r.repaired.uploaded} queued for upload`,
    );
  if (!r.relayChecked) lines.push("the relay was not asked: not connected");
  lines.push(
    r.complete
      ? colors.green(`complete: the same commands everywhere (checked ${when(r.checkedAt)})`)
      : colors.red(`incomplete${r.repaired || !r.relayChecked ? "" : ": run `caro-sync verify --repair`"}`),
  );
  return lines;
}
