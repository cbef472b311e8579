import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { blob, command, harness, pullAll, type Harness } from "./support.js";

const HOUR = 3_600_000;

describe("offline queue", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("moves changes older than offlineQueueTtlMs to failed, keeps them, and retries them on the next connection", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote, config: { offlineQueueTtlMs: 24 * HOUR } });
    const entries = [command(), command()];
    await h.manager.pushEntries({ entries });
    h.clock.advance(23 * HOUR);
    await h.manager.pushEntries({ entries: [command()] });
    h.clock.advance(HOUR + 60_000); // the periodic check runs at least once a minute
    const stats = h.cache.queue.stats();
    assert.deepEqual(
      { pending: stats.pending, failed: stats.failed },
      { pending: 1, failed: 3 },
      "two commands and the device record expired",
    );
    const health = h.manager.healthReport();
    assert.equal(health.queue.failed, 3);
    assert.equal(health.queue.pending, 1);
    assert.equal(health.queue.oldestAgeMs, 24 * HOUR + 60_000);
    assert.equal(h.manager.getStatus().pendingUp, 4, "failed changes are still pending upstream");
    assert.equal(pullAll(h.manager).entries.length, 4, "and still in the cache");
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0, { what: "queue replayed" });
    for (const e of entries) assert.ok(remote.relay.records.has(`command\u0000${e.id}`));
    assert.deepEqual(h.manager.healthReport().queue, { pending: 0, failed: 0, oldestAgeMs: null });
  });

  it("health alone also expires old changes (no timer needed)", async () => {
    h = await harness({ config: { offlineQueueTtlMs: 10_000 } });
    h.clock.jump(20_000); // time passes without timers firing
    assert.equal(h.manager.healthReport().queue.failed, 1);
  });
});

describe("cacheMaxSize", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  const big = () => command({ encrypted: blob(8_000) }); // ~10.7 KB of base64 each

  it("never evicts a queued entry, even over the limit", async () => {
    h = await harness({ config: { cacheMaxSize: 50_000 } });
    const entries = Array.from({ length: 20 }, big);
    await h.manager.pushEntries({ entries });
    assert.equal(h.manager.healthReport().cache.entries, 21);
    assert.equal(pullAll(h.manager).entries.filter((e) => e.encrypted.length > 10_000).length, 20);
  });

  it("evicts the oldest confirmed commands once over the limit, and never a queued one", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote, config: { cacheMaxSize: 100_000 } });
    const old = Array.from({ length: 20 }, big);
    await h.manager.pushEntries({ entries: old });
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0, { what: "confirmed" });
    // Confirmed and over the limit: the oldest went, down to 90 % of the limit.
    const afterConfirm = pullAll(h.manager)
      .entries.filter((e) => e.type === "command")
      .map((e) => e.id);
    assert.deepEqual(
      afterConfirm,
      old.slice(old.length - afterConfirm.length).map((e) => e.id),
      "the newest stay",
    );
    assert.ok(afterConfirm.length >= 7 && afterConfirm.length <= 9, `kept ${afterConfirm.length}`);
    // New entries that cannot be uploaded stay, whatever the size.
    remote.session.holdUploads = true;
    const queued = Array.from({ length: 15 }, big);
    await h.manager.pushEntries({ entries: queued });
    const ids = new Set(pullAll(h.manager).entries.map((e) => e.id));
    for (const q of queued) assert.ok(ids.has(q.id), "queued entries are never evicted");
    assert.equal([...ids].filter((id) => old.some((o) => o.id === id)).length, 0, "confirmed ones made room");
    assert.ok(h.manager.healthReport().cache.entries >= 16);
  });

  it("does not bring an evicted entry back on replay, but does when it changed", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote, config: { cacheMaxSize: 30_000 } });
    const [first, ...rest] = Array.from({ length: 6 }, big);
    await h.manager.pushEntries({ entries: [first!, ...rest] });
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0, { what: "confirmed" });
    const { cursor, entries } = pullAll(h.manager);
    assert.ok(!entries.some((e) => e.id === first!.id), "the oldest was evicted");
    const uploaded = remote.relay.records.get(`command\u0000${first!.id}`)!;
    remote.session.deliver([uploaded]);
    assert.equal(
      h.manager.pullEntries({ since: cursor }).entries.length,
      0,
      "a replay of the same record is known",
    );
    assert.equal(uploaded.type, "command");
    if (uploaded.type !== "command") return;
    remote.session.deliver([{ ...uploaded, deletedAt: 123 }]);
    const [back] = h.manager.pullEntries({ since: cursor }).entries;
    assert.equal(back?.id, first!.id);
    assert.equal(back?.encrypted, first!.encrypted, "the full entry, payload included");
    assert.equal(back?.metadata.deletedAt, 123);
  });
});
