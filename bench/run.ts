// `npm run bench`: every row of docs/performance.md, each against a baseline measured in the same
// run; medians over the runs. Prints a table, then one JSON line. Exits 0 whatever the verdicts
// (it reports), 1 when a benchmark could not run.
//   --quick          10,000 entries, 1 run, fewer probes: a smoke run (under 2 minutes)
//   --only a,b       only these rows (ids: see the table), in the table's order
//   --count N        entries in the history rows (default 100000; --quick 10000)
//   --runs N         runs (default 3; --quick 1)
//   --heap-snapshot DIR   the memory row writes both daemons' heap snapshots at N into DIR
//   --cpu-profile DIR     every daemon writes a CPU profile of its whole life into DIR when it exits
// BENCH_DAEMON_NODE_OPTIONS is passed to every daemon in NODE_OPTIONS.
import { mkdir } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { tempDir } from "../test/helpers/tmp.js";
import { RunContext, type BenchOptions, type Fixture } from "./context.js";
import type { Row, Sample, Verdict } from "./row.js";
import { cliPing } from "./rows/cli.js";
import { fresh, upload } from "./rows/history.js";
import { keys } from "./rows/keys.js";
import { pingThroughput, roundTrip } from "./rows/ipc.js";
import { live } from "./rows/live.js";
import { memory } from "./rows/memory.js";
import { push } from "./rows/push.js";
import { start } from "./rows/start.js";
import { verify } from "./rows/verify.js";
import { median, since } from "./support.js";

/** The order; also the order rows run in (start restarts the history's fresh device). */
const ROWS: readonly Row[] = [
  fresh,
  upload,
  push,
  memory,
  pingThroughput,
  roundTrip,
  live,
  start,
  cliPing,
  verify,
  keys,
];
/** Rows that use the history run before the IPC rows, so no idle daemon of theirs adds noise. */
const RUN_ORDER: readonly Row[] = [
  push,
  upload,
  fresh,
  live,
  memory,
  verify,
  start,
  pingThroughput,
  roundTrip,
  cliPing,
  keys,
];

function parseOptions(): { opts: BenchOptions; rows: Row[] } {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      count: { type: "string" },
      runs: { type: "string" },
      "heap-snapshot": { type: "string" },
      "cpu-profile": { type: "string" },
    },
  });
  const quick = values.quick;
  const count = Number(values.count ?? (quick ? 10_000 : 100_000));
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  if (!Number.isInteger(count) || count < 2000) throw new Error("--count must be an integer ≥ 2000");
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((id) => !ROWS.some((r) => r.id === id)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown row(s) ${unknown.join(", ")}; rows: ${ROWS.map((r) => r.id).join(", ")}`);
  const heap = values["heap-snapshot"];
  // Read by support.ts daemonNodeOptions for every daemon spawned.
  if (values["cpu-profile"] !== undefined) process.env.BENCH_CPU_PROFILE_DIR = resolve(values["cpu-profile"]);
  return {
    opts: { quick, count, runs, heapSnapshotDir: heap === undefined ? null : resolve(heap) },
    rows: RUN_ORDER.filter((r) => !only || only.includes(r.id)),
  };
}

// A stray rejection (a helper's loop failing after its run was given up) must not end the process
// before the runs' `finally` blocks stop their daemons and relays: it is reported and fails the run.
let strayRejections = 0;
process.on("unhandledRejection", (err) => {
  strayRejections++;
  console.error("unhandled rejection:", err);
});

const uses = (rows: readonly Row[]) => new Set<Fixture>(rows.flatMap((r) => r.uses));

async function main(): Promise<number> {
  const { opts, rows } = parseOptions();
  for (const dir of [opts.heapSnapshotDir, process.env.BENCH_CPU_PROFILE_DIR])
    if (dir) await mkdir(dir, { recursive: true });
  const started = performance.now();
  const load = loadavg().map((l) => l.toFixed(2));
  const samples = new Map<Row, Sample[]>(rows.map((r) => [r, []]));
  const errors = new Map<Row, string>();
  const root = await tempDir("csb-");
  try {
    for (let run = 1; run <= opts.runs; run++) {
      const dir = join(root.path, `run${run}`);
      await mkdir(dir);
      const ctx = new RunContext(opts, dir, uses(rows));
      try {
        for (const [i, row] of rows.entries()) {
          const t = performance.now();
          try {
            samples.get(row)!.push(await row.measure(ctx));
            console.error(`[run ${run}/${opts.runs}] ${row.id}: ${Math.round(since(t))} ms`);
          } catch (err) {
            console.error(`[run ${run}/${opts.runs}] ${row.id} failed:`, err);
            errors.set(row, err instanceof Error ? err.message : String(err));
          }
          await ctx.release(uses(rows.slice(i + 1)));
        }
      } finally {
        await ctx.close();
      }
    }
  } finally {
    await root.cleanup();
  }

  const results = ROWS.filter((r) => samples.has(r)).map((row) => {
    const runs = samples.get(row)!;
    const medians = medianSample(runs);
    const verdict: Verdict | null = runs.length > 0 ? row.judge(medians, opts) : null;
    return { row, runs, medians, verdict, error: errors.get(row) };
  });
  const totalS = since(started) / 1000;
  const table = new Table({
    head: ["what", "ours", "baseline", "ratio", "target", "verdict"],
    colWidths: [34, 40, 34, 8, 26, 9],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const r of results) {
    const v = r.verdict;
    table.push([
      `${r.row.what} [${r.row.id}]`,
      v?.ours ?? "–",
      v ? `${v.baseline} (${r.row.baseline})` : r.row.baseline,
      v?.ratio == null ? "–" : `${v.ratio.toFixed(2)}x`,
      r.row.target,
      r.error ? "ERROR" : v?.pass == null ? "n/a" : v.pass ? "pass" : "FAIL",
    ]);
  }
  console.log(
    `caro-sync bench, ${new Date().toISOString()}: ${opts.count.toLocaleString("en-US")} entries, ` +
      `medians of ${opts.runs} run(s); ${cpus().length} cores, load average ${load.join(" ")} at start, ` +
      `${loadavg()[0]!.toFixed(2)} at end; Node ${process.version}; ${totalS.toFixed(0)} s`,
  );
  console.log(table.toString());
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      count: opts.count,
      runs: opts.runs,
      quick: opts.quick,
      loadAverage: { start: load.map(Number), end: loadavg() },
      seconds: Math.round(totalS),
      rows: results.map((r) => ({
        id: r.row.id,
        pass: r.verdict?.pass ?? null,
        ratio: r.verdict?.ratio ?? null,
        medians: r.medians,
        runs: r.runs,
        ...(r.error ? { error: r.error } : {}),
      })),
    }),
  );
  return errors.size > 0 || strayRejections > 0 ? 1 : 0;
}

/** Each figure's median over the runs. */
function medianSample(runs: readonly Sample[]): Sample {
  const keys = new Set(runs.flatMap((s) => Object.keys(s)));
  return Object.fromEntries([...keys].map((k) => [k, median(runs.map((s) => s[k] ?? NaN))]));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
