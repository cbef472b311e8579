// sync.verify benchmark (`npm run bench:verify`): what the completeness check costs, the one the
// daemon runs in the background after every reconnect. A relay process (`--db`) and one daemon
// holding N commands, all confirmed by the relay; then `sync.verify` over the socket, several
// times, without and with repair (nothing to repair: what the daemon's own background run after a
// reconnect costs).
// Options: --count N (default 10000), --runs R (default 5). Prints a table and one JSON line.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pushInBatches } from "../src/client/pushInBatches.js";
import { spawnDaemon } from "../test/helpers/daemon.js";
import { startRelayProcess } from "../test/helpers/relay.js";
import { tempDir } from "../test/helpers/tmp.js";
import { waitFor } from "../test/helpers/wait.js";

const { values: args } = parseArgs({
  options: { count: { type: "string", default: "10000" }, runs: { type: "string", default: "5" } },
});
const count = Number(args.count);
const runs = Number(args.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = await tempDir("csbv-");
  const relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
  const home = join(dir.path, "a");
  await mkdir(join(home, ".config", "cmdai"), { recursive: true });
  const config = { pushRatePerSecond: 1_000_000, pushBurst: 1_000_000, syncIntervalMs: 1000 };
  await writeFile(join(home, ".config", "cmdai", "sync-daemon.json"), JSON.stringify(config));
  const daemon = await spawnDaemon({
    home,
    env: { CARO_SYNC_RELAY: relay.url, CARO_SYNC_LOG_LEVEL: "warn" },
  });
  const client = await daemon.client();
  try {
    const init = await client.init({
      authKey: randomBytes(32).toString("base64"),
      deviceName: "b",
      platform: "linux",
    });
    const online = () =>
      waitFor(async () => (await client.status()).state === "ONLINE", { timeoutMs: 60_000, what: "ONLINE" });
    await online();
    const now = Date.now();
    const entries = Array.from({ length: count }, (_, i) => ({
      id: randomUUID(),
      type: "command" as const,
      encrypted: Buffer.concat([Buffer.from([1]), randomBytes(299)]).toString("base64"),
      metadata: { deviceId: init.deviceId, createdAt: now - (count - i), safetyLevel: "safe" },
    }));
    await pushInBatches(client, entries);
    await waitFor(async () => (await client.health()).queue.pending === 0, {
      timeoutMs: 600_000,
      intervalMs: 200,
      what: "the relay to confirm everything",
    });

    const time = async (repair: boolean) => {
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const r = await client.verify({ repair }, { timeoutMs: 120_000 });
        ms.push(performance.now() - t);
        if (!r.complete || r.total.relay?.commands !== count)
          throw new Error(`not complete: ${JSON.stringify({ ...r, devices: undefined })}`);
      }
      return Math.round(median(ms));
    };
    const verifyMs = await time(false);
    const repairMs = await time(true);

    const rows: [string, string][] = [
      ["commands", String(count)],
      [`sync.verify, median of ${runs}`, `${verifyMs} ms`],
      [`sync.verify {repair: true} (nothing to repair), median of ${runs}`, `${repairMs} ms`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(64)} ${v}`);
    console.log(JSON.stringify({ count, verifyMs, repairMs }));
  } finally {
    client.close();
    await daemon.stop();
    await relay.stop();
    await dir.cleanup();
  }
}

await main();
