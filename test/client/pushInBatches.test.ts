import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SyncClient, pushInBatches } from "../../src/client/index.js";
import { MAX_LINE_BYTES } from "../../src/protocol.js";
import { PeerError, startPeer, type Peer } from "./peer.js";

const entry = (id: string, size: number) => ({
  id,
  type: "preference",
  encrypted: "A".repeat(size),
  metadata: { deviceId: "d", updatedAt: 1 },
});

describe("pushInBatches", () => {
  let peer: Peer;
  let client: SyncClient;
  before(async () => {
    peer = await startPeer({
      "sync.push": (req) => {
        const ids = (req.params as { entries: { id: string }[] }).entries.map((e) => e.id);
        return { synced: ids.length, failed: [], errors: [] };
      },
    });
    client = await SyncClient.connect({ socketPath: peer.socketPath });
  });
  after(async () => {
    client.close();
    await peer.close();
  });

  it("splits entries into requests under the 1 MiB line limit and merges the results", async () => {
    const before = peer.requests.length;
    const entries = [
      entry("a", 400_000),
      entry("b", 400_000),
      entry("c", 400_000),
      entry("huge", MAX_LINE_BYTES),
    ];
    const result = await pushInBatches(client, entries, { ack: "relay" });
    const sent = peer.requests.slice(before);
    assert.deepEqual(
      sent.map((r) => (r.params as { entries: { id: string }[] }).entries.map((e) => e.id)),
      [["a", "b"], ["c"]],
    );
    for (const r of sent) {
      assert.ok(r.bytes <= MAX_LINE_BYTES, `${r.bytes} bytes`);
      assert.equal((r.params as { ack: string }).ack, "relay");
    }
    assert.equal(result.synced, 3);
    assert.deepEqual(result.failed, ["huge"]);
    assert.equal(result.errors[0]?.code, -32006);
  });

  it("waits out -32005 Rate Limited and retries the same batch", async () => {
    let refused = 0;
    const previous = peer.handlers.get("sync.push")!;
    peer.handlers.set("sync.push", (req) => {
      if (refused++ === 0)
        throw new PeerError(-32005, "Rate Limited", { reason: "rate_limited", retryAfterMs: 5 });
      return previous(req);
    });
    try {
      const result = await pushInBatches(client, [entry("r", 10)]);
      assert.equal(result.synced, 1);
      assert.equal(refused, 2);
    } finally {
      peer.handlers.set("sync.push", previous);
    }
  });

  it("reports progress from the start when the push takes several requests, and never for one", async () => {
    const reports: [number, number][] = [];
    const onProgress = (done: number, total: number) => reports.push([done, total]);
    const big = [entry("p", 400_000), entry("q", 400_000), entry("r", 400_000), entry("s", MAX_LINE_BYTES)];
    await pushInBatches(client, big, { onProgress });
    // The oversized entry is refused without a request, so it counts as done from the start.
    assert.deepEqual(reports, [
      [1, 4],
      [3, 4],
      [4, 4],
    ]);
    reports.length = 0;
    await pushInBatches(client, [entry("t", 10), entry("u", 10)], { onProgress });
    assert.deepEqual(reports, [], "one request: nothing to report");
  });
});
