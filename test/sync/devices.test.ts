import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode, SyncError } from "../../src/protocol.js";
import { deviceRecord } from "../../src/sync/records.js";
import { LAST_SEEN_INTERVAL_MS } from "../../src/sync/timers.js";
import { FakeRemote } from "./fakeRemote.js";
import { harness, type Harness } from "./support.js";

const other = (over: Partial<Parameters<typeof deviceRecord>[0]> = {}) =>
  deviceRecord({
    deviceId: "dev-desktop",
    name: "desktop",
    platform: "macos",
    schemaVersion: 1,
    firstSeen: 1_000,
    lastSeen: 2_000,
    isActive: true,
    ...over,
  });

describe("device.*", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("register updates this device's name, platform and lastSeen and keeps its id", async () => {
    h = await harness();
    const { deviceId } = h.manager.getStatus();
    const firstSeen = h.manager.listDevices().devices[0]?.firstSeen;
    h.clock.advance(10_000);
    assert.deepEqual(h.manager.registerDevice({ name: "work laptop", platform: "linux-arm" }), {
      deviceId,
      registeredAt: h.clock.now(),
    });
    assert.deepEqual(h.manager.listDevices().devices, [
      {
        deviceId: deviceId!,
        name: "work laptop",
        platform: "linux-arm",
        schemaVersion: 1,
        firstSeen: firstSeen!,
        lastSeen: h.clock.now(),
        isActive: true,
        isCurrentDevice: true,
      },
    ]);
    assert.equal(h.credentials.load()?.deviceName, "work laptop");
  });

  it("lists one row per device, merged by deviceId, and marks only this one current", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote });
    remote.session.deliver([
      other(),
      other({ name: "desktop (renamed)", lastSeen: 3_000, firstSeen: 1_500 }),
      other({ lastSeen: 2_500 }),
    ]);
    const devices = h.manager.listDevices().devices;
    assert.equal(devices.length, 2);
    const desktop = devices.find((d) => d.deviceId === "dev-desktop");
    assert.deepEqual(
      {
        name: desktop?.name,
        firstSeen: desktop?.firstSeen,
        lastSeen: desktop?.lastSeen,
        current: desktop?.isCurrentDevice,
      },
      { name: "desktop (renamed)", firstSeen: 1_000, lastSeen: 3_000, current: false },
    );
    assert.equal(devices.filter((d) => d.isCurrentDevice).length, 1);
  });

  it("remove marks another device inactive (sticky), refuses this one and unknown ones", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote });
    remote.session.deliver([other()]);
    assert.deepEqual(h.manager.removeDevice("dev-desktop"), { removed: true });
    assert.ok(h.cache.queue.has({ type: "device", id: "dev-desktop" }), "the removal goes to the relay");
    // The removed device still reports in: it stays removed.
    remote.session.deliver([other({ lastSeen: 9_000 })]);
    const desktop = h.manager.listDevices().devices.find((d) => d.deviceId === "dev-desktop");
    assert.deepEqual(
      { isActive: desktop?.isActive, lastSeen: desktop?.lastSeen },
      { isActive: false, lastSeen: 9_000 },
    );
    const { deviceId } = h.manager.getStatus();
    assert.throws(
      () => h.manager.removeDevice(deviceId!),
      (e: unknown) =>
        e instanceof SyncError && e.code === ErrorCode.InvalidParams && e.data.field === "deviceId",
    );
    assert.throws(
      () => h.manager.removeDevice("dev-nope"),
      (e: unknown) =>
        e instanceof SyncError && e.code === ErrorCode.InvalidParams && e.data.field === "deviceId",
    );
  });

  it("refreshes lastSeen on connecting and periodically while online, at most once a minute", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote });
    const lastSeen = () => h.manager.listDevices().devices.find((d) => d.isCurrentDevice)?.lastSeen;
    const initAt = h.clock.now();
    h.clock.advance(30_000);
    await h.manager.connect();
    assert.equal(lastSeen(), initAt, "not within a minute of the last update");
    h.manager.pause(); // offline without a drop (a drop would schedule a retry)
    h.clock.advance(60_000);
    h.manager.resume();
    await h.manager.connect();
    assert.equal(lastSeen(), h.clock.now());
    const connectedAt = h.clock.now();
    h.clock.advance(LAST_SEEN_INTERVAL_MS);
    assert.equal(lastSeen(), connectedAt + LAST_SEEN_INTERVAL_MS);
    h.manager.pause();
    h.clock.advance(LAST_SEEN_INTERVAL_MS * 3);
    assert.equal(lastSeen(), connectedAt + LAST_SEEN_INTERVAL_MS, "not while offline");
  });
});
