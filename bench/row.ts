// One row of the benchmark table (docs/performance.md): what it measures, its target, how one run
// measures it against its baseline, and how the medians over the runs are judged.
import type { BenchOptions, Fixture, RunContext } from "./context.js";

/** One run's figures of a row, by name (ms, entries/s, MiB...). */
export type Sample = Record<string, number>;

/** What the table prints for a row, from the medians of its samples. */
export interface Verdict {
  ours: string;
  baseline: string;
  /** ours / baseline, as the row defines it (see its `ratio` text); null when there is none. */
  ratio: number | null;
  /** null when this run could not judge it (a figure the options left out). */
  pass: boolean | null;
}

export interface Row {
  /** Short name for `--only`. */
  readonly id: string;
  /** What is measured, as the issue words it. */
  readonly what: string;
  readonly target: string;
  /** What the baseline is. */
  readonly baseline: string;
  /** The fixtures of the run it reads, so the runner can stop each after its last reader. */
  readonly uses: readonly Fixture[];
  measure(ctx: RunContext): Promise<Sample>;
  /** `medians`: each figure's median over the runs. */
  judge(medians: Sample, opts: BenchOptions): Verdict;
}

// --- Formatting ----------------------------------------------------------------------------------

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(3)} ms`;
}

export function fmtCount(n: number | undefined, unit: string): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  return `${Math.round(n).toLocaleString("en-US")} ${unit}`;
}

export function fmtMiB(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? "–" : `${Math.round(n)}`;
}

/** "10k", "100k", "250k" for counts of entries. */
export function fmtEntries(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}
