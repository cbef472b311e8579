// One regression test per function of src/jazz/cojsonAdapter.ts, the only code that reaches below
// cojson's documented API. A cojson upgrade that changes one of these internals fails here, by name,
// instead of somewhere deep in the sync suites. Real LocalNodes, a real relay, real SQLite storage.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalNode, type AgentSecret, type RawAccountID, type RawCoMap, type RawCoStream } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import { WebSocket } from "ws";
import {
  accountIdForAgentSecret,
  addClockSample,
  addSyncPeer,
  appendFeedItems,
  askPeerAgain,
  contentOf,
  editsByKey,
  editsOf,
  feedSessionLogs,
  followRelayClock,
  heldByPeer,
  heldLocally,
  isAvailable,
  isUploadComplete,
  lastTransactionAt,
  latestEdit,
  loadCoValue,
  loadTimeout,
  onPeerHeldChange,
  onUploadStateChange,
  setLoadTimeout,
  storageHasCoValue,
  storedSessionHeads,
  subscribeToCoValue,
  isHeldHere,
  unloadCoValue,
  untilStreamed,
  transactionTime,
} from "../../src/jazz/cojsonAdapter.js";
import { jazzCrypto } from "../../src/jazz/crypto.js";
import { holdsAll } from "../../src/jazz/accountParts.js";
import { openJazzStorage } from "../../src/jazz/sqliteDriver.js";
import { silentLogger } from "../../src/log/logger.js";
import { startRelay, type RelayHandle } from "../../src/relay/server.js";
import { freePort, startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
/** A CoValue ID of the right shape that no node has. */
const UNKNOWN_ID = "co_zNoSuchCoValue1111111111111";

async function newNode() {
  return LocalNode.withNewlyCreatedAccount({ creationProps: { name: "adapter-test" }, crypto: jazzCrypto });
}

/** Another node of the account on a relay connection of its own; both kept in `track` for cleanup. */
async function readerOf(
  url: string,
  account: { accountID: RawAccountID; accountSecret: AgentSecret },
  track: { sockets: WebSocket[]; nodes: LocalNode[] },
) {
  const { accountID, accountSecret } = account;
  const r = await relayPeer(url, "relay");
  track.sockets.push(r.websocket);
  const reader = await LocalNode.withLoadedAccount({
    accountID,
    accountSecret,
    sessionID: undefined,
    peers: [r.peer],
    crypto: jazzCrypto,
  });
  track.nodes.push(reader);
  return reader;
}

async function relayPeer(url: string, id: string) {
  const websocket = new WebSocket(url);
  websocket.on("error", () => undefined);
  await new Promise((resolve) => websocket.once("open", resolve));
  return { websocket, peer: createWebSocketPeer({ id, role: "server", websocket }) };
}

describe("cojsonAdapter: LocalNode.clockOffset", () => {
  const AHEAD = 600_000;
  const sample = (offset: number) => ({ serverTime: Date.now() + offset, localReceiveTime: Date.now() });

  it("followRelayClock and addClockSample: a relay ahead dates the node's transactions", async () => {
    const { node } = await newNode();
    followRelayClock(node);
    addClockSample(node, sample(AHEAD));
    const stamped = transactionTime(node) - Date.now();
    assert.ok(Math.abs(stamped - AHEAD) < 5_000, `stamped ${stamped} ms ahead, the relay ${AHEAD}`);
    // The transaction itself carries it.
    const map = node.createGroup().createMap();
    map.set("k", 1);
    const madeAt = latestEdit(map, "k")!.madeAt - Date.now();
    assert.ok(Math.abs(madeAt - AHEAD) < 5_000, `madeAt ${madeAt} ms ahead`);
  });

  it("followRelayClock: a relay behind changes nothing, and the stamps never go back", async () => {
    const { node } = await newNode();
    followRelayClock(node);
    addClockSample(node, sample(-AHEAD));
    assert.ok(Math.abs(transactionTime(node) - Date.now()) < 5_000, "not dated by a relay behind");
    let previous = transactionTime(node);
    for (let i = 0; i < 1_000; i++) {
      const now = transactionTime(node);
      assert.ok(now >= previous, `${now} after ${previous}`);
      previous = now;
    }
  });
});

describe("cojsonAdapter: cojsonInternals", () => {
  it("accountIdForAgentSecret: the account header's ID, pinned for a known secret", () => {
    const secret = jazzCrypto.agentSecretFromSecretSeed(new Uint8Array(32).fill(1));
    // cojson 0.20.19. If this changes, existing users would reach a new, empty account.
    assert.equal(accountIdForAgentSecret(secret, jazzCrypto), "co_zTU3ysLQKoP63TP2Fm1dNUoBwXb");
  });

  it("accountIdForAgentSecret: the ID a newly created account really gets", async () => {
    const secret = jazzCrypto.newRandomAgentSecret();
    const { node, accountID } = await LocalNode.withNewlyCreatedAccount({
      creationProps: { name: "adapter-test" },
      crypto: jazzCrypto,
      initialAgentSecret: secret,
    });
    assert.equal(accountIdForAgentSecret(secret, jazzCrypto), accountID);
    await node.gracefulShutdown();
  });

  it("setLoadTimeout: cojson's load timeout takes the value", () => {
    const before = loadTimeout();
    try {
      setLoadTimeout(1234);
      assert.equal(loadTimeout(), 1234);
    } finally {
      setLoadTimeout(before);
    }
  });
});

describe("cojsonAdapter: the raw core and RawCoMap.ops", () => {
  let node: LocalNode;
  before(async () => ({ node } = await newNode()));
  after(() => node.gracefulShutdown());

  it("contentOf and isAvailable: content of what the node has, undefined for what it lacks", () => {
    const map = node.createGroup().createMap<RawCoMap>({ a: 1 });
    assert.equal(isAvailable(node, map.id), true);
    assert.equal(contentOf<RawCoMap>(node, map.id)?.get("a"), 1);
    assert.equal(isAvailable(node, UNKNOWN_ID), false);
    assert.equal(contentOf(node, UNKNOWN_ID), undefined);
  });

  it("subscribeToCoValue: called after each change, not at once, and no more after off()", async () => {
    const map = node.createGroup().createMap<RawCoMap>();
    let calls = 0;
    const off = subscribeToCoValue(node, map.id, () => calls++);
    await tick();
    assert.equal(calls, 0, "not called on subscribe");
    map.set("k", 1, "private");
    await waitFor(() => calls >= 1, { what: "a change notification" });
    off();
    const seen = calls;
    map.set("k", 2, "private");
    await tick();
    assert.equal(calls, seen, "no call after off()");
  });

  it("lastTransactionAt: madeAt of the latest transaction, 0 for an unknown CoValue", async () => {
    const map = node.createGroup().createMap<RawCoMap>();
    const before = Date.now();
    map.set("k", 1, "private");
    await tick();
    const first = lastTransactionAt(node, map.id);
    assert.ok(first >= before && first <= Date.now(), `${first} is the write's time`);
    assert.equal(lastTransactionAt(node, UNKNOWN_ID), 0);
  });

  it("appendFeedItems: many items in one transaction, one feed item each, in order", async () => {
    const feed = node.createGroup().createStream<RawCoStream>();
    const items = [{ n: 1 }, { n: 2 }, { n: 3 }];
    assert.equal(appendFeedItems(feed, items), true);
    await tick();
    const current = contentOf<RawCoStream>(node, feed.id)!;
    const [session, ...others] = current.sessions();
    assert.ok(session && others.length === 0, "one session");
    // Through cojson's public reader: three items that share one transaction.
    const read = [0, 1, 2].map((n) => current.nthItemIn(session, n));
    assert.deepEqual(
      read.map((i) => i?.value),
      items,
    );
    assert.equal(new Set(read.map((i) => JSON.stringify(i?.tx))).size, 1, "one transaction");
  });

  it("feedSessionLogs: each session's items in order, arrays and items stable between reads", async () => {
    const feed = node.createGroup().createStream<RawCoStream>();
    appendFeedItems(feed, [{ n: 1 }]);
    await tick();
    const first = feedSessionLogs(contentOf<RawCoStream>(node, feed.id)!);
    assert.equal(first.length, 1);
    const [session, items] = first[0]!;
    assert.equal(session, node.currentSessionID);
    assert.deepEqual(
      items.map((i) => i.value),
      [{ n: 1 }],
    );
    assert.equal(typeof items[0]?.madeAt, "number");
    assert.deepEqual(items[0]?.tx, { sessionID: session, txIndex: 0 }, "the carrying transaction");
    const kept = items[0];
    appendFeedItems(feed, [{ n: 2 }]);
    await tick();
    const [[, again]] = feedSessionLogs(contentOf<RawCoStream>(node, feed.id)!) as [[string, typeof items]];
    // FeedCursor (rootRecords.ts) relies on this: appends extend the log, earlier items keep identity.
    assert.equal(again[0], kept);
    assert.deepEqual(
      again.map((i) => i.value),
      [{ n: 1 }, { n: 2 }],
    );
  });

  it("editsOf, editsByKey and latestEdit: every edit of a key, in order, with its transaction", async () => {
    const map = node.createGroup().createMap<RawCoMap>();
    map.set("root", "first", "trusting");
    map.set("root", "second", "trusting");
    map.set("other", 7, "private");
    map.delete("other", "private");
    await tick();
    const edits = editsOf(map, "root");
    assert.deepEqual(
      edits.map((e) => [e.value, e.deleted]),
      [
        ["first", false],
        ["second", false],
      ],
    );
    for (const e of edits) {
      assert.equal(e.sessionID, node.currentSessionID);
      assert.equal(typeof e.madeAt, "number");
    }
    assert.ok(edits[0]!.txIndex < edits[1]!.txIndex, "transaction order within the session");
    assert.deepEqual(editsOf(map, "missing"), []);

    const byKey = editsByKey(map);
    assert.deepEqual([...byKey.keys()].sort(), ["other", "root"]);
    assert.deepEqual(
      byKey.get("other")?.map((e) => [e.value, e.deleted]),
      [
        [7, false],
        [undefined, true],
      ],
    );
    assert.equal(latestEdit(map, "root")?.value, "second");
    assert.equal(latestEdit(map, "other")?.deleted, true);
    assert.equal(latestEdit(map, "missing"), undefined);
  });
});

describe("cojsonAdapter: syncManager and loadCoValueCore, against a relay", () => {
  let relay: TestRelay;
  const sockets: WebSocket[] = [];
  const nodes: LocalNode[] = [];
  before(async () => (relay = await startTestRelay()));
  after(async () => {
    for (const n of nodes) await n.gracefulShutdown();
    for (const s of sockets) s.close();
    await relay.stop();
  });

  it("addSyncPeer, onUploadStateChange, isUploadComplete: a write goes unsynced, then the relay confirms it", async () => {
    const { node } = await newNode();
    nodes.push(node);
    const { websocket, peer } = await relayPeer(relay.url, "relay");
    sockets.push(websocket);
    addSyncPeer(node, peer);
    await waitFor(() => isUploadComplete(node), { what: "the account's upload" });
    const states: boolean[] = [];
    const off = onUploadStateChange(node, (synced) => states.push(synced));
    assert.deepEqual(states, [true], "called at once with the current state");
    node.createGroup().createMap<RawCoMap>({ a: 1 });
    await waitFor(() => states.includes(false), { what: "the write to count as unsynced" });
    await waitFor(() => states.at(-1) === true, { what: "the relay's confirmation" });
    assert.equal(isUploadComplete(node), true);
    off();
  });

  it("loadCoValue: true once loaded from the relay; false at once for the unknown, skipping the relay", async () => {
    const { node: writer, accountID, accountSecret } = await newNode();
    nodes.push(writer);
    const w = await relayPeer(relay.url, "relay");
    sockets.push(w.websocket);
    addSyncPeer(writer, w.peer);
    const map = writer.createGroup().createMap<RawCoMap>({ a: 1 });
    await waitFor(() => isUploadComplete(writer), { what: "the writer's upload" });

    const reader = await readerOf(relay.url, { accountID, accountSecret }, { sockets, nodes });
    assert.equal(isAvailable(reader, map.id), false);
    assert.equal(await loadCoValue(reader, map.id), true);
    assert.equal(contentOf<RawCoMap>(reader, map.id)?.get("a"), 1);
    const started = Date.now();
    assert.equal(await loadCoValue(reader, UNKNOWN_ID, "relay"), false);
    assert.ok(Date.now() - started < 2000, "did not wait for the skipped peer");
  });
});

describe("cojsonAdapter: known states, against a relay that comes back empty", () => {
  let port: number;
  let relay: RelayHandle;
  const sockets: WebSocket[] = [];
  const nodes: LocalNode[] = [];
  /** An in-memory relay on the same port each time: started again, it holds nothing. */
  const listen = async () => (relay = await startRelay({ port, inMemory: true, logger: silentLogger }));
  const url = () => `ws://127.0.0.1:${port}`;
  before(async () => {
    port = await freePort();
    await listen();
  });
  after(async () => {
    for (const n of nodes) await n.gracefulShutdown();
    for (const s of sockets) s.close();
    await relay.close();
  });
  async function connected(node: LocalNode) {
    const { websocket, peer } = await relayPeer(url(), "relay");
    sockets.push(websocket);
    addSyncPeer(node, peer);
  }
  const relayHolds = (node: LocalNode, id: string) =>
    holdsAll(heldByPeer(node, "relay", id), heldLocally(node, id));

  it("heldLocally, heldByPeer, onPeerHeldChange: what each side holds, and a call when the peer's changes", async () => {
    const { node } = await newNode();
    nodes.push(node);
    const map = node.createGroup().createMap<RawCoMap>({ a: 1 });
    assert.equal(heldByPeer(node, "relay", map.id), undefined, "no such peer yet");
    assert.deepEqual(heldLocally(node, UNKNOWN_ID), { header: false, sessions: {} });
    assert.deepEqual(heldLocally(node, map.id), { header: true, sessions: { [node.currentSessionID]: 1 } });
    await connected(node);
    await waitFor(() => relayHolds(node, map.id), { what: "the relay to hold the map" });
    let calls = 0;
    const off = onPeerHeldChange(node, "relay", map.id, () => calls++);
    map.set("a", 2, "private");
    await waitFor(() => calls > 0 && relayHolds(node, map.id), { what: "the relay's acknowledgement" });
    assert.deepEqual(heldByPeer(node, "relay", map.id)?.sessions, { [node.currentSessionID]: 2 });
    off();
  });

  it("askPeerAgain: what the peer said before is forgotten until it answers again", async () => {
    const { node } = await newNode();
    nodes.push(node);
    const map = node.createGroup().createMap<RawCoMap>({ a: 1 });
    await connected(node);
    await waitFor(() => relayHolds(node, map.id), { what: "the first answer" });
    askPeerAgain(node, "relay", [map.id, UNKNOWN_ID]);
    assert.equal(heldByPeer(node, "relay", map.id)?.header, false, "forgotten");
    await waitFor(() => relayHolds(node, map.id), { what: "the new answer" });
  });

  it("addSyncPeer: a reconnect trusts nothing of the earlier connection, so a relay back empty gets it all again", async () => {
    const { node, accountID, accountSecret } = await newNode();
    nodes.push(node);
    const map = node.createGroup().createMap<RawCoMap>({ a: 1 });
    await connected(node);
    await waitFor(() => relayHolds(node, map.id) && isUploadComplete(node), { what: "the upload" });
    await relay.close();
    await listen();
    await connected(node);
    await waitFor(() => relayHolds(node, map.id), { what: "the relay to hold the map again" });
    const reader = await readerOf(url(), { accountID, accountSecret }, { sockets, nodes });
    assert.equal(await loadCoValue(reader, map.id), true, "another node loads it from the restarted relay");
    assert.equal(contentOf<RawCoMap>(reader, map.id)?.get("a"), 1);
  });
});

describe("cojsonAdapter: unloading a CoValue (cojson's unmount), with storage and a relay", () => {
  let port: number;
  let relay: RelayHandle;
  let dir: { path: string; cleanup: () => Promise<void> };
  const sockets: WebSocket[] = [];
  const nodes: LocalNode[] = [];
  const drivers: { closeDb(): void }[] = [];
  const listen = async () => (relay = await startRelay({ port, inMemory: true, logger: silentLogger }));
  before(async () => {
    port = await freePort();
    dir = await tempDir("cs-ad-");
    await listen();
  });
  after(async () => {
    for (const n of nodes) await n.gracefulShutdown();
    for (const s of sockets) s.close();
    for (const d of drivers) d.closeDb();
    await relay.close();
    await dir.cleanup();
  });
  async function connect(node: LocalNode) {
    const { websocket, peer } = await relayPeer(`ws://127.0.0.1:${port}`, "relay");
    sockets.push(websocket);
    addSyncPeer(node, peer);
    return websocket;
  }
  /** A new account's node with SQLite storage, connected, and a feed of `n` items it uploaded. */
  async function nodeWithFeed(name: string, n: number) {
    const { storage, driver } = openJazzStorage(join(dir.path, `${name}.db`));
    drivers.push(driver);
    const created = await LocalNode.withNewlyCreatedAccount({
      creationProps: { name },
      crypto: jazzCrypto,
      storage,
    });
    nodes.push(created.node);
    await connect(created.node);
    const feed = created.node.createGroup().createStream<RawCoStream>();
    assert.equal(
      appendFeedItems(
        feed,
        Array.from({ length: n }, (_, i) => ({ i })),
      ),
      true,
    );
    const relayHolds = () =>
      holdsAll(heldByPeer(created.node, "relay", feed.id), heldLocally(created.node, feed.id));
    await waitFor(() => isUploadComplete(created.node) && relayHolds(), { what: "the upload" });
    return { ...created, feedId: feed.id };
  }
  const count = (node: LocalNode, id: string) => {
    const feed = contentOf<RawCoStream>(node, id);
    return feed ? feedSessionLogs(feed).reduce((n, [, items]) => n + items.length, 0) : -1;
  };

  it("unloadCoValue, isHeldHere, untilStreamed: content dropped, what is held kept, loaded again from storage", async () => {
    const { node, feedId } = await nodeWithFeed("unload", 3);
    const held = heldLocally(node, feedId);
    const off = subscribeToCoValue(node, feedId, () => undefined);
    assert.equal(unloadCoValue(node, feedId), false, "refused while subscribed");
    off();
    assert.equal(unloadCoValue(node, feedId), true);
    assert.equal(isAvailable(node, feedId), false);
    assert.equal(isHeldHere(node, feedId), true);
    assert.equal(isHeldHere(node, UNKNOWN_ID), false);
    assert.deepEqual(heldLocally(node, feedId), held, "the shell knows what the node holds");
    assert.equal(unloadCoValue(node, feedId), false, "nothing left to unload");
    assert.equal(await loadCoValue(node, feedId, "relay"), true, "from storage alone");
    await untilStreamed(node, feedId);
    assert.equal(count(node, feedId), 3);
    const { node: bare } = await newNode();
    nodes.push(bare);
    const map = bare.createGroup().createMap<RawCoMap>({ a: 1 });
    assert.equal(unloadCoValue(bare, map.id), false, "refused without storage (it would be lost)");
    const empty = node.createGroup().createStream<RawCoStream>();
    await waitFor(() => holdsAll(heldByPeer(node, "relay", empty.id), heldLocally(node, empty.id)), {
      what: "the relay to hold the empty feed",
    });
    assert.equal(unloadCoValue(node, empty.id), false, "refused without transactions (never re-offered)");
    assert.equal(contentOf<RawCoMap>(bare, map.id)?.get("a"), 1);
  });

  it("untilStreamed: a large CoValue loaded from storage is complete only once streamed", async () => {
    const { node, feedId } = await nodeWithFeed("stream", 0);
    const feed = contentOf<RawCoStream>(node, feedId)!;
    const blob = "x".repeat(400);
    for (let t = 0; t < 20; t++)
      appendFeedItems(
        feed,
        Array.from({ length: 500 }, (_, i) => ({ t, i, blob })),
      );
    // Refused until the relay acknowledged every transaction (cojson's own upload tracker may say
    // "uploaded" a moment before the relay's known state does).
    await waitFor(() => unloadCoValue(node, feedId), { timeoutMs: 30_000, what: "the relay to hold it all" });
    assert.equal(await loadCoValue(node, feedId, "relay"), true);
    await untilStreamed(node, feedId);
    assert.equal(count(node, feedId), 10_000);
  });

  it("an unloaded CoValue comes back with what another session writes, and its subscribers hear of it", async () => {
    const { node, feedId, accountID, accountSecret } = await nodeWithFeed("pushed", 2);
    assert.equal(unloadCoValue(node, feedId), true);
    let calls = 0;
    const off = subscribeToCoValue(node, feedId, () => calls++);
    const other = await LocalNode.withLoadedAccount({
      accountID,
      accountSecret,
      sessionID: undefined,
      peers: [(await relayPeer(`ws://127.0.0.1:${port}`, "relay")).peer],
      crypto: jazzCrypto,
    });
    nodes.push(other);
    assert.equal(await loadCoValue(other, feedId), true);
    await untilStreamed(other, feedId);
    appendFeedItems(contentOf<RawCoStream>(other, feedId)!, [{ from: "other" }]);
    await waitFor(() => calls > 0 && count(node, feedId) === 3, { what: "the item in the unloaded feed" });
    off();
  });

  it("a relay back empty is sent an unloaded CoValue again on reconnect (cojson asks it about shells)", async () => {
    const { node, feedId, accountID, accountSecret } = await nodeWithFeed("healed", 4);
    assert.equal(unloadCoValue(node, feedId), true);
    for (const s of sockets.splice(0)) s.close();
    await relay.close();
    await listen();
    await connect(node);
    const relayHolds = () => holdsAll(heldByPeer(node, "relay", feedId), heldLocally(node, feedId));
    await waitFor(relayHolds, { what: "the relay to hold the unloaded feed again" });
    const reader = await LocalNode.withLoadedAccount({
      accountID,
      accountSecret,
      sessionID: undefined,
      peers: [(await relayPeer(`ws://127.0.0.1:${port}`, "relay")).peer],
      crypto: jazzCrypto,
    });
    nodes.push(reader);
    assert.equal(await loadCoValue(reader, feedId), true);
    await untilStreamed(reader, feedId);
    assert.equal(count(reader, feedId), 4);
  });
});

describe("cojsonAdapter: SQL on cojson's storage tables", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir("cs-ad-")));
  after(() => dir.cleanup());

  it("storageHasCoValue and storedSessionHeads read what cojson stored", async () => {
    const { storage, driver } = openJazzStorage(join(dir.path, "jazz.db"));
    const { node } = await LocalNode.withNewlyCreatedAccount({
      creationProps: { name: "adapter-test" },
      crypto: jazzCrypto,
      storage,
    });
    try {
      const map = node.createGroup().createMap<RawCoMap>({ a: 1 });
      map.set("a", 2, "private");
      await waitFor(() => storageHasCoValue(driver, map.id), { what: "the map in storage" });
      assert.equal(storageHasCoValue(driver, UNKNOWN_ID), false);
      const key = `${map.id} ${node.currentSessionID}`;
      // Two transactions in the map's session (the initial content, then the set).
      await waitFor(() => storedSessionHeads(driver).get(key) === 2, { what: "both transactions stored" });
    } finally {
      await node.gracefulShutdown();
      driver.closeDb();
    }
  });
});
