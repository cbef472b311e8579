// Daemon start until it answers daemon.ping: on an empty HOME, and on the fresh device's HOME of the
// history (its cache and Jazz storage hold the whole history; the device restarts). Against
// `node -e 0` (a Node process that does nothing).
import { SyncClient } from "../../src/client/SyncClient.js";
import { spawnDaemon, type DaemonProcess } from "../../test/helpers/daemon.js";
import { waitFor } from "../../test/helpers/wait.js";
import { TARGET_COUNT } from "./history.js";
import { fmtEntries, fmtMs, type Row } from "../row.js";
import { daemonNodeOptions, median, since, timeProcess } from "../support.js";

const EMPTY_TARGET = 300;
const FULL_TARGET = 1000;

export const start: Row = {
  id: "start",
  what: "daemon start → answers ping",
  target: `≤ ${EMPTY_TARGET} ms empty, ≤ ${FULL_TARGET / 1000} s with ${fmtEntries(TARGET_COUNT)}`,
  baseline: "node -e 0",
  uses: ["daemonHistory"],
  async measure(ctx) {
    const repeats = ctx.opts.quick ? 1 : 3;
    const empty: number[] = [];
    const stops: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const home = await ctx.newDir("start");
      const r = await timedStart(home, { CARO_SYNC_LOG_LEVEL: "warn", ...daemonNodeOptions() });
      empty.push(r.startMs);
      stops.push(r.stopMs);
    }
    // The history's fresh device is not used after this row: restart it on its own HOME.
    const { b } = await ctx.daemonHistory();
    b.client.close();
    await b.daemon.stop();
    const full = await timedStart(b.daemon.home, b.daemon.env);
    const node: number[] = [];
    for (let i = 0; i < repeats; i++) node.push(await timeProcess(process.execPath, ["-e", "0"]));
    const emptyMs = median(empty);
    const nodeMs = median(node);
    return {
      emptyMs,
      stopEmptyMs: median(stops),
      fullMs: full.startMs,
      stopFullMs: full.stopMs,
      nodeMs,
      ratio: emptyMs / nodeMs,
    };
  },
  judge: (m, opts) => ({
    ours: `empty ${fmtMs(m.emptyMs)}, ${fmtEntries(opts.count)} ${fmtMs(m.fullMs)} (stop ${fmtMs(m.stopEmptyMs)} / ${fmtMs(m.stopFullMs)})`,
    baseline: fmtMs(m.nodeMs),
    ratio: m.ratio!,
    pass: m.emptyMs! <= EMPTY_TARGET && (opts.count !== TARGET_COUNT || m.fullMs! <= FULL_TARGET),
  }),
};

/** Spawn → first daemon.ping answered (polled every 2 ms), then SIGTERM → exit. */
async function timedStart(
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<{ startMs: number; stopMs: number }> {
  const t = performance.now();
  const daemon: DaemonProcess = await spawnDaemon({ home, env, waitReady: false });
  try {
    const client = await waitFor(
      async () => {
        if (daemon.child.exitCode !== null) throw new Error(`the daemon exited: ${daemon.stderr()}`);
        return SyncClient.probe(daemon.socketPath, 1000);
      },
      { timeoutMs: 30_000, intervalMs: 2, what: "the daemon to answer daemon.ping" },
    );
    const startMs = since(t);
    client.close();
    const s = performance.now();
    await daemon.stop();
    return { startMs, stopMs: since(s) };
  } finally {
    await daemon.stop();
  }
}
