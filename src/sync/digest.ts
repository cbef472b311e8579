// The command digest of sync.verify: a summary two places (the cache, Jazz's local storage, the
// relay) compute on their own and compare cheaply. Per device, and over all devices:
//
//   digest = hex SHA-256 of the lines "<id> <createdAt> <executed> <success> <executedAt> <deletedAt>\n",
//            one per command, sorted by id; an absent field is "-", booleans are 1/0
//
// It covers every command's presence and its merged state (what a later version can change), not
// the encrypted payload: a payload never changes once written, and the cache keeps no payload for
// the commands it evicted (they are still counted). Two places with the same digest hold the same
// commands in the same state.
import { createHash } from "node:crypto";
import type { RemoteRecord } from "./remote.js";

export type CommandRecord = Extract<RemoteRecord, { type: "command" }>;

export interface CommandSummary {
  commands: number;
  digest: string;
}

const field = (v: number | boolean | undefined): string =>
  v === undefined ? "-" : typeof v === "boolean" ? (v ? "1" : "0") : String(v);

/** The line of one command in the digest: its id and the fields of its state. */
export function fingerprint(c: CommandRecord): string {
  const { createdAt, executed, success, executedAt, deletedAt } = c;
  return `${c.id} ${[createdAt, executed, success, executedAt, deletedAt].map(field).join(" ")}\n`;
}

/** The count and digest of a set of commands (each id once). */
export function summarize(commands: Iterable<CommandRecord>): CommandSummary {
  return summaries(commands).total;
}

/**
 * summarize() of all the commands and of each device's (by deviceId), in one sort, hashing each
 * digest's text at once. `lines` may hold fingerprints already computed, by id.
 */
export function summaries(
  commands: Iterable<CommandRecord>,
  lines?: ReadonlyMap<string, string>,
): { total: CommandSummary; byDevice: Map<string, CommandSummary> } {
  const all = [...commands].map((c) => ({ device: c.deviceId, line: lines?.get(c.id) ?? fingerprint(c) }));
  all.sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  const perDevice = new Map<string, string[]>();
  for (const { device, line } of all) {
    const list = perDevice.get(device);
    if (list) list.push(line);
    else perDevice.set(device, [line]);
  }
  const digest = (text: string) => createHash("sha256").update(text).digest("hex");
  return {
    total: { commands: all.length, digest: digest(all.map((l) => l.line).join("")) },
    byDevice: new Map(
      [...perDevice].map(([device, list]) => [
        device,
        { commands: list.length, digest: digest(list.join("")) },
      ]),
    ),
  };
}
