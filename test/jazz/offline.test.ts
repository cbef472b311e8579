// Local-first behaviour with a relay process that is killed and restarted on the same port (its
// SQLite file keeps its data): offline restart, offline writes, and an account created offline
// that already existed on the relay.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RemoteConnectError } from "../../src/sync/remote.js";
import { startRelayProcess, type RelayProcess } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, device, newAuthKey, preference, service } from "./fixtures.js";

describe("offline", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let relay: RelayProcess;
  let port: number;
  const restartRelay = async () =>
    (relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db"), port }));

  before(async () => {
    dir = await tempDir("cs-jo-");
    relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
    port = relay.port;
  });
  after(async () => {
    await relay?.kill();
    await dir?.cleanup();
  });

  it("restarts with the relay down and reads everything from local storage at once", async () => {
    const authKey = newAuthKey();
    const svc = service(relay.url, dir.path, "restart");
    const identity = svc.deriveIdentity(authKey);
    const first = await svc.open({ identity, mode: "create" });
    await first.connect();
    const written = Array.from({ length: 500 }, () => command());
    await first.write([...written, preference("k", 1, "device-a"), device("device-a")]);
    await first.waitForUpload(10_000);
    const rootId = first.syncRootId();
    await first.close();
    await relay.kill();

    const started = performance.now();
    const again = await service(relay.url, dir.path, "restart").open({ identity, mode: "join" });
    const seen = new Collector(again);
    await seen.until(
      "local replay",
      (c) => c.count("command") === 500 && c.count("preference") === 1 && c.count("device") === 1,
    );
    const ms = performance.now() - started;
    try {
      assert.equal(again.syncRootId(), rootId);
      assert.ok(ms < 3_000, `offline restart took ${Math.round(ms)} ms`);
      assert.deepEqual(seen.command(written[0]!.id), written[0]);
      const failure = await again.connect().catch((e: unknown) => e);
      assert.ok(failure instanceof RemoteConnectError && failure.failure.kind === "network");
    } finally {
      await again.close();
      await restartRelay();
    }
  });

  it("writes made offline upload when connect() succeeds later", async () => {
    const authKey = newAuthKey();
    const svc = service(relay.url, dir.path, "w1");
    const identity = svc.deriveIdentity(authKey);
    const session = await svc.open({ identity, mode: "create" });
    try {
      await session.connect();
      await session.waitForUpload(10_000);
      await relay.kill();
      const offline = [command(), command()];
      await session.write(offline);
      const waited = await session.waitForUpload(200).catch((e: unknown) => e);
      assert.ok(waited instanceof RemoteConnectError && waited.failure.kind === "timeout");

      await restartRelay();
      await session.connect();
      await session.waitForUpload(10_000);
      const other = await service(relay.url, dir.path, "w2").open({ identity, mode: "join" });
      try {
        const seen = new Collector(other);
        await seen.until("offline writes at another device", (c) =>
          offline.every((cmd) => c.command(cmd.id)),
        );
      } finally {
        await other.close();
      }
    } finally {
      await session.close();
    }
  });

  it("an account created offline that already exists keeps the existing root and replays into it", async () => {
    const authKey = newAuthKey();
    const svcW = service(relay.url, dir.path, "existing");
    const identity = svcW.deriveIdentity(authKey);
    const w = await svcW.open({ identity, mode: "create" });
    await w.connect();
    const old = command({ deviceId: "device-w" });
    await w.write([old, preference("p", 10, "device-w"), device("device-w")]);
    await w.waitForUpload(10_000);
    const existingRoot = w.syncRootId();
    await relay.kill();

    // Device X runs init instead of join, on a plane.
    const x = await service(relay.url, dir.path, "plane").open({ identity, mode: "create" });
    try {
      const offlineRoot = x.syncRootId();
      assert.ok(offlineRoot && offlineRoot !== existingRoot);
      const fromPlane = command({ deviceId: "device-x" });
      await x.write([fromPlane, preference("p", 20, "device-x"), device("device-x")]);

      await restartRelay();
      await w.connect();
      const atW = new Collector(w);
      await x.connect();
      const atX = new Collector(x);
      await atX.until("X on the existing root", () => x.syncRootId() === existingRoot);
      await atX.until(
        "history merged at X",
        (c) => c.command(old.id) && c.command(fromPlane.id) && c.count("device") === 2,
      );
      await atW.until(
        "X's offline records at W",
        (c) => c.command(fromPlane.id) && c.preference("p")?.updatedAt === 20,
      );
      assert.equal(w.syncRootId(), existingRoot);
      await x.waitForUpload(10_000);

      // A fresh device finds the existing root, with everything.
      const y = await service(relay.url, dir.path, "fresh").open({ identity, mode: "join" });
      try {
        assert.equal(y.syncRootId(), existingRoot);
        const atY = new Collector(y);
        await atY.until(
          "all at Y",
          (c) => c.command(old.id) && c.command(fromPlane.id) && c.count("device") === 2,
        );
      } finally {
        await y.close();
      }
    } finally {
      await x.close();
      await w.close();
    }
  });
});
