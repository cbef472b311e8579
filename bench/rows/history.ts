// The two history rows: a fresh device joining an account that holds the history, and the
// backlog's upload, each against raw jazz-tools doing the same (scenarios/*History.ts).
import { fmtEntries, fmtMs, type Row, type Sample } from "../row.js";

/** The targets are set for 100k entries; at another count only the ratio is judged. */
export const TARGET_COUNT = 100_000;

function historyRow(spec: {
  id: string;
  what: string;
  baseline: string;
  maxMs: number;
  maxRatio: number;
  pick: (h: { freshMs: number; uploadMs: number }) => number;
  /** The daemon's slowest daemon.ping answer during the phase (recorded, not judged). */
  maxPing: (h: { freshMaxPingMs: number; uploadMaxPingMs: number }) => number;
}): Row {
  return {
    id: spec.id,
    what: spec.what,
    target: `≤ ${spec.maxMs / 1000} s at ${fmtEntries(TARGET_COUNT)}, and ≤ ${spec.maxRatio}x baseline`,
    baseline: spec.baseline,
    uses: ["daemonHistory", "jazzHistory"],
    async measure(ctx): Promise<Sample> {
      const jazz = await ctx.jazzHistory();
      const daemons = await ctx.daemonHistory();
      const ours = spec.pick(daemons);
      const baseline = spec.pick(jazz);
      return { ours, baseline, ratio: ours / baseline, maxPingMs: spec.maxPing(daemons) };
    },
    judge(m, opts) {
      const ratioOk = m.ratio! <= spec.maxRatio;
      const absolute = opts.count === TARGET_COUNT ? m.ours! <= spec.maxMs : true;
      return {
        ours: `${fmtMs(m.ours)} (slowest ping meanwhile ${fmtMs(m.maxPingMs)})`,
        baseline: fmtMs(m.baseline),
        ratio: m.ratio!,
        pass: ratioOk && absolute,
      };
    },
  };
}

export const fresh = historyRow({
  id: "fresh",
  what: "fresh device joins an account holding the history; all pullable from its cache",
  baseline: "raw jazz-tools reader (startWorker) loading the same feed",
  maxMs: 3500,
  maxRatio: 1.3,
  pick: (h) => h.freshMs,
  maxPing: (h) => h.freshMaxPingMs,
});

export const upload = historyRow({
  id: "upload",
  what: "backlog uploaded (resume → relay confirmed)",
  baseline: "raw jazz-tools writer uploading the same items",
  maxMs: 3500,
  maxRatio: 1.2,
  pick: (h) => h.uploadMs,
  maxPing: (h) => h.uploadMaxPingMs,
});
