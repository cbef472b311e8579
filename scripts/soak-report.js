// The reliability suite's figures as a table (docs/reliability.md): reads the JSON file each
// scenario wrote to a results directory (test/helpers/soak.ts), prints the table, and with
// --write-docs puts it into docs/reliability.md between the markers.
//
// Usage: node scripts/soak-report.js RESULTS_DIR [--write-docs] [--duration-ms N]
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

export const DOCS = fileURLToPath(new URL("../docs/reliability.md", import.meta.url));
const START = "<!-- soak-figures:start -->";
const END = "<!-- soak-figures:end -->";

/**
 * @typedef {{ scenario: string, status: string, soak: boolean, kills: number, outages: number,
 *   messagesFuzzed: number, entriesChecked: number, lost: number, duplicated: number,
 *   logsScanned: number, logBytes: number, secretsChecked: number, durationMs: number,
 *   note?: string }} Figures
 */

/** @param {string} dir @returns {Figures[]} */
export function readFigures(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => /** @type {Figures} */ (JSON.parse(readFileSync(join(dir, name), "utf8"))))
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

const number = (/** @type {number} */ n) => n.toLocaleString("en-US");
const seconds = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(1)} s`;

/** A Markdown table laid out the way prettier lays it out (so `prettier --check` passes). */
function markdownTable(/** @type {string[][]} */ rows) {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

/** @param {Figures[]} figures */
export function renderTable(figures) {
  const header = [
    "scenario",
    "result",
    "kills",
    "outages",
    "faults injected",
    "entries checked",
    "lost",
    "duplicated",
    "logs scanned",
    "duration",
  ];
  const rows = figures.map((f) => [
    f.scenario,
    f.status,
    number(f.kills),
    number(f.outages),
    number(f.messagesFuzzed),
    number(f.entriesChecked),
    number(f.lost),
    number(f.duplicated),
    `${number(f.logsScanned)} (${number(Math.round(f.logBytes / 1024))} KiB)`,
    seconds(f.durationMs),
  ]);
  const total = (/** @type {keyof Figures} */ key) => figures.reduce((n, f) => n + Number(f[key]), 0);
  rows.push([
    "**total**",
    `${figures.filter((f) => f.status === "passed").length} of ${figures.length} passed`,
    number(total("kills")),
    number(total("outages")),
    number(total("messagesFuzzed")),
    number(total("entriesChecked")),
    number(total("lost")),
    number(total("duplicated")),
    `${number(total("logsScanned"))} (${number(Math.round(total("logBytes") / 1024))} KiB)`,
    seconds(total("durationMs")),
  ]);
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.scenario}: ${f.note}`);
  return [markdownTable([header, ...rows]), ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** Replaces what is between the markers of docs/reliability.md with `body`. */
export function writeDocs(/** @type {string} */ body, path = DOCS) {
  const text = readFileSync(path, "utf8");
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path}: the markers ${START} … ${END} are missing`);
  writeFileSync(path, `${text.slice(0, start + START.length)}\n\n${body}\n\n${text.slice(end)}`);
}

/** The section written between the markers: when, how long, on what, then the table. */
export function section(
  /** @type {Figures[]} */ figures,
  /** @type {{ durationMs: number, commit?: string }} */ run,
) {
  const soak = figures.length > 0 && figures.every((f) => f.soak);
  const when = new Date().toISOString().slice(0, 10);
  const on = `Node ${process.versions.node}, ${process.platform}${run.commit ? `, commit ${run.commit}` : ""}`;
  return [
    `Last ${soak ? "soak" : "CI-sized"} run: ${when}, ${seconds(run.durationMs)} in all (${on}).`,
    "",
    renderTable(figures),
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith("-"));
  if (!dir) {
    process.stderr.write("usage: node scripts/soak-report.js RESULTS_DIR [--write-docs] [--duration-ms N]\n");
    process.exit(2);
  }
  const figures = readFigures(dir);
  const at = args.indexOf("--duration-ms");
  const durationMs = at >= 0 ? Number(args[at + 1]) : figures.reduce((n, f) => n + f.durationMs, 0);
  const body = section(figures, { durationMs });
  process.stdout.write(`${body}\n`);
  if (args.includes("--write-docs")) writeDocs(body);
}
