// Terminal presentation for humans: colour, tables and progress bars. Colour only on a terminal and
// never when NO_COLOR is set (no-color.org); progress goes to stderr, only on a terminal and never
// with --json, so stdout stays clean for pipes.
import { createRequire } from "node:module";
import type { SingleBar } from "cli-progress";
import type TableType from "cli-table3";
import pc from "picocolors";

// The table and progress packages are required on first use: most runs draw neither, and every
// command pays for what this module loads (the error path uses its colours).
const require = createRequire(import.meta.url);

export type Colors = ReturnType<typeof pc.createColors>;

/** Whether `stream` should get colour: a terminal, NO_COLOR unset (any value disables it). */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "") && env.TERM !== "dumb";
}

/** Colours for stdout. */
export const colors: Colors = pc.createColors(colorEnabled(process.stdout));
/** Colours for stderr (errors, hints, progress). */
export const errColors: Colors = pc.createColors(colorEnabled(process.stderr));

/** A borderless table: a bold header row, columns two spaces apart; lines without trailing space. */
export function table(headers: string[], rows: string[][]): string[] {
  const Table = require("cli-table3") as typeof TableType;
  const t = new Table({
    head: headers.map((h) => colors.bold(h)),
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "  ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
    wordWrap: false,
  });
  t.push(...rows);
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd());
}

export interface Progress {
  /** Sets the count done (and the total, once known). */
  update(done: number, total?: number): void;
  stop(): void;
}

const noProgress: Progress = { update: () => {}, stop: () => {} };

/**
 * A progress bar on stderr for long work ("downloading history", "pushing"). A no-op unless stderr
 * is a terminal and the output is for a human. `total` may be unknown (0): then only the count shows.
 */
export function progress(label: string, opts: { json: boolean; total?: number }): Progress {
  if (opts.json || process.stderr.isTTY !== true) return noProgress;
  const known = (opts.total ?? 0) > 0;
  const { SingleBar: Bar } = require("cli-progress") as { SingleBar: typeof SingleBar };
  const bar = new Bar({
    stream: process.stderr,
    format: known
      ? `${label} ${errColors.cyan("{bar}")} {percentage}% | {value}/{total}`
      : `${label} {value}`,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    hideCursor: true,
    clearOnComplete: true,
    noTTYOutput: false,
  });
  bar.start(opts.total ?? 0, 0);
  return {
    update(done, total) {
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}
