// Idle memory: RSS of the first device (A) and the fresh device (B) once the history has synced, both
// are idle and their RSS has settled (support.ts waitSettled), at a small count and at the run's
// count; the growth per entry between the two. Against Atuin's daemon, ~40 MB at 60k entries, a
// fixed reference figure (not measured here): the ratio compares our RSS interpolated at 60k (the
// larger of A and B) with it. For scale, the raw jazz-tools writer and reader holding the same
// history are measured too (Jazz alone).
// The RSS of a daemon never initialised (no account) is recorded too, as the curve's floor.
// With --heap-snapshot DIR, both daemons write a heap snapshot at the run's count (bench/heapSummary.ts).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { runDaemonHistory, type DaemonHistory, type Device } from "../scenarios/daemonHistory.js";
import { fmtEntries, fmtMiB, type Row, type Sample } from "../row.js";
import { readRss, waitSettled } from "../support.js";
import { waitFor } from "../../test/helpers/wait.js";
import type { RunContext } from "../context.js";

/** Atuin's daemon at 60k entries, in MiB (40 MB). */
const ATUIN_MIB = 40e6 / 2 ** 20;
const ATUIN_ENTRIES = 60_000;
const MAX_MIB: Record<number, number> = { 10_000: 100, 100_000: 150 };
const MAX_GROWTH_KIB = 0.5;

/** The smaller point of the curve: 10k, or a fifth of the count for a smaller run (--quick). */
export function smallCount(count: number): number {
  return count > 10_000 ? 10_000 : Math.max(1000, Math.floor(count / 5));
}

export const memory: Row = {
  id: "memory",
  what: "idle RSS, first device and fresh device",
  target: "≤ 100 MiB at 10k, ≤ 150 MiB at 100k, growth ≤ 0.5 KiB/entry",
  baseline: "Atuin's daemon, ~40 MB at 60k (fixed figure)",
  uses: ["daemonHistory", "jazzHistory", "idleDaemon"],
  async measure(ctx) {
    const large = ctx.opts.count;
    const small = smallCount(large);
    const idle = await ctx.idleDaemon();
    const out: Sample = { empty: readRss(idle.child.pid!).rss };
    const smallHistory = await runDaemonHistory({ count: small, dir: await ctx.newDir("memory") });
    try {
      Object.assign(out, await idleRss(smallHistory, small));
    } finally {
      await smallHistory.close();
    }
    const jazz = await ctx.jazzHistory();
    const history = await ctx.daemonHistory();
    Object.assign(out, await idleRss(history, large, true));
    await waitSettled([jazz.writer.pid, jazz.reader.pid]);
    out.jazzWriter = readRss(jazz.writer.pid).rss;
    out.jazzReader = readRss(jazz.reader.pid).rss;
    if (ctx.opts.heapSnapshotDir) await heapSnapshots(ctx, [history.a, history.b]);
    const worst = (n: number) => Math.max(out[`a${n}`]!, out[`b${n}`]!);
    const growthKiB = ((worst(large) - worst(small)) * 1024) / (large - small);
    const at60k = worst(small) + (growthKiB / 1024) * (ATUIN_ENTRIES - small);
    return { ...out, small, large, growthKiB, at60k, ratio: at60k / ATUIN_MIB };
  },
  judge(m) {
    const points = [m.small!, m.large!];
    const ours = points.map((n) => `${fmtEntries(n)}: A ${fmtMiB(m[`a${n}`])} / B ${fmtMiB(m[`b${n}`])}`);
    const pass =
      points.every((n) => MAX_MIB[n] === undefined || Math.max(m[`a${n}`]!, m[`b${n}`]!) <= MAX_MIB[n]) &&
      m.growthKiB! <= MAX_GROWTH_KIB;
    return {
      ours: `${ours.join("; ")} MiB; ${m.growthKiB!.toFixed(2)} KiB/entry; ~${Math.round(m.at60k!)} MiB at 60k`,
      baseline:
        `~${Math.round(ATUIN_MIB)} MiB at 60k; raw jazz-tools at ${fmtEntries(m.large!)}: ` +
        `writer ${fmtMiB(m.jazzWriter)} / reader ${fmtMiB(m.jazzReader)}`,
      ratio: m.ratio!,
      pass,
    };
  },
};

/**
 * `a<n>`/`b<n>`: RSS of A and B in MiB; with `detail`, also where it is (MiB): `…Peak` (VmHWM),
 * `…Anon`/`…File` (RssAnon/RssFile), and from daemon.metrics `…Heap`/`…HeapUsed` (V8's heap, total
 * and used) and `…External` (memory V8 knows of outside its heap: Buffers, native objects).
 */
async function idleRss(history: DaemonHistory, n: number, detail = false): Promise<Sample> {
  const devices = { a: history.a, b: history.b };
  await waitSettled(Object.values(devices).map((d) => d.daemon.child.pid!));
  const out: Sample = {};
  for (const [name, device] of Object.entries(devices)) {
    const rss = readRss(device.daemon.child.pid!);
    out[`${name}${n}`] = rss.rss;
    if (!detail) continue;
    const metrics = (await device.client.metrics()).text;
    const gauge = (metric: string) =>
      Number(new RegExp(`^caro_sync_${metric} (\\S+)$`, "m").exec(metrics)?.[1] ?? NaN) / 2 ** 20;
    Object.assign(out, {
      [`${name}Peak`]: rss.peak,
      [`${name}Anon`]: rss.anon,
      [`${name}File`]: rss.file,
      [`${name}Heap`]: gauge("nodejs_heap_size_total_bytes"),
      [`${name}HeapUsed`]: gauge("nodejs_heap_size_used_bytes"),
      [`${name}External`]: gauge("nodejs_external_memory_bytes"),
    });
  }
  return out;
}

/** SIGUSR2 → the daemon writes Heap.*.<pid>.*.heapsnapshot; it answers ping again once written. */
async function heapSnapshots(ctx: RunContext, devices: Device[]): Promise<void> {
  const dir = ctx.opts.heapSnapshotDir!;
  for (const device of devices) {
    const pid = device.daemon.child.pid!;
    const mine = async () =>
      (await readdir(dir)).filter((f) => f.includes(`.${pid}.`) && f.endsWith(".heapsnapshot"));
    const before = (await mine()).length;
    process.kill(pid, "SIGUSR2");
    const files = await waitFor(async () => ((await mine()).length > before ? mine() : null), {
      timeoutMs: 120_000,
      intervalMs: 100,
      what: "the heap snapshot",
    });
    await device.client.ping({ timeoutMs: 300_000 });
    console.error(`heap snapshot of ${device.deviceId} (pid ${pid}): ${join(dir, files.at(-1)!)}`);
  }
}
