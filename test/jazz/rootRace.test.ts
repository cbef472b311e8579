// Two devices run init (mode "create") for the same key at the same moment: both see no account
// on the relay and both create one. They must end up on one root holding both devices' records.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, device, newAuthKey, preference, service } from "./fixtures.js";

describe("concurrent creation of one account", () => {
  let relay: TestRelay;
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    relay = await startTestRelay();
    dir = await tempDir("cs-jr-");
  });
  after(async () => {
    await relay?.stop();
    await dir?.cleanup();
  });

  it("converges on the first root, with both devices' records in it", async () => {
    const authKey = newAuthKey();
    const svcA = service(relay.url, dir.path, "a");
    const svcB = service(relay.url, dir.path, "b");
    const [a, b] = await Promise.all([
      svcA.open({ identity: svcA.deriveIdentity(authKey), mode: "create" }),
      svcB.open({ identity: svcB.deriveIdentity(authKey), mode: "create" }),
    ]);
    try {
      const fromA = command({ deviceId: "device-a" });
      const fromB = command({ deviceId: "device-b" });
      await a.write([fromA, preference("k", 1, "device-a"), device("device-a")]);
      await b.write([fromB, preference("k", 2, "device-b"), device("device-b")]);
      await Promise.all([a.connect(), b.connect()]);
      const atA = new Collector(a);
      const atB = new Collector(b);
      const complete = (c: Collector) =>
        c.command(fromA.id) &&
        c.command(fromB.id) &&
        c.preference("k")?.updatedAt === 2 &&
        c.count("device") === 2;
      await atA.until("both records at A", complete);
      await atB.until("both records at B", complete);
      await atA.until("one root", () => a.syncRootId() === b.syncRootId());
      await Promise.all([a.waitForUpload(10_000), b.waitForUpload(10_000)]);

      // A third device finds that root.
      const svcC = service(relay.url, dir.path, "c");
      const c = await svcC.open({ identity: svcC.deriveIdentity(authKey), mode: "join" });
      try {
        assert.equal(c.syncRootId(), a.syncRootId());
        await new Collector(c).until("both records at C", complete);
      } finally {
        await c.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
