// sync.verify (sync/verify.ts, sync/digest.ts) through the SyncManager on a real SQLite cache, with
// the in-memory Remote: per-device counts and digests of the three places, what is missing where,
// and what repair does about it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { summarize } from "../../src/sync/digest.js";
import { commandRecord } from "../../src/sync/records.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { blob, command, harness, type Harness } from "./support.js";

const record = (id: string, deviceId: string, over: Partial<Parameters<typeof commandRecord>[0]> = {}) =>
  commandRecord({
    id,
    deviceId,
    encryptedPayload: blob(),
    safetyLevel: "safe",
    executed: false,
    createdAt: 1_600_000_000_000,
    success: undefined,
    executedAt: undefined,
    deletedAt: undefined,
    ...over,
  });
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("the command digest", () => {
  it("the digest: SHA-256 of one sorted line per command, its id and state, without the payload", () => {
    const a = record(id(2), "d", { executed: true, success: false, executedAt: 7 });
    const b = record(id(1), "d", { deletedAt: 9 });
    const lines = `${id(1)} 1600000000000 0 - - 9\n${id(2)} 1600000000000 1 0 7 -\n`;
    const expected = createHash("sha256").update(lines).digest("hex");
    assert.deepEqual(summarize([a, b]), { commands: 2, digest: expected });
    assert.deepEqual(
      summarize([b, { ...a, encryptedPayload: "" }]),
      summarize([a, b]),
      "order and payload aside",
    );
    assert.equal(summarize([]).digest, createHash("sha256").digest("hex"));
  });
});

describe("sync.verify", () => {
  let h: Harness;
  let remote: FakeRemote;
  afterEach(() => h.cleanup());

  const setup = async () => {
    remote = new FakeRemote();
    h = await harness({ remote });
    await h.manager.connect();
    // The daemon's own check after connecting runs first, so that it does not repair what a test sets up.
    await waitFor(() => h.manager.healthReport().integrity.checkedAt !== null, { what: "the first check" });
  };
  /** Pushes commands of two devices and waits until the relay confirmed them. */
  const pushBoth = async () => {
    const mine = [1, 2, 3].map((n) => command({ id: id(n), metadata: { deviceId: "dev-a" } }));
    const theirs = [4, 5].map((n) => command({ id: id(n), metadata: { deviceId: "dev-b" } }));
    await h.manager.pushEntries({ entries: [...mine, ...theirs] });
    await h.manager.syncNow();
    return { mine, theirs };
  };

  it("reports per device the same count and digest in the cache, Jazz and on the relay: complete", async () => {
    await setup();
    const { mine, theirs } = await pushBoth();
    const r = await h.manager.verify({});
    assert.equal(r.complete, true);
    assert.equal(r.relayChecked, true);
    assert.equal(r.repaired, null);
    assert.deepEqual(r.missing, { parts: [], commands: [] });
    const devices = new Map(r.devices.map((d) => [d.deviceId, d]));
    for (const [device, pushed] of [
      ["dev-a", mine],
      ["dev-b", theirs],
    ] as const) {
      const d = devices.get(device)!;
      assert.equal(d.cache.commands, pushed.length);
      assert.deepEqual(d.jazz, d.cache);
      assert.deepEqual(d.relay, d.cache);
    }
    assert.equal(r.total.cache.commands, 5);
    assert.deepEqual(r.total.relay, r.total.cache);
    assert.equal(h.manager.healthReport().integrity.status, "complete", "the result becomes health's");
  });

  it("the same commands in the same state under another device in Jazz: the per-device digests tell", async () => {
    await setup();
    await pushBoth();
    const uploaded = [...remote.relay.records.values()].find((r) => r.type === "command" && r.id === id(1));
    assert.ok(uploaded?.type === "command");
    remote.session.holdQuietly([{ ...uploaded, deviceId: "dev-z" }]);
    const r = await h.manager.verify({});
    assert.deepEqual(r.missing.commands, [], "the digest's lines leave the device out: no gap");
    assert.deepEqual(r.total.jazz, r.total.cache);
    const devices = new Map(r.devices.map((d) => [d.deviceId, d]));
    assert.equal(devices.get("dev-a")?.cache.commands, 3);
    assert.equal(devices.get("dev-a")?.jazz?.commands, 2);
    assert.equal(devices.get("dev-z")?.cache.commands, 0);
    assert.equal(devices.get("dev-z")?.jazz?.commands, 1);
  });

  it("a command Jazz holds and the cache lacks: absent in the cache; repair downloads it and tells clients", async () => {
    await setup();
    await pushBoth();
    const extra = record(id(9), "dev-b");
    remote.session.holdQuietly([extra]);
    let r = await h.manager.verify({});
    assert.equal(r.complete, false);
    assert.deepEqual(r.missing.commands, [
      { where: "cache", deviceId: "dev-b", absent: 1, behind: 0, ids: [id(9)] },
    ]);
    const notified = new Promise((resolve) => h.manager.on("entries", resolve));
    r = await h.manager.verify({ repair: true });
    assert.deepEqual(r.repaired, { downloaded: 1, uploaded: 0 });
    await notified;
    assert.equal(h.cache.entries.get({ type: "command", id: id(9) })?.record.type, "command");
    assert.deepEqual(
      r.missing.commands.filter((c) => c.where === "cache"),
      [],
      "the state after the repair",
    );
  });

  it("commands the cache holds and Jazz and the relay lost: absent there; repair uploads them again", async () => {
    await setup();
    const { mine } = await pushBoth();
    const lost = [record(id(1), "dev-a"), record(id(2), "dev-a")];
    remote.session.lose(lost);
    let r = await h.manager.verify({});
    assert.deepEqual(
      r.missing.commands.map((c) => [c.where, c.deviceId, c.absent, c.ids.sort()]),
      [
        ["jazz", "dev-a", 2, [id(1), id(2)]],
        ["relay", "dev-a", 2, [id(1), id(2)]],
      ],
    );
    assert.equal(r.devices.find((d) => d.deviceId === "dev-a")?.jazz?.commands, 1);
    r = await h.manager.verify({ repair: true });
    assert.deepEqual(r.repaired, { downloaded: 0, uploaded: 2 });
    assert.equal(r.complete, true, JSON.stringify(r.missing));
    for (const e of mine) assert.ok(remote.relay.records.has(`command\u0000${e.id}`), "back on the relay");
    assert.equal(h.manager.getStatus().pendingUp, 0);
  });

  it("a newer state in one place: the others are behind; repair brings both ways", async () => {
    await setup();
    await pushBoth();
    // Jazz has an execution report the cache has not seen.
    const executed = record(id(4), "dev-b", { executed: true, success: true, executedAt: 42 });
    const stored = h.cache.entries.get({ type: "command", id: id(4) })!.record;
    remote.session.holdQuietly([
      { ...executed, encryptedPayload: (stored as typeof executed).encryptedPayload },
    ]);
    let r = await h.manager.verify({});
    const behind = r.missing.commands.find((c) => c.where === "cache");
    assert.deepEqual(behind && [behind.absent, behind.behind, behind.ids], [0, 1, [id(4)]]);
    r = await h.manager.verify({ repair: true });
    assert.equal(r.repaired?.downloaded, 1);
    const now = h.cache.entries.get({ type: "command", id: id(4) })!.record;
    assert.equal(now.type === "command" && now.executedAt, 42);
  });

  it("queued commands are on their way, not missing; the relay is unknown while disconnected", async () => {
    await setup();
    remote.session.holdUploads = true;
    await h.manager.pushEntries({ entries: [command({ id: id(7) })] });
    await waitFor(() => (h.cache.queue.next(1, 0)[0]?.attempts ?? 0) > 0, { what: "a failed upload" });
    const r = await h.manager.verify({});
    assert.deepEqual(
      r.missing.commands.filter((c) => c.ids.includes(id(7))),
      [],
      "queued: neither Jazz nor the relay counts as lacking it",
    );
    remote.session.drop();
    await waitFor(() => h.manager.state === "OFFLINE", { what: "the drop" });
    const offline = await h.manager.verify({ repair: true });
    assert.equal(offline.relayChecked, false);
    assert.equal(offline.total.relay, null);
    assert.equal(offline.complete, false, "not known to be complete");
  });

  it("an evicted command still counts in the cache, and is never queued again from it", async () => {
    await setup();
    await pushBoth();
    const evicted = h.cache.enforceMaxSize(1);
    assert.ok(evicted > 0);
    remote.session.lose([record(id(1), "dev-a")]);
    const r = await h.manager.verify({ repair: true });
    assert.equal(r.total.cache.commands, 5, "evicted commands are counted");
    const uploadable = r.repaired?.uploaded ?? 0;
    assert.ok(h.cache.entries.get({ type: "command", id: id(1) })?.evicted, "id 1 was evicted");
    assert.equal(uploadable, 0, "no payload to give back");
    assert.ok(r.missing.commands.some((c) => c.where === "jazz" && c.ids.includes(id(1))));
  });
});
