// The one size knob of the reliability suite (docs/reliability.md): CI sizes by default, soak sizes
// when CARO_SYNC_SOAK=1 (set by `npm run soak`). Each scenario's figures go, as one JSON file, to
// $CARO_SYNC_SOAK_RESULTS when it is set (the soak runner sets it and prints the table from them).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SOAK = process.env.CARO_SYNC_SOAK === "1";

/** `ci` in CI-sized runs, `soak` under `npm run soak`. */
export function size<T>(sizes: { ci: T; soak: T }): T {
  return SOAK ? sizes.soak : sizes.ci;
}

/** What one scenario did and found; lost and duplicated count acknowledged entries. */
export interface Figures {
  scenario: string;
  status: "passed" | "failed" | "skipped";
  soak: boolean;
  /** Processes SIGKILLed (daemons or relays). */
  kills: number;
  /** Relay outages: SIGKILL, SIGSTOP, an empty restart, a cut network path. */
  outages: number;
  /** Faults injected into messages or connections (proxy faults, hostile or slow clients). */
  messagesFuzzed: number;
  /** Acknowledged entries looked up, summed over every device that was checked. */
  entriesChecked: number;
  lost: number;
  duplicated: number;
  /** Log files and process outputs searched for secrets, their size, and the secrets searched for. */
  logsScanned: number;
  logBytes: number;
  secretsChecked: number;
  durationMs: number;
  /** Why it was skipped or failed, or what the daemon did (one line). */
  note?: string;
}

export type Counts = Omit<Figures, "scenario" | "status" | "soak" | "durationMs" | "note">;

export function emptyCounts(): Counts {
  return {
    kills: 0,
    outages: 0,
    messagesFuzzed: 0,
    entriesChecked: 0,
    lost: 0,
    duplicated: 0,
    logsScanned: 0,
    logBytes: 0,
    secretsChecked: 0,
  };
}

const slug = (text: string) => text.replace(/[^a-z0-9]+/gi, "-").toLowerCase();

/** Writes `<results>/<slug>.json` when CARO_SYNC_SOAK_RESULTS names a directory; else does nothing. */
export function writeFigures(figures: Figures): string | null {
  const dir = process.env.CARO_SYNC_SOAK_RESULTS;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${slug(figures.scenario)}.json`);
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  return file;
}

/**
 * Keeps a failed scenario's logs (already scanned: no secret in them) as
 * `<results>/<slug>.logs/<n>.log` when CARO_SYNC_SOAK_RESULTS names a directory, for the post-mortem.
 */
export function keepLogs(scenario: string, logs: readonly { name: string; text: string }[]): void {
  const dir = process.env.CARO_SYNC_SOAK_RESULTS;
  if (!dir) return;
  const into = join(dir, `${slug(scenario)}.logs`);
  mkdirSync(into, { recursive: true });
  logs.forEach((log, i) => writeFileSync(join(into, `${i}.log`), `# ${log.name}\n${log.text}`));
}
