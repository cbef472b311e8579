// `sync.push {ack: "relay"}` with the relay out of reach waits up to 55 s for it; when the client
// that asked hangs up, the daemon stops waiting at once (nobody is left to answer) and the entry
// stays queued. Observed on the real daemon through daemon.metrics: the push is counted as done and
// its recorded duration is far below the 55 s wait.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { RELAY_ACK_WAIT_MS } from "../../src/sync/SyncManager.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { waitFor } from "../helpers/wait.js";

/** The `caro_sync_latency_ms` count and sum (ms) of push operations, from exposition text. */
function pushLatency(text: string): { count: number; sumMs: number } {
  const read = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{operation="push"}`));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };
  return { count: read("caro_sync_latency_ms_count"), sumMs: read("caro_sync_latency_ms_sum") };
}

describe('sync.push {ack: "relay"} from a client that hangs up', () => {
  let daemon: DaemonProcess | null = null;
  after(() => daemon?.cleanup());

  it("ends the daemon's wait at once; the entry stays queued", async (t) => {
    daemon = await spawnDaemon();
    const client = await daemon.client();
    try {
      const { deviceId } = await client.init({
        authKey: randomBytes(32).toString("base64"),
        deviceName: "hangup",
        platform: "linux",
      });
      const before = pushLatency((await client.metrics()).text);
      const queuedBefore = (await client.health()).queue.pending;

      const entry = {
        id: randomUUID(),
        type: "command",
        encrypted: Buffer.concat([Buffer.from([1]), randomBytes(40)]).toString("base64"),
        metadata: { deviceId, createdAt: Date.now(), safetyLevel: "safe" },
      };
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(daemon!.socketPath, () => resolve(s));
        s.once("error", reject);
      });
      socket.write(
        `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "sync.push", params: { entries: [entry], ack: "relay" } })}\n`,
      );
      // Stored (and so queued) before the wait for the relay begins.
      await waitFor(async () => (await client.health()).queue.pending === queuedBefore + 1, {
        what: "the entry to be stored",
      });
      const hungUpAt = Date.now();
      socket.destroy();

      const after = await waitFor(
        async () => {
          const latency = pushLatency((await client.metrics()).text);
          return latency.count > before.count ? latency : null;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: "the push to finish after the hang-up" },
      );
      const waitedMs = after.sumMs - before.sumMs;
      t.diagnostic(`the push ended ${Math.round(waitedMs)} ms after it started (hung up after the store)`);
      assert.ok(Date.now() - hungUpAt < 10_000);
      assert.ok(waitedMs < 10_000, `the push took ${waitedMs} ms, not the ${RELAY_ACK_WAIT_MS} ms wait`);
      assert.equal((await client.health()).queue.pending, queuedBefore + 1, "the entry stays queued");
    } finally {
      client.close();
    }
  });
});
