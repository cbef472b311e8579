import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { command, harness, preference, pullAll, type Harness } from "./support.js";

describe("sync.pull", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("pages 10,000 entries with limit 100, returning each id exactly once, in cursor order", async () => {
    h = await harness();
    const ids = new Set<string>();
    for (let batch = 0; batch < 10; batch++) {
      const entries = Array.from({ length: 1000 }, () => command());
      for (const e of entries) ids.add(e.id);
      await h.manager.pushEntries({ entries });
    }
    const pulled = pullAll(h.manager, { limit: 100 });
    const commands = pulled.entries.filter((e) => e.type === "command").map((e) => e.id);
    assert.equal(commands.length, 10_000);
    assert.equal(new Set(commands).size, 10_000);
    assert.deepEqual(new Set(commands), ids);
    assert.equal(pulled.pages, 101, "10,001 entries (with the device record) in pages of 100");
    const again = h.manager.pullEntries({ since: pulled.cursor, limit: 100 });
    assert.deepEqual(again, {
      entries: [],
      hasMore: false,
      nextCursor: pulled.cursor,
      syncTimestamp: h.clock.now(),
    });
  });

  it("delivers entries created long ago that arrive after a client's cursor", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command({ metadata: { createdAt: h.clock.now() } })] });
    const { cursor } = pullAll(h.manager);
    h.clock.advance(1000);
    const old = command({ metadata: { createdAt: h.clock.now() - 30 * 86_400_000 } });
    await h.manager.pushEntries({ entries: [old] });
    assert.deepEqual(
      h.manager.pullEntries({ since: cursor }).entries.map((e) => e.id),
      [old.id],
    );
  });

  it("pages entries sharing one createdAt and one arrival millisecond without loss or repeat", async () => {
    h = await harness();
    const entries = Array.from({ length: 250 }, () => command({ metadata: { createdAt: 42 } }));
    await h.manager.pushEntries({ entries });
    const pulled = pullAll(h.manager, { limit: 7 });
    const ids = pulled.entries.filter((e) => e.type === "command").map((e) => e.id);
    assert.deepEqual(
      ids,
      entries.map((e) => e.id),
      "in arrival order, each once",
    );
  });

  it("still delivers entries pushed after the clock jumped back", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command()] });
    const { cursor } = pullAll(h.manager);
    h.clock.jump(-3_600_000);
    const late = command();
    await h.manager.pushEntries({ entries: [late] });
    const page = h.manager.pullEntries({ since: cursor });
    assert.deepEqual(
      page.entries.map((e) => e.id),
      [late.id],
    );
    assert.ok(page.nextCursor > cursor!, "the cursor moved forward, not with the clock");
  });

  it("filters by type, and a full pull with since null or absent starts from the beginning", async () => {
    h = await harness();
    await h.manager.pushEntries({
      entries: [command(), preference("theme", { updatedAt: 1, deviceId: "d" })],
    });
    assert.deepEqual(
      h.manager.pullEntries({ types: ["preference"] }).entries.map((e) => e.id),
      ["theme"],
    );
    const devices = h.manager.pullEntries({ since: null, types: ["device"] }).entries;
    assert.equal(devices.length, 1);
    assert.equal(devices[0]?.encrypted, "");
    assert.equal(devices[0]?.metadata.device?.name, "laptop");
    assert.equal(h.manager.pullEntries(undefined).entries.length, 3);
    assert.equal(h.manager.pullEntries({ limit: 2 }).hasMore, true);
  });

  it("counts pendingDown as entries newer than the last cursor handed out", async () => {
    h = await harness();
    await h.manager.pushEntries({ entries: [command(), command()] });
    assert.equal(h.manager.getStatus().pendingDown, 3);
    const page = h.manager.pullEntries({ limit: 2 });
    assert.equal(h.manager.getStatus().pendingDown, 1);
    h.manager.pullEntries({ since: page.nextCursor });
    assert.equal(h.manager.getStatus().pendingDown, 0);
    // Survives a restart.
    h = await h.restart();
    assert.equal(h.manager.getStatus().pendingDown, 0);
  });
});
