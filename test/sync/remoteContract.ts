// The Remote contract (src/sync/remote.ts, docs/architecture.md §2.2) as one reusable suite: the
// same assertions run against every implementation (the in-memory fake and JazzSyncService on a
// real relay), in the style of automerge-repo's runStorageAdapterTests(setup). Each test builds its
// own fixture: one relay, devices with their own local storage, and relay controls.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { keyString, recordKey } from "../../src/sync/records.js";
import {
  RemoteConnectError,
  type ConnectFailure,
  type Remote,
  type RemoteRecord,
  type RemoteSession,
} from "../../src/sync/remote.js";
import { blob, command as commandRecord } from "../helpers/records.js";
import { waitFor } from "../helpers/wait.js";

export interface RemoteFixture {
  /** A Remote for one more device (its own local storage), on the fixture's relay. */
  device(): Remote;
  /** The relay goes away: established connections drop, attempts fail until relayUp(). */
  relayDown(): Promise<void>;
  relayUp(): Promise<void>;
  /** The relay restarts without any data (in memory, or its database lost); connections drop. */
  relayRestartEmpty(): Promise<void>;
  cleanup(): Promise<void>;
}

type Command = Extract<RemoteRecord, { type: "command" }>;

/** A command record with a fixed creation time (the contract compares records whole). */
function command(over: Partial<Command> = {}): Command {
  return commandRecord({ createdAt: 1_700_000_000_000, ...over });
}

const preference = (key: string, updatedAt: number): RemoteRecord => ({
  type: "preference",
  key,
  deviceId: "device-a",
  encrypted: blob(),
  updatedAt,
});

const device = (deviceId: string): RemoteRecord => ({
  type: "device",
  deviceId,
  name: `host-${deviceId}`,
  platform: "linux",
  schemaVersion: 1,
  firstSeen: 1_700_000_000_000,
  lastSeen: 1_700_000_000_000,
  isActive: true,
});

/** What one session's onRecords delivered: every batch, and the latest record per key. */
class Received {
  readonly latest = new Map<string, RemoteRecord>();
  batches = 0;
  readonly off: () => void;

  constructor(session: RemoteSession) {
    this.off = session.onRecords((records) => {
      this.batches++;
      for (const r of records) this.latest.set(keyString(recordKey(r)), r);
    });
  }

  get(r: RemoteRecord): RemoteRecord | undefined {
    return this.latest.get(keyString(recordKey(r)));
  }

  until(what: string, check: () => boolean): Promise<true> {
    return waitFor(() => check() || null, { what, timeoutMs: 15_000, intervalMs: 5 });
  }
}

export function runRemoteContractTests(name: string, setup: () => Promise<RemoteFixture>): void {
  describe(`Remote contract: ${name}`, () => {
    let fx: RemoteFixture | null = null;
    const sessions: RemoteSession[] = [];
    afterEach(async () => {
      for (const s of sessions.splice(0)) await s.close().catch(() => undefined);
      await fx?.cleanup();
      fx = null;
    });

    /** The first device (creating the account) and the key it was made from. */
    async function firstDevice() {
      fx = await setup();
      const remote = fx.device();
      const authKey = new Uint8Array(randomBytes(32));
      const identity = remote.deriveIdentity(authKey);
      const session = await remote.open({ identity, mode: "create" });
      sessions.push(session);
      return { fixture: fx, remote, authKey, identity, session };
    }

    async function join(fixture: RemoteFixture, authKey: Uint8Array): Promise<RemoteSession> {
      const remote = fixture.device();
      const session = await remote.open({ identity: remote.deriveIdentity(authKey), mode: "join" });
      sessions.push(session);
      return session;
    }

    it("derives the same identity from the same key on every device, another from another key", async () => {
      const { fixture, authKey, identity, session } = await firstDevice();
      assert.deepEqual(fixture.device().deriveIdentity(authKey), identity);
      assert.notEqual(
        fixture.device().deriveIdentity(new Uint8Array(randomBytes(32))).accountId,
        identity.accountId,
      );
      assert.equal(session.accountId, identity.accountId);
    });

    it("create: writes are confirmed by the relay once connected, and the root becomes known", async () => {
      const { session } = await firstDevice();
      await session.connect();
      await session.write([command(), preference("theme", 100), device("device-a")]);
      await session.waitForUpload(10_000);
      assert.match(session.syncRootId() ?? "", /\S/, "a root ID once the account is on the relay");
    });

    it("join: a second device gets everything already in the root through onRecords, on subscribing", async () => {
      const { fixture, authKey, session } = await firstDevice();
      await session.connect();
      const written = [
        command(),
        command({ executed: true, success: true, executedAt: 5 }),
        preference("theme", 100),
      ];
      await session.write(written);
      await session.waitForUpload(10_000);

      const b = await join(fixture, authKey);
      await b.connect();
      assert.equal(b.syncRootId(), session.syncRootId(), "the same root");
      const atB = new Received(b);
      await atB.until("the replay", () => written.every((r) => atB.get(r) !== undefined));
      for (const r of written) assert.deepEqual(atB.get(r), r);
      atB.off();
    });

    it("records are keyed: the same record again changes nothing, a newer version replaces it", async () => {
      const { fixture, authKey, session } = await firstDevice();
      await session.connect();
      const b = await join(fixture, authKey);
      await b.connect();
      const atB = new Received(b);
      const c = command();
      await session.write([c]);
      await session.write([c]); // a replay after a failed upload, or after a restart
      await session.waitForUpload(10_000);
      await atB.until("the command", () => atB.get(c) !== undefined);
      const executed = { ...c, executed: true, success: false, executedAt: 9 };
      await session.write([executed]);
      await session.waitForUpload(10_000);
      await atB.until("the newer version", () => (atB.get(c) as Command | undefined)?.executed === true);
      assert.deepEqual(atB.get(c), executed);
      const commands = [...atB.latest.values()].filter((r) => r.type === "command");
      assert.equal(commands.length, 1, "one record per key");
    });

    it("disconnect() is not reported as a drop, and connect() works again after it", async () => {
      const { session } = await firstDevice();
      const drops: ConnectFailure[] = [];
      session.onDisconnected((f) => drops.push(f));
      await session.connect();
      session.disconnect();
      assert.equal(session.latencyMs(), null, "no latency while disconnected");
      await session.connect();
      await session.write([command()]);
      await session.waitForUpload(10_000);
      assert.deepEqual(drops, []);
    });

    it("a relay that goes away is one drop; attempts fail classified while it is away; then connect again", async () => {
      const { fixture, session } = await firstDevice();
      await session.connect();
      const drops: ConnectFailure[] = [];
      session.onDisconnected((f) => drops.push(f));
      await fixture.relayDown();
      await waitFor(() => drops.length > 0, { what: "the drop to be reported", timeoutMs: 15_000 });
      await assert.rejects(session.connect(), RemoteConnectError);
      // Not confirmed while the relay is away: a rejection, and the records stay pending.
      await session.write([command()]);
      await assert.rejects(session.waitForUpload(300));
      await fixture.relayUp();
      await session.connect();
      await session.waitForUpload(10_000);
      assert.equal(drops.length, 1, "reported once");
    });

    it("after close() no listener fires, while the other devices go on", async () => {
      const { fixture, authKey, session } = await firstDevice();
      await session.connect();
      const atA = new Received(session);
      const drops: ConnectFailure[] = [];
      session.onDisconnected((f) => drops.push(f));
      const b = await join(fixture, authKey);
      await b.connect();
      await session.close();
      const seenByA = atA.batches;

      // B writes; a third device sees it, so A would have too had it still listened.
      const c = command({ deviceId: "device-b" });
      await b.write([c]);
      await b.waitForUpload(10_000);
      const third = await join(fixture, authKey);
      await third.connect();
      const atThird = new Received(third);
      await atThird.until("B's write at the third device", () => atThird.get(c) !== undefined);
      let thirdDropped = false;
      third.onDisconnected(() => (thirdDropped = true));
      await fixture.relayDown();
      await waitFor(() => thirdDropped, { what: "the third device's drop", timeoutMs: 15_000 });
      assert.equal(atA.batches, seenByA, "no records after close()");
      assert.deepEqual(drops, [], "no drop after close()");
    });

    it("a relay that came back without its data gets all of it again on connect(); a device joining then gets it", async () => {
      const { fixture, authKey, session } = await firstDevice();
      await session.connect();
      const written = [
        command(),
        command({ deviceId: "device-b" }),
        preference("theme", 100),
        device("device-a"),
      ];
      await session.write(written);
      await session.waitForUpload(10_000);
      const drops: ConnectFailure[] = [];
      session.onDisconnected((f) => drops.push(f));
      await fixture.relayRestartEmpty();
      await waitFor(() => drops.length > 0, { what: "the drop", timeoutMs: 15_000 });
      await session.connect();
      // Confirmed only once the relay holds everything this device holds again.
      await session.waitForUpload(10_000);
      const b = await join(fixture, authKey);
      await b.connect();
      const atB = new Received(b);
      await atB.until("everything at the new device", () => written.every((r) => atB.get(r) !== undefined));
      for (const r of written) assert.deepEqual(atB.get(r), r);
    });

    it("inventory: the commands held here and on the relay, nothing missing; no relay side while disconnected", async () => {
      const { session } = await firstDevice();
      await session.connect();
      const written = [command(), command({ executed: true, success: true, executedAt: 5 })];
      await session.write([...written, preference("theme", 100)]);
      await session.waitForUpload(10_000);
      const inv = await session.inventory({ timeoutMs: 10_000 });
      const byId = (records: readonly RemoteRecord[]) =>
        [...records].sort((x, y) => keyString(recordKey(x)).localeCompare(keyString(recordKey(y))));
      assert.deepEqual(inv.local.missing, []);
      assert.deepEqual(byId(inv.local.commands), byId(written));
      assert.ok(inv.relay, "connected: the relay side is known");
      assert.deepEqual(inv.relay.missing, []);
      assert.deepEqual(byId(inv.relay.commands), byId(written));
      session.disconnect();
      const offline = await session.inventory({ timeoutMs: 1_000 });
      assert.equal(offline.relay, null);
      assert.deepEqual(byId(offline.local.commands), byId(written));
    });
  });
}
