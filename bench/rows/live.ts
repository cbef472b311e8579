// Live latency: one entry pushed on daemon A until daemon B returns it from sync.pull (B's client
// pulls on each sync.entries notification), with the history in place. Against raw jazz-tools: the
// writer pushes one item until the subscribed reader reports it.
import type { Device } from "../scenarios/daemonHistory.js";
import { fmtMs, type Row } from "../row.js";
import { commandEntry, percentile, since } from "../support.js";
import { once } from "../../test/helpers/wait.js";

const P50_TARGET = 10;
const P99_TARGET = 30;

export const live: Row = {
  id: "live",
  what: "live: push on A → visible to sync.pull on B",
  target: `p50 ≤ ${P50_TARGET} ms, p99 ≤ ${P99_TARGET} ms`,
  baseline: "raw jazz-tools writer → subscribed reader",
  uses: ["daemonHistory", "jazzHistory"],
  async measure(ctx) {
    const probes = ctx.opts.quick ? 30 : 200;
    const jazz = await ctx.jazzHistory();
    const daemons = await ctx.daemonHistory();
    await daemons.b.client.subscribe({ events: ["sync.entries"] });
    // In turns of 10 probes a side, so the machine's changing load falls on both alike.
    const ours: number[] = [];
    const base: number[] = [];
    const acks: number[] = [];
    // One probe a side first: it warms the path up, and is not counted.
    await daemonProbe(daemons.a, daemons.b);
    await jazz.probe();
    for (let i = 0; i < probes; i += 10) {
      for (let j = 0; j < 10; j++) {
        const { ms, ackMs } = await daemonProbe(daemons.a, daemons.b);
        ours.push(ms);
        acks.push(ackMs);
      }
      for (let j = 0; j < 10; j++) base.push(await jazz.probe());
    }
    const p50 = percentile(ours, 50);
    const baseP50 = percentile(base, 50);
    return {
      p50,
      p99: percentile(ours, 99),
      baseP50,
      baseP99: percentile(base, 99),
      ackP50: percentile(acks, 50),
      ratio: p50 / baseP50,
    };
  },
  judge: (m) => ({
    ours: `p50 ${fmtMs(m.p50)}, p99 ${fmtMs(m.p99)} (A's ack p50 ${fmtMs(m.ackP50)})`,
    baseline: `p50 ${fmtMs(m.baseP50)}, p99 ${fmtMs(m.baseP99)}`,
    ratio: m.ratio!,
    pass: m.p50! <= P50_TARGET && m.p99! <= P99_TARGET,
  }),
};

/** ms until B returns the probe; `ackMs`: until A acknowledged it (ack local: committed). */
async function daemonProbe(a: Device, b: Device): Promise<{ ms: number; ackMs: number }> {
  const entry = commandEntry(a.deviceId, Date.now());
  const t = performance.now();
  // Listen before pushing: the notification may come before the push's answer.
  let notified = 0;
  const off = b.client.on("sync.entries", () => notified++);
  try {
    await a.client.push({ entries: [entry] });
    const ackMs = since(t);
    for (;;) {
      const before = notified;
      const page = await b.client.pull({ since: b.cursor, limit: 1000, types: ["command"] });
      b.cursor = page.nextCursor;
      if (page.entries.some((e) => e.id === entry.id)) return { ms: since(t), ackMs };
      if (notified === before)
        await once((l) => b.client.on("sync.entries", l), {
          timeoutMs: 10_000,
          what: "B to receive the probe",
        });
    }
  } finally {
    off();
  }
}
