// Issue #4, accounts and devices: the first daemon creates the account, a second joins with the
// same authKey, a third with a wrong accountId is refused (-32002) and stores nothing; the device
// list converges on every daemon and a removal propagates. Real daemons, a real relay.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { deriveIdentity } from "../../src/jazz/account.js";
import { ErrorCode } from "../../src/protocol.js";
import { waitFor } from "../helpers/wait.js";
import { Cluster, initAccount, randomAuthKey, rpcError, waitForState, type Device } from "./support.js";

describe("e2e: accounts and devices", () => {
  const cluster = new Cluster();
  let a: Device;
  let b: Device;
  let c: Device;
  let accountId: string;
  let authKey: string;
  let relayUrl: string;
  let ids: { a: string; b: string; c: string };

  before(async () => {
    const relay = await cluster.relay();
    relayUrl = relay.url;
    const names = ["laptop", "desktop", "server"];
    [a, b, c] = (await Promise.all(names.map((n) => cluster.device(n, relay.url)))) as [
      Device,
      Device,
      Device,
    ];
  });
  after(() => cluster.cleanup());

  it("creates the account on the first device and joins the second with the same authKey", async () => {
    const init = await initAccount(a, [b]);
    ({ accountId, authKey } = init);
    await waitForState(a, "ONLINE");
    await waitForState(b, "ONLINE");
    const [statusA, statusB] = await Promise.all([a.client.status(), b.client.status()]);
    assert.equal(statusA.accountId, accountId);
    assert.equal(statusB.accountId, accountId);
    assert.notEqual(statusA.deviceId, statusB.deviceId);
    ids = { a: statusA.deviceId!, b: statusB.deviceId!, c: "" };
    // Both daemons use the one root of the account.
    const root = await waitFor(() => readRootId(a));
    assert.equal(await waitFor(() => readRootId(b)), root);
  });

  it("refuses a third device whose accountId does not match the authKey with -32002, storing nothing", async () => {
    // A well-formed accountId, of another account: the one another authKey derives.
    const otherAccount = deriveIdentity(randomBytes(32)).accountId;
    assert.notEqual(otherAccount, accountId);
    const err = await rpcError(
      c.client.init({ authKey, accountId: otherAccount, deviceName: c.name, platform: "linux" }),
    );
    assert.equal(err.code, ErrorCode.InvalidCredentials);
    assert.equal((await c.client.health()).state, "UNINITIALIZED");
    assert.equal(existsSync(join(c.home, ".config", "cmdai", "sync-credentials.json")), false);
    assert.equal(existsSync(join(c.home, ".cache", "cmdai", "sync.jazz.db")), false, "no Jazz account");
    const notInit = await rpcError(c.client.status());
    assert.equal(notInit.code, ErrorCode.NotInitialized);
    // The refusal did not reach the account: the others still see two devices.
    assert.equal((await a.client.listDevices()).devices.length, 2);
  });

  it("joins the third device with the right accountId afterwards", async () => {
    const joined = await c.client.init({ authKey, accountId, deviceName: c.name, platform: "linux" });
    assert.equal(joined.accountId, accountId);
    ids.c = joined.deviceId;
    await waitForState(c, "ONLINE");
  });

  it("converges the device list: every daemon shows each device once, itself as current", async () => {
    const expected = [ids.a, ids.b, ids.c].sort();
    for (const d of [a, b, c]) {
      const devices = await waitFor(
        async () => {
          const list = (await d.client.listDevices()).devices;
          return list.length === 3 ? list : null;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${d.name} to list 3 devices` },
      );
      assert.deepEqual(devices.map((x) => x.deviceId).sort(), expected, `${d.name}: one row per device`);
      const current = devices.filter((x) => x.isCurrentDevice);
      assert.equal(current.length, 1, `${d.name}: exactly one current device`);
      assert.equal(current[0]!.name, d.name);
      assert.ok(devices.every((x) => x.isActive));
      const byId = new Map(devices.map((x) => [x.deviceId, x]));
      assert.equal(byId.get(ids.a)?.name, "laptop");
      assert.equal(byId.get(ids.b)?.name, "desktop");
      assert.equal(byId.get(ids.c)?.name, "server");
    }
  });

  it("propagates device.remove: the removed device shows isActive false on every daemon", async () => {
    const removeOwn = await rpcError(a.client.removeDevice({ deviceId: ids.a }));
    assert.equal(removeOwn.code, ErrorCode.InvalidParams);
    assert.deepEqual(await a.client.removeDevice({ deviceId: ids.c }), { removed: true });
    for (const d of [a, b, c]) {
      await waitFor(
        async () => {
          const list = (await d.client.listDevices()).devices;
          const removed = list.find((x) => x.deviceId === ids.c);
          return list.length === 3 && removed?.isActive === false;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${d.name} to see the server device inactive` },
      );
      const list = (await d.client.listDevices()).devices;
      assert.ok(
        list.filter((x) => x.deviceId !== ids.c).every((x) => x.isActive),
        `${d.name}: others active`,
      );
    }
  });

  it("keeps a removal made while the device was offline, over that device's own later update", async () => {
    // A lost laptop is removed while it is offline; when it comes back it refreshes its own record
    // (lastSeen, here a rename: the same write). The removal must win on every device, including
    // the removed one and a device that joins afterwards.
    await b.client.pause();
    await waitForState(b, "OFFLINE");
    await a.client.removeDevice({ deviceId: ids.b });
    await waitFor(
      async () => (await c.client.listDevices()).devices.some((x) => x.deviceId === ids.b && !x.isActive),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: "server to see desktop removed",
      },
    );
    await b.client.registerDevice({ name: "desktop-2", platform: "linux" });
    await b.client.resume();
    await waitForState(b, "ONLINE");
    await waitFor(async () => (await b.client.health()).queue.pending === 0, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: "desktop to upload its update",
    });
    const d = await cluster.device("tablet", relayUrl);
    await d.client.init({ authKey, accountId, deviceName: d.name, platform: "linux" });
    for (const x of [a, b, c, d]) {
      await waitFor(
        async () => {
          const row = (await x.client.listDevices()).devices.find((y) => y.deviceId === ids.b);
          return row?.name === "desktop-2" && row.isActive === false;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${x.name} to see desktop renamed and still removed` },
      );
    }
    // Settled: every upload done, the removal still holds everywhere.
    for (const x of [a, b, c, d]) {
      await waitFor(async () => (await x.client.health()).queue.pending === 0, {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
    }
    for (const x of [a, b, c, d]) {
      const row = (await x.client.listDevices()).devices.find((y) => y.deviceId === ids.b);
      assert.equal(row?.isActive, false, `${x.name}: desktop stays removed`);
    }
  });

  it('joins with the authKey alone (mode "join"), as a client that cannot derive the account ID does', async () => {
    const d = await cluster.device("phone", relayUrl);
    const joined = await d.client.init({ authKey, mode: "join", deviceName: d.name, platform: "linux" });
    assert.equal(joined.accountId, accountId);
    await waitForState(d, "ONLINE");
    assert.equal(await waitFor(() => readRootId(d)), await readRootId(a));
  });

  it('refuses mode "join" for an authKey whose account the relay does not know, storing nothing', async () => {
    const d = await cluster.device("stranger", relayUrl);
    const err = await rpcError(
      d.client.init({ authKey: randomAuthKey(), mode: "join", deviceName: d.name, platform: "linux" }),
    );
    assert.equal(err.code, ErrorCode.InvalidCredentials);
    assert.equal(err.reason, "account_not_found");
    assert.ok(err.hint);
    assert.equal((await d.client.health()).state, "UNINITIALIZED");
    assert.equal(existsSync(join(d.home, ".config", "cmdai", "sync-credentials.json")), false);
    assert.equal(existsSync(join(d.home, ".cache", "cmdai", "sync.jazz.db")), false, "no Jazz account");

    // An accountId means joining: asking to create with one is a contradiction (-32602 naming mode).
    const contradiction = await rpcError(
      d.client.init({ authKey, accountId, mode: "create", deviceName: d.name, platform: "linux" }),
    );
    assert.equal(contradiction.code, ErrorCode.InvalidParams);
    assert.equal((contradiction.data as { field?: string }).field, "mode");
  });
});

/** The sync root ID this daemon stored with its identity (sync.init returns it once known). */
async function readRootId(d: Device): Promise<string | null> {
  const text = await readFile(join(d.home, ".config", "cmdai", "sync-credentials.json"), "utf8");
  return (JSON.parse(text) as { syncRootId: string | null }).syncRootId;
}
