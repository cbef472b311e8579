// Pushes acknowledged durably (ack local: committed with synchronous=FULL), 1,000 entries of ~400 B
// per sync.push, network sync paused: the push phase of the daemons' history. Against the same
// rows inserted with better-sqlite3 alone.
import { join } from "node:path";
import { rawInsertMs } from "../baselines/sqliteInsert.js";
import { fmtCount, type Row } from "../row.js";
import { commandEntries } from "../support.js";

const TARGET = 60_000;

export const push: Row = {
  id: "push",
  what: "push acknowledged durably, 1,000 × ~400 B per batch",
  target: `≥ ${TARGET / 1000}k entries/s`,
  baseline: "raw better-sqlite3 insert of the same rows (WAL, synchronous=FULL)",
  uses: ["daemonHistory"],
  async measure(ctx) {
    const history = await ctx.daemonHistory();
    const ours = history.count / (history.pushMs / 1000);
    const entries = commandEntries(history.count, "bench-sqlite");
    const ms = rawInsertMs(entries, join(await ctx.newDir("sqlite"), "cache.db"));
    const baseline = history.count / (ms / 1000);
    return { ours, baseline, ratio: ours / baseline };
  },
  judge: (m) => ({
    ours: fmtCount(m.ours, "entries/s"),
    baseline: fmtCount(m.baseline, "rows/s"),
    ratio: m.ratio!,
    pass: m.ours! >= TARGET,
  }),
};
