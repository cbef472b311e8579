// Two devices of one identity, each a JazzSyncService with its own Jazz storage, against a real
// relay on loopback.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RemoteConnectError, type RemoteSession } from "../../src/sync/remote.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, device, newAuthKey, preference, service } from "./fixtures.js";

describe("JazzSyncService with two devices", () => {
  let relay: TestRelay;
  let dir: { path: string; cleanup: () => Promise<void> };
  let a: RemoteSession;
  let b: RemoteSession;
  const authKey = newAuthKey();

  before(async () => {
    relay = await startTestRelay();
    dir = await tempDir("cs-jz-");
    const svcA = service(relay.url, dir.path, "a");
    a = await svcA.open({ identity: svcA.deriveIdentity(authKey), mode: "create" });
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await relay?.stop();
    await dir?.cleanup();
  });

  it("creates the account and its root on the first device, connected", async () => {
    assert.equal(a.accountId, service(relay.url, dir.path, "x").deriveIdentity(authKey).accountId);
    assert.match(a.syncRootId() ?? "", /^co_z/);
    await a.connect();
    await a.waitForUpload(10_000);
  });

  it("a second device joins and receives everything already written, through onRecords", async () => {
    const written = [command(), command({ executed: true, success: true, executedAt: 5 })];
    await a.write([...written, preference("theme", 100, "device-a"), device("device-a")]);
    await a.waitForUpload(10_000);

    const svcB = service(relay.url, dir.path, "b");
    b = await svcB.open({ identity: svcB.deriveIdentity(authKey), mode: "join" });
    assert.equal(b.syncRootId(), a.syncRootId());
    const seen = new Collector(b);
    await seen.until(
      "B's replay",
      (c) => c.count("command") === 2 && c.count("preference") === 1 && c.count("device") === 1,
    );
    for (const cmd of written) assert.deepEqual(seen.command(cmd.id), cmd);
    assert.equal(seen.preference("theme")?.updatedAt, 100);
    assert.equal(seen.device("device-a")?.name, "host-device-a");
    seen.off();
  });

  it("delivers writes live in both directions, only what is new", async () => {
    const atA = new Collector(a);
    const atB = new Collector(b);
    await atA.until("A's replay", (c) => c.count("command") === 2);
    await atB.until("B's replay", (c) => c.count("command") === 2);
    const before = { a: atA.delivered, b: atB.delivered };

    const fromB = command({ deviceId: "device-b" });
    await b.connect();
    await b.write([fromB]);
    await atA.until("B's command at A", (c) => c.command(fromB.id));
    const fromA = command();
    await a.write([fromA]);
    await atB.until("A's command at B", (c) => c.command(fromA.id));
    // Each side got exactly the other's new command, not a replay of the history, and not its own
    // write back (it came from its cache).
    await Promise.all([a.untilDelivered!(), b.untilDelivered!()]);
    assert.equal(atA.command(fromA.id), undefined, "A's own write is not handed back to A");
    assert.equal(atB.command(fromB.id), undefined, "B's own write is not handed back to B");
    assert.equal(atA.delivered - before.a, 1);
    assert.equal(atB.delivered - before.b, 1);
    atA.off();
    atB.off();
  });

  it("preferences are last-writer-wins by updatedAt, not by arrival order", async () => {
    const atA = new Collector(a);
    const atB = new Collector(b);
    await b.write([preference("editor", 2_000, "device-b")]);
    await atA.until("B's editor at A", (c) => c.preference("editor")?.updatedAt === 2_000);
    // A replays a stale value from its offline queue: it must not win anywhere.
    await a.write([preference("editor", 1_000, "device-a")]);
    await a.write([preference("editor", 2_000, "device-a")]); // tie: "device-b" > "device-a" wins
    await b.write([preference("theme", 300, "device-b")]);
    await atA.until("theme 300 at A", (c) => c.preference("theme")?.updatedAt === 300);
    await atB.until("theme 300 at B", (c) => c.preference("theme")?.updatedAt === 300);
    for (const seen of [atA, atB]) {
      assert.equal(seen.preference("editor")?.deviceId, "device-b");
      assert.equal(seen.preference("editor")?.updatedAt, 2_000);
    }
    atA.off();
    atB.off();
  });

  it("a command update propagates and merges monotonically (deletion wins)", async () => {
    const cmd = command();
    await a.write([cmd]);
    const atB = new Collector(b);
    await atB.until("command at B", (c) => c.command(cmd.id));
    await a.write([{ ...cmd, executed: true, success: true, executedAt: 10 }]);
    await atB.until("executed at B", (c) => c.command(cmd.id)?.executed);
    await b.write([{ ...cmd, deletedAt: 20 }]);
    // B's own write is not handed back to its listeners: a new one is replayed B's merged state.
    const replayB = new Collector(b);
    await replayB.until(
      "deleted and executed at B",
      (c) => c.command(cmd.id)?.deletedAt === 20 && c.command(cmd.id)?.executed,
    );
    replayB.off();
    // A late, stale update (not executed, not deleted) changes nothing.
    await a.write([cmd]);
    const atA = new Collector(a);
    await atA.until("merged at A", (c) => c.command(cmd.id)?.deletedAt === 20 && c.command(cmd.id)?.executed);
    assert.deepEqual(atA.command(cmd.id), {
      ...cmd,
      executed: true,
      success: true,
      executedAt: 10,
      deletedAt: 20,
    });
    atA.off();
    atB.off();
  });

  it("writing records the root already holds (a replay) writes nothing", async () => {
    const cmd = command({ executed: true, executedAt: 3 });
    const pref = preference("replayed", 50, "device-a");
    const dev = device("device-a");
    await a.write([cmd, pref, dev]);
    const atB = new Collector(b);
    await atB.until("first write at B", (c) => c.command(cmd.id) && c.preference("replayed"));
    const before = atB.delivered;
    // The queue replays everything, including an older state of the command; then a marker.
    const older = command({ ...cmd, executed: false });
    delete older.executedAt;
    await a.write([cmd, older, pref, dev]);
    const marker = command();
    await a.write([marker]);
    await atB.until("marker at B", (c) => c.command(marker.id));
    assert.equal(atB.delivered - before, 1, "only the marker was new");
    atB.off();
  });

  it("devices merge by deviceId: an update from another device reaches everyone", async () => {
    await b.write([device("device-b")]);
    await a.write([device("device-b", { isActive: false, lastSeen: 1 })]); // A removes B
    const atB = new Collector(b);
    await atB.until("B inactive", (c) => c.device("device-b")?.isActive === false);
    assert.equal(atB.count("device"), 2);
    // lastSeen only moves forward.
    assert.ok((atB.device("device-b")?.lastSeen ?? 0) > 1);
    atB.off();
  });

  it("a removal stays: the removed device's later write from a stale record does not undo it", async () => {
    // B's cache still had itself active when it refreshed its record (a lost laptop back online):
    // name and lastSeen move on, isActive stays false, on every device (as the cache merges it).
    await new Collector(b).until("B sees its removal", (c) => c.device("device-b")?.isActive === false);
    await b.write([device("device-b", { name: "renamed", lastSeen: Date.now() + 1_000, isActive: true })]);
    await b.waitForUpload(10_000);
    for (const [name, session] of [
      ["A", a],
      ["B", b],
    ] as const) {
      const seen = new Collector(session);
      const record = await seen.until(`${name} sees the rename`, (c) =>
        c.device("device-b")?.name === "renamed" ? c.device("device-b") : null,
      );
      assert.equal(record.isActive, false, `${name}: still removed`);
      seen.off();
    }
  });

  it("joining an identity that has no account on the relay fails clearly and creates nothing", async () => {
    const svc = service(relay.url, dir.path, "nobody");
    const err = await svc
      .open({ identity: svc.deriveIdentity(newAuthKey()), mode: "join" })
      .catch((e: unknown) => e);
    assert.ok(err instanceof RemoteConnectError);
    assert.equal(err.failure.kind, "accountNotFound");
    assert.match(err.message, /no account/);
  });

  it("opening in create mode when the account exists loads it instead of replacing the root", async () => {
    const svc = service(relay.url, dir.path, "c");
    const c = await svc.open({ identity: svc.deriveIdentity(authKey), mode: "create" });
    try {
      assert.equal(c.syncRootId(), a.syncRootId());
    } finally {
      await c.close();
    }
  });
});
