import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { LAST_CURSOR_KEY } from "../../src/cache/entryStore.js";
import { ErrorCode, MAX_ENTRY_BASE64, SyncError } from "../../src/protocol.js";
import { blob, command, harness, preference, pullAll, type Harness } from "./support.js";

describe("sync.push", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("fails bad entries one by one with their own codes while the others are stored", async () => {
    h = await harness();
    const good = command();
    const tooBig = command({ encrypted: "A".repeat(MAX_ENTRY_BASE64 + 4) });
    const notBase64 = command({ encrypted: "not base64!" });
    const wrongVersion = command({
      encrypted: Buffer.concat([Buffer.from([2]), Buffer.alloc(40)]).toString("base64"),
    });
    const tooShort = command({
      encrypted: Buffer.concat([Buffer.from([1]), Buffer.alloc(27)]).toString("base64"),
    });
    const notUuid = command({ id: "not-a-uuid" });
    const badLevel = command({ metadata: { safetyLevel: "extreme" } });
    const result = await h.manager.pushEntries({
      entries: [
        good,
        tooBig,
        notBase64,
        wrongVersion,
        tooShort,
        notUuid,
        badLevel,
        { type: "command" },
        preference("theme", { updatedAt: 1, deviceId: "d" }),
      ],
    });
    assert.equal(result.synced, 2);
    const codes = Object.fromEntries(result.errors.map((e) => [e.id, e.code]));
    assert.deepEqual(codes, {
      [tooBig.id]: ErrorCode.PayloadTooLarge,
      [notBase64.id]: ErrorCode.EncryptionError,
      [wrongVersion.id]: ErrorCode.EncryptionError,
      [tooShort.id]: ErrorCode.EncryptionError,
      "not-a-uuid": ErrorCode.InvalidParams,
      [badLevel.id]: ErrorCode.InvalidParams,
      "#7": ErrorCode.InvalidParams,
    });
    assert.deepEqual(new Set(result.failed), new Set(Object.keys(codes)));
    const ids = pullAll(h.manager).entries.map((e) => e.id);
    assert.ok(ids.includes(good.id) && ids.includes("theme"));
    assert.ok(!ids.includes(tooBig.id));
  });

  it("accepts a blob of exactly 29 bytes", async () => {
    h = await harness();
    const result = await h.manager.pushEntries({ entries: [command({ encrypted: blob(28) })] });
    assert.deepEqual(result, { synced: 1, failed: [], errors: [] });
  });

  it("is idempotent by id: a re-push neither duplicates nor takes a new cursor", async () => {
    h = await harness();
    const c = command();
    await h.manager.pushEntries({ entries: [c] });
    const first = pullAll(h.manager);
    h.clock.advance(1000);
    const again = await h.manager.pushEntries({ entries: [c, { ...c, id: c.id.toUpperCase() }] });
    assert.equal(again.synced, 2);
    assert.deepEqual(pullAll(h.manager), first);
    assert.equal(h.manager.pullEntries({ since: first.cursor }).entries.length, 0);
  });

  it("merges commands monotonically and keeps encrypted and createdAt", async () => {
    h = await harness();
    const c = command();
    await h.manager.pushEntries({ entries: [c] });
    const { cursor } = pullAll(h.manager);
    h.clock.advance(10);
    await h.manager.pushEntries({
      entries: [{ ...c, metadata: { ...c.metadata, executed: true, success: true, executedAt: 50 } }],
    });
    // A stale replay of the original does not undo anything.
    await h.manager.pushEntries({ entries: [c] });
    await h.manager.pushEntries({ entries: [{ ...c, metadata: { ...c.metadata, deletedAt: 900 } }] });
    await h.manager.pushEntries({
      entries: [{ ...c, metadata: { ...c.metadata, deletedAt: 700, executed: false } }],
    });
    await h.manager.pushEntries({ entries: [{ ...c, metadata: { ...c.metadata, deletedAt: 800 } }] });
    const changedEncrypted = await h.manager.pushEntries({ entries: [{ ...c, encrypted: blob() }] });
    const changedCreatedAt = await h.manager.pushEntries({
      entries: [{ ...c, metadata: { ...c.metadata, createdAt: 5 } }],
    });
    assert.deepEqual(
      changedEncrypted.errors.map((e) => e.code),
      [ErrorCode.InvalidParams],
    );
    assert.deepEqual(
      changedCreatedAt.errors.map((e) => e.code),
      [ErrorCode.InvalidParams],
    );
    const [latest, ...rest] = h.manager.pullEntries({ since: cursor }).entries;
    assert.equal(rest.length, 0, "one entry, delivered once under its newest cursor");
    assert.equal(latest?.encrypted, c.encrypted);
    assert.deepEqual(latest?.metadata, {
      deviceId: "dev-a",
      createdAt: 1_600_000_000_000,
      updatedAt: 1_600_000_000_000,
      safetyLevel: "safe",
      executed: true,
      success: true,
      executedAt: 50,
      deletedAt: 700,
    });
  });

  it("resolves preferences by updatedAt then deviceId, never by arrival order", async () => {
    h = await harness();
    const newer = preference("theme", { updatedAt: 2000, deviceId: "dev-a" });
    const stale = preference("theme", { updatedAt: 1000, deviceId: "dev-z" });
    const tieLoser = preference("theme", { updatedAt: 2000, deviceId: "dev-0" });
    const tieWinner = preference("theme", { updatedAt: 2000, deviceId: "dev-b" });
    await h.manager.pushEntries({ entries: [newer] });
    const { cursor } = pullAll(h.manager);
    // A stale value replayed from an offline queue is accepted (synced) but changes nothing.
    assert.deepEqual(await h.manager.pushEntries({ entries: [stale, tieLoser] }), {
      synced: 2,
      failed: [],
      errors: [],
    });
    assert.equal(h.manager.pullEntries({ since: cursor }).entries.length, 0);
    await h.manager.pushEntries({ entries: [tieWinner] });
    const [current] = h.manager.pullEntries({ since: cursor }).entries;
    assert.equal(current?.encrypted, tieWinner.encrypted);
    assert.deepEqual(current?.metadata, { deviceId: "dev-b", createdAt: 2000, updatedAt: 2000 });
  });

  it("commits every change and its queue row before answering", async () => {
    h = await harness();
    const entries = Array.from({ length: 50 }, () => command());
    await h.manager.pushEntries({ entries });
    const ids = new Set(h.cache.queue.next(1000, 0).map((q) => q.id));
    for (const e of entries) assert.ok(ids.has(e.id), "queued");
    assert.equal(h.manager.getStatus().pendingUp, 51, "50 commands and the device record");
  });

  it("stores a batch under increasing cursors, with the cursor high-water mark at the last one", async () => {
    h = await harness();
    const before = Number(h.cache.meta.get(LAST_CURSOR_KEY));
    const entries = Array.from({ length: 1000 }, () => command());
    assert.equal((await h.manager.pushEntries({ entries })).synced, 1000);
    const cursors = entries.map((e) => h.cache.entries.get({ type: "command", id: e.id })!.cursor);
    for (let i = 1; i < cursors.length; i++) assert.ok(cursors[i]! > cursors[i - 1]!, "in push order");
    assert.ok(cursors[0]! > before);
    assert.equal(Number(h.cache.meta.get(LAST_CURSOR_KEY)), cursors[cursors.length - 1]);
    const queued = new Map(h.cache.queue.next(2000, 0).map((q) => [q.id, q.cursor]));
    for (const [i, e] of entries.entries())
      assert.equal(queued.get(e.id), cursors[i], "queued at its cursor");
    // After a reset the next cursors still start above them.
    h.cache.wipe();
    await h.manager.pushEntries({ entries: [command()] });
    assert.ok(pullAll(h.manager).cursor! > cursors[cursors.length - 1]!);
  });

  it("fails an entry in the middle of a batch alone: the ones around it are stored and queued", async () => {
    h = await harness();
    const stored = command();
    await h.manager.pushEntries({ entries: [stored] });
    const entries = Array.from({ length: 600 }, () => command());
    entries[300] = command({ encrypted: "not base64!" });
    // A change the merge refuses (inside the transaction): another encrypted for a known command.
    entries[450] = { ...stored, encrypted: blob() };
    const result = await h.manager.pushEntries({ entries });
    assert.equal(result.synced, 598);
    assert.deepEqual(
      result.errors.map((e) => [e.id, e.code]),
      [
        [entries[300].id, ErrorCode.EncryptionError],
        [stored.id, ErrorCode.InvalidParams],
      ],
    );
    const queued = new Set(h.cache.queue.next(2000, 0).map((q) => q.id));
    for (const [i, e] of entries.entries()) {
      if (i === 300 || i === 450) continue;
      assert.ok(h.cache.entries.get({ type: "command", id: e.id }), `entry ${i} stored`);
      assert.ok(queued.has(e.id), `entry ${i} queued`);
    }
    assert.equal(h.cache.entries.get({ type: "command", id: entries[300].id }), undefined);
    const kept = h.cache.entries.get({ type: "command", id: stored.id })!.record;
    assert.equal(kept.type === "command" && kept.encryptedPayload, stored.encrypted);
  });

  it("writes an entry changed twice in one push once, with both changes, and counts it once", async () => {
    h = await harness();
    const counts: number[] = [];
    h.manager.on("entries", ({ count }) => counts.push(count));
    const c = command();
    const other = command();
    const executed = { ...c, metadata: { ...c.metadata, executed: true, executedAt: 1_600_000_000_500 } };
    const deleted = { ...c, metadata: { ...c.metadata, deletedAt: 1_600_000_000_900 } };
    const result = await h.manager.pushEntries({ entries: [c, other, executed, deleted] });
    assert.equal(result.synced, 4);
    assert.deepEqual(counts, [2]);
    const page = h.manager.pullEntries({ since: 0, types: ["command"] }).entries;
    assert.deepEqual(
      page.map((e) => e.id),
      [other.id, c.id],
      "once each, in the order of their last change",
    );
    const metadata = page[1]!.metadata;
    assert.equal(metadata.executed, true);
    assert.equal(metadata.executedAt, 1_600_000_000_500);
    assert.equal(metadata.deletedAt, 1_600_000_000_900);
    assert.deepEqual(
      h.cache.queue
        .next(10, 0)
        .filter((q) => q.id === c.id)
        .map((q) => q.cursor),
      [h.cache.entries.get({ type: "command", id: c.id })!.cursor],
    );
  });

  it("rate-limits over the token bucket with retryAfterMs, and recovers with time", async () => {
    h = await harness({ config: { pushRatePerSecond: 10, pushBurst: 20 } });
    await h.manager.pushEntries({ entries: Array.from({ length: 15 }, () => command()) });
    await assert.rejects(
      h.manager.pushEntries({ entries: Array.from({ length: 10 }, () => command()) }),
      (err: unknown) =>
        err instanceof SyncError && err.code === ErrorCode.RateLimited && err.data.retryAfterMs === 500,
    );
    h.clock.advance(500);
    assert.equal(
      (await h.manager.pushEntries({ entries: Array.from({ length: 10 }, () => command()) })).synced,
      10,
    );
    // sync.delete spends the same budget.
    assert.throws(
      () => h.manager.deleteCommands([randomUUID()]),
      (err: unknown) => err instanceof SyncError && err.code === ErrorCode.RateLimited,
    );
  });

  it("sync.delete marks known commands deleted; they come again as tombstones with the same encrypted", async () => {
    h = await harness();
    const a = command();
    const b = command();
    await h.manager.pushEntries({ entries: [a, b] });
    const { cursor } = pullAll(h.manager);
    h.clock.advance(5000);
    assert.deepEqual(h.manager.deleteCommands([a.id, randomUUID(), "theme"]), { deleted: 1 });
    const [tombstone, ...rest] = h.manager.pullEntries({ since: cursor }).entries;
    assert.equal(rest.length, 0);
    assert.equal(tombstone?.id, a.id);
    assert.equal(tombstone?.encrypted, a.encrypted);
    assert.equal(tombstone?.metadata.deletedAt, h.clock.now());
    // Deleting again keeps the first deletion time and produces no new version.
    h.clock.advance(5000);
    assert.deepEqual(h.manager.deleteCommands([a.id]), { deleted: 1 });
    assert.equal(
      h.manager.pullEntries({ since: cursor }).entries[0]?.metadata.deletedAt,
      h.clock.now() - 5000,
    );
  });

  it("with ack relay and no Remote, answers at once with -32003 for entries that stay queued", async () => {
    h = await harness();
    const c = command();
    const result = await h.manager.pushEntries({ entries: [c, command({ id: "bad" })], ack: "relay" });
    assert.equal(result.synced, 0);
    assert.deepEqual(
      result.errors.map((e) => [e.id, e.code]),
      [
        ["bad", ErrorCode.InvalidParams],
        [c.id, ErrorCode.NetworkUnreachable],
      ],
    );
    assert.ok(h.cache.queue.has({ type: "command", id: c.id }));
  });
});
