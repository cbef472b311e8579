// SyncManager against the Remote interface, with an in-memory Remote (fakeRemote.ts).
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode, SyncError } from "../../src/protocol.js";
import { commandRecord, preferenceRecord } from "../../src/sync/records.js";
import { RemoteConnectError } from "../../src/sync/remote.js";
import { once, waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { blob, command, harness, preference, pullAll, type Harness } from "./support.js";

const remoteCommand = (id: string, over: Partial<Parameters<typeof commandRecord>[0]> = {}) =>
  commandRecord({
    id,
    deviceId: "dev-other",
    encryptedPayload: blob(),
    safetyLevel: "moderate",
    executed: false,
    createdAt: 1_500_000_000_000,
    success: undefined,
    executedAt: undefined,
    deletedAt: undefined,
    ...over,
  });

describe("SyncManager with a Remote", () => {
  let h: Harness;
  let remote: FakeRemote;
  afterEach(() => h.cleanup());

  const setup = async (opts: Parameters<typeof harness>[0] = {}) => {
    remote = new FakeRemote();
    h = await harness({ remote, pushTimeoutMs: 5_000, ...opts });
  };

  it("stores the identity the Remote derives and opens the account", async () => {
    await setup();
    const creds = h.credentials.load();
    assert.equal(creds?.accountId, remote.deriveIdentity(Buffer.alloc(32, 7)).accountId);
    assert.match(creds?.agentSecret ?? "", /^secret_/);
    assert.equal(remote.sessions.length, 1);
    assert.equal(h.manager.state, "OFFLINE");
  });

  it("answers -32001 with state and retryAfterMs while INITIALIZING, then serves when OFFLINE", async () => {
    await setup();
    await h.manager.pushEntries({ entries: [command()] });
    // A restart whose Remote takes its time to open the account.
    let release!: () => void;
    const slow = new FakeRemote(remote.relay);
    const open = slow.open.bind(slow);
    slow.open = (opts) => new Promise((resolve) => (release = () => resolve(open(opts))));
    const next = await h.restart({ remote: slow, start: false });
    h = next;
    const starting = next.manager.start();
    assert.equal(next.manager.state, "INITIALIZING");
    await assert.rejects(
      next.manager.pushEntries({ entries: [command()] }),
      (e: unknown) =>
        e instanceof SyncError &&
        e.code === ErrorCode.NotInitialized &&
        e.data.state === "INITIALIZING" &&
        e.data.retryAfterMs === 1000,
    );
    assert.throws(() => next.manager.pullEntries({}), SyncError);
    release();
    await starting;
    assert.equal(next.manager.state, "OFFLINE");
    assert.equal(pullAll(next.manager).entries.length, 2);
  });

  it("replays the queue in order on connect and confirms it after the upload", async () => {
    await setup();
    const entries = [command(), command(), command()];
    await h.manager.pushEntries({ entries });
    const complete = once((l) => h.manager.on("syncComplete", l));
    await h.manager.connect();
    assert.equal(h.manager.state, "ONLINE");
    await complete;
    await waitFor(() => h.manager.getStatus().pendingUp === 0, { what: "queue confirmed" });
    const written = remote.session.writes
      .flat()
      .filter((r) => r.type === "command")
      .map((r) => (r.type === "command" ? r.id : ""));
    assert.deepEqual(
      written,
      entries.map((e) => e.id),
    );
    assert.equal(remote.relay.records.size, 4, "three commands and the device record");
    assert.equal(h.manager.healthReport().lastSync, h.clock.now());
    assert.equal(h.credentials.load()?.syncRootId, "co_zRoot");
  });

  it("records a failed upload on the queued rows and retries them", async () => {
    await setup();
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0);
    remote.session.holdUploads = true;
    const c = command();
    await h.manager.pushEntries({ entries: [c] });
    await waitFor(() => (h.cache.queue.next(1, 0)[0]?.attempts ?? 0) > 0, {
      what: "failed attempt recorded",
    });
    assert.equal(h.cache.queue.next(1, 0)[0]?.lastError, "upload not confirmed in time");
    assert.equal(h.manager.healthReport().lastError?.code, ErrorCode.NetworkUnreachable);
    remote.session.holdUploads = false;
    assert.deepEqual(await h.manager.syncNow(), { pushed: 1, pulled: 0 });
    assert.ok(remote.relay.records.has(`command\u0000${c.id}`));
  });

  it("keeps a change made during an upload queued until its own version is confirmed", async () => {
    await setup();
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0);
    let release!: () => void;
    remote.session.uploadGate = new Promise((resolve) => (release = resolve));
    const c = command();
    await h.manager.pushEntries({ entries: [c] });
    await waitFor(() => remote.session.writes.length === 2, { what: "first version written" });
    await h.manager.pushEntries({ entries: [{ ...c, metadata: { ...c.metadata, executed: true } }] });
    remote.session.uploadGate = null;
    release();
    await waitFor(() => h.manager.pendingOperations() === 0, { what: "both versions confirmed" });
    const uploaded = remote.relay.records.get(`command\u0000${c.id}`);
    assert.equal(uploaded?.type === "command" && uploaded.executed, true, "the relay has the newest version");
  });

  it("with ack relay, waits for the relay's confirmation", async () => {
    await setup();
    const pushing = h.manager.pushEntries({ entries: [command()], ack: "relay" });
    await waitFor(() => h.clock.pendingTimers() >= 2, { what: "push waiting" });
    await h.manager.connect();
    assert.deepEqual(await pushing, { synced: 1, failed: [], errors: [] });
  });

  it("with ack relay and no confirmation within the push timeout, fails -32003 and keeps the entries queued", async () => {
    await setup();
    const c = command();
    const pushing = h.manager.pushEntries({ entries: [c], ack: "relay" });
    await waitFor(() => h.clock.pendingTimers() >= 2, { what: "push waiting" });
    h.clock.advance(5_000);
    const result = await pushing;
    assert.deepEqual(result.failed, [c.id]);
    assert.equal(result.errors[0]?.code, ErrorCode.NetworkUnreachable);
    assert.ok(h.cache.queue.has({ type: "command", id: c.id }));
  });

  it("merges records from the relay with the same rules and announces new entries", async () => {
    await setup();
    await h.manager.pushEntries({ entries: [preference("theme", { updatedAt: 5000, deviceId: "dev-a" })] });
    const { cursor } = pullAll(h.manager);
    const announced = once<{ count: number; cursor: number }>((l) => h.manager.on("entries", l));
    const incoming = remoteCommand("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    remote.session.deliver([
      incoming,
      preferenceRecord({ key: "theme", deviceId: "dev-z", encrypted: blob(), updatedAt: 4000 }),
    ]);
    const event = await announced;
    assert.equal(event.count, 1, "the stale preference changed nothing");
    const pulled = h.manager.pullEntries({ since: cursor }).entries;
    assert.deepEqual(
      pulled.map((e) => [e.id, e.encrypted]),
      [[incoming.id, incoming.encryptedPayload]],
    );
    assert.equal(event.cursor, pullAll(h.manager).cursor);
    // The same record again is no change; a later execution report is, with a new cursor.
    remote.session.deliver([incoming]);
    assert.equal(h.manager.pullEntries({ since: event.cursor }).entries.length, 0);
    remote.session.deliver([{ ...incoming, executed: true, success: false, executedAt: 7 }]);
    assert.deepEqual(
      h.manager.pullEntries({ since: event.cursor }).entries.map((e) => e.metadata.executed),
      [true],
    );
    assert.equal(h.manager.pendingOperations(), 2, "records from the relay are not queued back to it");
  });

  it("skips malformed records from the relay and keeps the valid ones of the batch", async () => {
    await setup();
    const good = remoteCommand("9b2f0c1e-4d5a-4b6c-8d7e-0f1a2b3c4d5e");
    const malformed = [
      { type: "command", id: "x" },
      { type: "preference", key: "k", deviceId: "d", encrypted: "AQ", updatedAt: -1 },
      { type: "unknown" },
      null,
    ] as unknown as Parameters<typeof remote.session.deliver>[0];
    remote.session.deliver([...malformed, good]);
    assert.deepEqual(
      h.manager.pullEntries({ types: ["command", "preference"] }).entries.map((e) => e.id),
      [good.id],
    );
  });

  it("goes OFFLINE when the connection drops and asks the driver to reconnect", async () => {
    await setup();
    await h.manager.connect();
    const wanted = once<{ reason: string }>((l) => h.manager.on("connectionWanted", l));
    remote.session.drop();
    assert.deepEqual(await wanted, { reason: "disconnected" });
    assert.equal(h.manager.state, "OFFLINE");
    const health = h.manager.healthReport();
    assert.equal(health.jazz.connected, false);
    assert.equal(health.healthy, true);
    // The fixed text for a dropped link (failures.ts), never the Remote's own ("connection reset").
    assert.equal(health.lastError?.message, "relay connection closed");
  });

  it("records a failed attempt; an auth failure makes health unhealthy", async () => {
    await setup();
    remote.relay.reachable = false;
    await assert.rejects(h.manager.connect(), RemoteConnectError);
    assert.equal(h.manager.healthReport().healthy, true);
    // The retry policy's first delay after a network failure, scheduled by the manager itself.
    assert.equal(h.manager.healthReport().nextRetryAt, h.clock.now() + 1000);
    remote.session.connect = () =>
      Promise.reject(new RemoteConnectError({ kind: "auth", message: "401", status: 401 }));
    await assert.rejects(h.manager.connect(), RemoteConnectError);
    const health = h.manager.healthReport();
    assert.equal(health.healthy, false);
    assert.equal(health.lastError?.code, ErrorCode.InvalidCredentials);
  });

  it("sync.now uploads what is queued and reports the round", async () => {
    await setup();
    await h.manager.connect();
    await waitFor(() => h.manager.pendingOperations() === 0);
    remote.session.deliver([remoteCommand("6ba7b810-9dad-11d1-80b4-00c04fd430c8")]);
    remote.session.holdUploads = true;
    await h.manager.pushEntries({ entries: [command(), command()] });
    await assert.rejects(
      h.manager.syncNow(),
      (e: unknown) => e instanceof Error && /did not confirm/.test(e.message),
    );
    remote.session.holdUploads = false;
    assert.deepEqual(await h.manager.syncNow(), { pushed: 2, pulled: 1 });
  });

  it("pause drops the connection; a local identity cannot be opened by a Remote", async () => {
    await setup();
    await h.manager.connect();
    h.manager.pause();
    assert.equal(h.manager.state, "OFFLINE");
    assert.equal(remote.session.connected, false);
    await assert.rejects(h.manager.connect());
    await h.manager.reset();
    assert.equal(remote.session.closed, true);
    assert.equal(remote.forgotten, 1, "reset forgets the remote's local data");
    // An identity created without a Remote (agentSecret null) is reported, not opened.
    h = await h.restart({ remote: null });
    await h.manager.initialize({
      authKey: Buffer.alloc(32, 1).toString("base64"),
      deviceName: "x",
      platform: "linux",
    });
    h = await h.restart({ remote });
    assert.equal(h.manager.state, "OFFLINE");
    const health = h.manager.healthReport();
    assert.equal(health.healthy, false);
    assert.match(health.lastError?.message ?? "", /without a relay/);
  });
});
