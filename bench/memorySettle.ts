// Idle memory over time: the memory row's two daemons (scenarios/daemonHistory.ts) once synced and
// idle, sampled every 10 s for two minutes (RSS, and V8's heap from daemon.metrics). The row
// itself reads RSS as soon as both are idle; this shows how much of that is garbage V8 gives back
// later by itself.   node dist/bench/memorySettle.js [count]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDaemonHistory, type Device } from "./scenarios/daemonHistory.js";
import { readRss, waitIdle } from "./support.js";

const count = Number(process.argv[2] ?? 10_000);
const dir = await mkdtemp(join(tmpdir(), "caro-settle-"));
const history = await runDaemonHistory({ count, dir });
try {
  const devices: [string, Device][] = [
    ["A", history.a],
    ["B", history.b],
  ];
  await waitIdle(devices.map(([, d]) => d.daemon.child.pid!));
  const started = Date.now();
  for (let i = 0; i <= 12; i++) {
    const parts = [];
    for (const [name, device] of devices) {
      const metrics = (await device.client.metrics()).text;
      const mib = (m: string) =>
        Math.round(Number(new RegExp(`^caro_sync_${m} (\\S+)$`, "m").exec(metrics)?.[1]) / 2 ** 20);
      const rss = Math.round(readRss(device.daemon.child.pid!).rss);
      const heap = `${mib("nodejs_heap_size_total_bytes")}/${mib("nodejs_heap_size_used_bytes")}`;
      parts.push(`${name} ${rss} MiB (V8 heap ${heap})`);
    }
    console.log(`${count} entries, +${Math.round((Date.now() - started) / 1000)} s: ${parts.join(", ")}`);
    if (i < 12) await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
} finally {
  await history.close();
  await rm(dir, { recursive: true, force: true });
}
