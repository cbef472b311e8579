// RemoteSession over one logged-in Jazz node: the relay link, the canonical root, writes, upload
// confirmation and incremental delivery of records. Created by JazzSyncService.open().
//
// Memory: of the command history (commandHistory.ts) only the live shard stays in memory. Every
// other feed is loaded when a listener has not read all of it (the first delivery after start, a
// change from another device) or for the inventory, then unloaded again (cojsonAdapter.ts
// `unloadCoValue`): the daemon's cache holds every record anyway. cojson keeps a shell of each
// unloaded feed that knows what this node holds of it, asks the relay about it on every reconnect,
// and brings it back from storage when the relay sends something new for it (which the feed's
// subscription then delivers).
import type { LocalNode, RawCoList } from "cojson";
import type { Account, JazzContextWithAccount } from "jazz-tools";
import type { Logger } from "../log/logger.js";
import { RepeatGuard } from "../log/repeatGuard.js";
import { withDeadline } from "../sync/deadline.js";
import {
  RemoteConnectError,
  type ConnectFailure,
  type RemoteHoldings,
  type RemoteInventory,
  type RemoteRecord,
  type RemoteSession,
} from "../sync/remote.js";
import { accountParts, feedCommands, feedCommandsOnPeer, missingOnPeer } from "./accountParts.js";
import {
  addClockSample,
  addSyncPeer,
  askPeerAgain,
  contentOf,
  isAvailable,
  isUploadComplete,
  loadCoValue,
  onPeerHeldChange,
  onUploadStateChange,
  subscribeToCoValue,
  unloadCoValue,
  untilStreamed,
} from "./cojsonAdapter.js";
import { CommandHistory } from "./commandHistory.js";
import { mergeInto } from "./rootFolds.js";
import { openRelayLink, RELAY_PEER_ID, type RelayConnector, type RelayLink } from "./relayLink.js";
import { loadDeviceMaps, loadRoot } from "./rootLoad.js";
import { RecordTracker, type RootIds } from "./rootRecords.js";
import { alreadyMerged, loadStaleHistory, mergeStaleRoot, rootHistory } from "./rootReconcile.js";
import { writeRecords, yieldToLoop } from "./rootWriter.js";

/** Records per onRecords call. */
const DELIVERY_CHUNK = 5000;
/** Feeds of the history loaded at once when reading them (each up to a shard's worth of memory). */
const FEED_LOADS_AT_ONCE = 2;
/** Bound on loading one feed completely (a relay gone mid-stream would leave it waiting). */
const FEED_LOAD_TIMEOUT_MS = 60_000;

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;

type Listener = { deliver: (records: RemoteRecord[]) => void; tracker: RecordTracker | null };

export class JazzSession implements RemoteSession {
  readonly accountId: string;
  private readonly node: LocalNode;
  private link: RelayLink | null;
  private connecting: Promise<void> | null = null;
  private ids: RootIds | null = null;
  private history: CommandHistory | null = null;
  private closed = false;
  private serial: Promise<unknown> = Promise.resolve();
  private reconcileQueued = false;
  private deliveryQueued = false;
  private delivery: Promise<void> = Promise.resolve();
  /** The write() running now, if any (delivery passes wait for it). */
  private writing: Promise<void> | null = null;
  private readonly disconnectListeners = new Set<(failure: ConnectFailure) => void>();
  private readonly listeners = new Set<Listener>();
  private readonly coreSubs = new Map<string, () => void>();
  private loadingDevices = false;
  private readonly offAccount: () => void;
  private readonly offUploads: () => void;
  /** Each change of the account retries the reconciliation: a failure that repeats is logged once. */
  private readonly reconcileFailures: RepeatGuard;
  /** Feeds cojson refused to unload because the relay has not acknowledged them yet. */
  private readonly awaitingAck = new Map<string, () => void>();

  constructor(
    private readonly ctx: JazzContextWithAccount<Account>,
    private readonly deps: {
      relay: RelayConnector;
      logger: Logger;
      closeStorage: () => void;
      link: RelayLink | null;
      /** Items per shard of the history (commandHistory.ts SHARD_ENTRIES; smaller in tests). */
      shardEntries?: number;
      /** False once unloading could lose data (a failed write to Jazz's storage): keep it all. */
      mayUnload?: () => boolean;
    },
  ) {
    this.node = ctx.node;
    this.reconcileFailures = new RepeatGuard({
      logger: deps.logger,
      clock: deps.relay.clock,
      msg: "root reconciliation failed; will retry",
      recoveredMsg: "root reconciled",
    });
    this.accountId = ctx.account.$jazz.id;
    this.link = null;
    if (deps.link) this.adoptLink(deps.link);
    this.offAccount = subscribeToCoValue(this.node, this.accountId, () => this.queueReconcile());
    // A feed is unloaded only once the relay holds all of it: try again when everything is uploaded.
    this.offUploads = onUploadStateChange(this.node, (uploaded) => {
      if (uploaded) setImmediate(() => this.unloadIdle());
    });
  }

  /** Finds and loads the root (first reconciliation); called once by JazzSyncService.open. */
  async start(): Promise<void> {
    await this.enqueue(() => this.reconcile());
  }

  syncRootId(): string | null {
    return this.ids?.root ?? null;
  }

  connect(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new Error("session is closed"));
    if (this.link?.isOpen) return Promise.resolve();
    this.connecting ??= openRelayLink(
      this.deps.relay,
      (peer) => addSyncPeer(this.node, peer),
      signal,
      (sample) => addClockSample(this.node, sample),
    )
      .then((link) => {
        if (this.closed) return link.close();
        this.adoptLink(link);
        this.deps.logger.info({ relay: this.deps.relay.url }, "connected to relay");
        this.queueReconcile();
        this.queueDelivery();
      })
      .finally(() => (this.connecting = null));
    return this.connecting;
  }

  disconnect(): void {
    this.link?.close();
    this.link = null;
  }

  onDisconnected(listener: (failure: ConnectFailure) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  latencyMs(): number | null {
    return this.link?.latencyMs() ?? null;
  }

  /**
   * Rejects while the root is unknown (a joining device whose root was never loaded): the caller
   * keeps the records queued and writes them again later.
   */
  write(records: RemoteRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.enqueue(async () => {
      if (this.closed) throw new Error("session is closed");
      if (!this.ids || !this.history) throw new Error("sync root not loaded yet; keep the records queued");
      const writing = this.writeFromCache(this.ids, this.history, records);
      this.writing = writing;
      try {
        await writing;
      } finally {
        if (this.writing === writing) this.writing = null;
      }
    });
  }

  /**
   * Writes records that come from the cache, which holds them or newer: the listeners are not
   * handed them back (the echo, a merge each that changes nothing). Delivery passes wait for the
   * write (`untilWritten`), so that none reads them between its batches.
   */
  private async writeFromCache(
    ids: RootIds,
    history: CommandHistory,
    records: RemoteRecord[],
  ): Promise<void> {
    const session = this.node.currentSessionID;
    const feeds = history.feeds();
    const marks = [...this.listeners].flatMap(({ tracker }) =>
      tracker && tracker.ids.root === ids.root
        ? [{ tracker, marks: tracker.beforeOwnWrite(session, feeds) }]
        : [],
    );
    await writeRecords(this.node, ids, history, records, this.deps.relay.clock.now());
    if (this.history !== history) return;
    const after = history.feeds();
    for (const m of marks) m.tracker.skipWritten(m.marks, after);
  }

  /** Resolves once no write() is running (its outcome is write()'s caller's). */
  private async untilWritten(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
  }

  /**
   * Resolves when cojson tracks nothing as unsynced (its tracker updates a tick after a write) and
   * the relay, as it answered on this connection, holds every part of the account this node holds.
   */
  async waitForUpload(timeoutMs: number): Promise<void> {
    await this.serial.catch(() => undefined);
    await yieldToLoop();
    if (await this.untilRelayHolds(timeoutMs)) return;
    const message = `relay has not confirmed the upload within ${timeoutMs} ms`;
    throw new RemoteConnectError({ kind: "timeout", message, afterMs: timeoutMs });
  }

  async holdings({ timeoutMs }: { timeoutMs: number }): Promise<RemoteHoldings> {
    if (this.closed) throw new Error("session is closed");
    // After the deliveries under way: a fresh device's first delivery loads the feeds it lacks
    // (they are missing until then), and reading the history at the same time would hold it twice.
    await this.untilDelivered();
    const connected = this.link?.isOpen === true;
    // Loads what is missing here (from the relay when connected): the probe of an incomplete account.
    await this.enqueue(() => this.reconcile());
    if (connected) {
      const { present } = accountParts(this.node, this.accountId, this.canonicalRoot());
      askPeerAgain(
        this.node,
        RELAY_PEER_ID,
        present.map((p) => p.id),
      );
      await this.untilRelayHolds(timeoutMs);
    }
    const { present, missing } = accountParts(this.node, this.accountId, this.canonicalRoot());
    if (!this.link?.isOpen) return { local: { missing }, relay: null };
    return {
      local: { missing },
      relay: { missing: [...missing, ...missingOnPeer(this.node, RELAY_PEER_ID, present)] },
    };
  }

  async inventory({ timeoutMs }: { timeoutMs: number }): Promise<RemoteInventory> {
    const held = await this.holdings({ timeoutMs });
    const commands = await this.historyCommands();
    const local = { missing: held.local.missing, commands: [...commands.local.values()] };
    if (!held.relay || !this.link?.isOpen || !commands.relay) return { local, relay: null };
    // The relay holding every feed in full (the usual case) holds the same commands: the same list.
    const relayCommands = commands.relay === commands.local ? local.commands : [...commands.relay.values()];
    return { local, relay: { missing: held.relay.missing, commands: relayCommands } };
  }

  /**
   * Every command of the history this node holds, and those in the transactions the relay holds
   * (null when not connected; the same map when it holds them all), merged by id: each feed loaded
   * in turn, read, and unloaded again.
   */
  private async historyCommands(): Promise<{
    local: Map<string, CommandRecord>;
    relay: Map<string, CommandRecord> | null;
  }> {
    const local = new Map<string, CommandRecord>();
    const history = this.history;
    if (!history) return { local, relay: this.link?.isOpen ? local : null };
    const feeds = history.feeds();
    // The usual case: the relay holds every feed in full (what it holds only grows while connected),
    // so it holds the very commands read here: `local` itself, read once.
    const parts = feeds.map((id) => ({ part: "commandHistory" as const, id }));
    const heldInFull = missingOnPeer(this.node, RELAY_PEER_ID, parts).length === 0;
    let relay: Map<string, CommandRecord> | null = !this.link?.isOpen ? null : heldInFull ? local : new Map();
    await inTurns(feeds, FEED_LOADS_AT_ONCE, async (id) => {
      if (this.closed) return;
      const unpin = history.pin(id);
      try {
        if (!(await this.loadFeed(id)) || this.closed) return;
        for (const c of feedCommands(this.node, id)) mergeInto(local, c);
        if (!this.link?.isOpen) relay = null;
        if (relay && relay !== local)
          for (const c of feedCommandsOnPeer(this.node, RELAY_PEER_ID, id)) mergeInto(relay, c);
      } finally {
        unpin();
      }
      this.unloadIdle([id]);
      await yieldToLoop(); // let the link answer its pings in between
    });
    return { local, relay };
  }

  /** Resolves once no delivery pass is running or waiting (each pass loads what listeners lack). */
  async untilDelivered(): Promise<void> {
    for (let pass = this.delivery; ; pass = this.delivery) {
      await pass;
      if (pass === this.delivery && !this.deliveryQueued) return;
    }
  }

  /**
   * How many feeds the command history has, and how many of them are in memory now (the live shard,
   * and any being read). Not part of RemoteSession: for tests and diagnostics.
   */
  historyInMemory(): { feeds: number; loaded: number } {
    const feeds = this.history?.feeds() ?? [];
    return { feeds: feeds.length, loaded: feeds.filter((id) => isAvailable(this.node, id)).length };
  }

  onRecords(listener: (records: RemoteRecord[]) => void): () => void {
    const entry: Listener = { deliver: listener, tracker: null };
    this.listeners.add(entry);
    this.queueDelivery();
    return () => this.listeners.delete(entry);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.disconnectListeners.clear();
    this.offAccount();
    this.offUploads();
    for (const off of [...this.coreSubs.values(), ...this.awaitingAck.values()]) off();
    this.coreSubs.clear();
    this.awaitingAck.clear();
    await this.serial.catch(() => undefined);
    await this.delivery;
    this.disconnect();
    try {
      await this.ctx.logOut();
    } catch (err) {
      this.deps.logger.warn({ err }, "jazz node did not shut down cleanly");
    }
    this.deps.closeStorage();
  }

  private adoptLink(link: RelayLink): void {
    this.link = link;
    link.onClosed((failure) => {
      if (this.link !== link) return;
      this.link = null;
      this.deps.logger.info({ failure: failure.kind }, "relay connection lost");
      for (const listener of [...this.disconnectListeners]) listener(failure);
    });
  }

  /** The account's first root (rootReconcile.ts), attached or not. */
  private canonicalRoot(): string | null {
    return this.ids?.root ?? rootHistory(this.ctx.account.$jazz.raw).canonical;
  }

  /**
   * True once nothing is unsynced and the relay holds every part of the account this node holds
   * (parts that appear meanwhile included); false after `timeoutMs` on the clock.
   */
  private async untilRelayHolds(timeoutMs: number): Promise<boolean> {
    const offs = new Map<string, () => void>();
    let check = (): void => undefined;
    const held = new Promise<boolean>((resolve) => {
      check = () => {
        const { present } = accountParts(this.node, this.accountId, this.canonicalRoot());
        for (const { id } of present)
          if (!offs.has(id)) offs.set(id, onPeerHeldChange(this.node, RELAY_PEER_ID, id, check));
        if (isUploadComplete(this.node) && missingOnPeer(this.node, RELAY_PEER_ID, present).length === 0)
          resolve(true);
      };
      offs.set("upload", onUploadStateChange(this.node, check));
    });
    try {
      return await withDeadline(held, {
        ms: timeoutMs,
        clock: this.deps.relay.clock,
        onTimeout: () => false,
      });
    } finally {
      for (const off of offs.values()) off();
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.serial.then(task, task);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private queueReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    void this.enqueue(async () => {
      this.reconcileQueued = false;
      if (this.closed) return;
      await this.reconcile();
      this.reconcileFailures.recovered();
    }).catch((err: unknown) => this.reconcileFailures.failed({ err }));
  }

  /** Attaches the canonical root, repairs the account's root key, replays stale roots into it. */
  private async reconcile(): Promise<void> {
    const account = this.ctx.account.$jazz.raw;
    const { canonical, stale } = rootHistory(account);
    if (!canonical) return;
    const skipPeer = this.link?.isOpen ? undefined : RELAY_PEER_ID;
    if (this.ids?.root !== canonical) {
      const ids = await loadRoot(this.node, canonical, skipPeer);
      if (!ids || this.closed) return;
      if (this.ids)
        this.deps.logger.warn(
          { from: this.ids.root, to: canonical },
          "switching to the account's first root",
        );
      this.attach(ids);
    }
    if (account.get("root") !== canonical) account.set("root", canonical as never, "trusting");
    for (const staleId of stale) {
      const staleIds = await loadRoot(this.node, staleId, skipPeer);
      if (!staleIds || !this.history) continue;
      if (!(await loadStaleHistory(this.node, staleIds, (id) => this.loadFeed(id)))) continue;
      if (alreadyMerged(this.node, staleIds, canonical)) continue;
      const written = await mergeStaleRoot(this.node, staleIds, this.history, this.deps.relay.clock.now());
      this.deps.logger.info(
        { stale: staleId, canonical, written },
        "replayed a stale root into the account's root",
      );
    }
  }

  private attach(ids: RootIds): void {
    for (const off of this.coreSubs.values()) off();
    this.coreSubs.clear();
    this.ids = ids;
    this.history = new CommandHistory(this.node, ids, (id) => this.loadFeed(id), this.deps.shardEntries);
    for (const id of [ids.root, ids.preferences, ids.entries, ids.devices]) this.watch(id);
    this.queueDelivery();
  }

  /**
   * Loads a feed of the history completely: from storage (a feed unloaded or written here), else
   * from the relay while connected. False when it is not available (or not complete in time).
   */
  private async loadFeed(id: string): Promise<boolean> {
    const skipPeer = this.link?.isOpen ? undefined : RELAY_PEER_ID;
    if (!(await loadCoValue(this.node, id, skipPeer))) return false;
    return withDeadline(
      untilStreamed(this.node, id).then(() => true),
      { ms: FEED_LOAD_TIMEOUT_MS, clock: this.deps.relay.clock, onTimeout: () => false },
    );
  }

  /**
   * Unloads every feed of the history (or of `feeds`) that is in memory, not in use (the live
   * shard, or being read) and read by every listener. A feed cojson refuses to unload (the relay
   * has not acknowledged all of it yet) is tried again when the relay's acknowledgement changes,
   * and when cojson says everything is uploaded. Its subscription is moved to the shell, which
   * hears of the feed coming back.
   */
  private unloadIdle(feeds?: readonly string[]): void {
    const history = this.history;
    if (this.closed || !history || this.deps.mayUnload?.() === false) return;
    const listeners = [...this.listeners];
    for (const id of feeds ?? history.feeds()) {
      if (!isAvailable(this.node, id) || history.isInUse(id)) continue;
      if (!listeners.every((entry) => entry.tracker?.hasRead(id))) continue;
      this.coreSubs.get(id)?.();
      this.coreSubs.delete(id);
      const unloaded = unloadCoValue(this.node, id);
      this.watch(id);
      if (unloaded || this.awaitingAck.has(id) || !this.link?.isOpen) continue;
      const off = onPeerHeldChange(this.node, RELAY_PEER_ID, id, () => {
        off();
        this.awaitingAck.delete(id);
        setImmediate(() => this.unloadIdle([id]));
      });
      this.awaitingAck.set(id, off);
    }
  }

  private watch(id: string): void {
    if (this.coreSubs.has(id)) return;
    this.coreSubs.set(
      id,
      subscribeToCoValue(this.node, id, () => this.queueDelivery()),
    );
  }

  /** Queues one delivery pass after those running (at most one waits). */
  private queueDelivery(): void {
    if (this.deliveryQueued || this.closed) return;
    this.deliveryQueued = true;
    this.delivery = this.delivery
      .then(yieldToLoop)
      .then(() => {
        this.deliveryQueued = false;
        return this.deliverNew();
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, "delivering records failed; will retry"));
  }

  /**
   * Hands every listener what is new since its last delivery: first what is in memory (with
   * preferences and devices), then the feeds of the history some listener has not read, loaded a
   * few at a time and unloaded again.
   */
  private async deliverNew(): Promise<void> {
    await this.untilWritten();
    const ids = this.ids;
    const history = this.history;
    if (this.closed || !ids || !history) return;
    this.watchDevices(ids);
    await this.loadShardLists(history);
    const feeds = history.feeds();
    for (const id of feeds) this.watch(id);
    const entries = [...this.listeners];
    const trackers = entries.map((entry) => {
      if (entry.tracker?.ids.root !== ids.root) entry.tracker = new RecordTracker(this.node, ids);
      return entry.tracker;
    });
    entries.forEach((entry, i) => this.hand(entry, trackers[i]!.collect(feeds)));
    const unread = feeds.filter((id) => trackers.some((t) => !t.hasRead(id)));
    await inTurns(unread, FEED_LOADS_AT_ONCE, async (id) => {
      if (this.closed || this.history !== history) return;
      const unpin = history.pin(id);
      try {
        if (!(await this.loadFeed(id)) || this.closed || this.history !== history) return;
        await this.untilWritten();
        if (this.closed || this.history !== history) return;
        entries.forEach((entry, i) => this.hand(entry, trackers[i]!.collectCommands([id])));
      } finally {
        unpin();
      }
      this.unloadIdle([id]);
    });
    this.unloadIdle(feeds);
  }

  /** Gives `records` to a listener still subscribed, in chunks. */
  private hand(entry: Listener, records: RemoteRecord[]): void {
    for (let i = 0; i < records.length && this.listeners.has(entry); i += DELIVERY_CHUNK) {
      try {
        entry.deliver(records.slice(i, i + DELIVERY_CHUNK));
      } catch (err) {
        this.deps.logger.error({ err }, "onRecords listener threw");
      }
    }
  }

  /** Loads the shard lists that are not in memory (another device's, set since the root loaded). */
  private async loadShardLists(history: CommandHistory): Promise<void> {
    const skipPeer = this.link?.isOpen ? undefined : RELAY_PEER_ID;
    for (const id of history.lists()) {
      if (isAvailable(this.node, id)) continue;
      if (await loadCoValue(this.node, id, skipPeer)) this.watch(id);
    }
    for (const id of history.lists()) this.watch(id);
  }

  /** Subscribes to every DeviceRecord in the list, loading new ones (they may come from the relay). */
  private watchDevices(ids: RootIds): void {
    const list = contentOf<RawCoList>(this.node, ids.devices);
    const mapIds = (list?.asArray() ?? []).filter((id): id is string => typeof id === "string");
    const missing = mapIds.filter((id) => !this.coreSubs.has(id));
    if (missing.length === 0) return;
    for (const id of missing.filter((id) => isAvailable(this.node, id))) this.watch(id);
    const unavailable = missing.filter((id) => !this.coreSubs.has(id));
    if (this.loadingDevices || unavailable.length === 0) return;
    // One load at a time; a device still unavailable (offline) is tried again on the next delivery
    // that follows a change or a reconnect, not in a loop.
    this.loadingDevices = true;
    const skipPeer = this.link?.isOpen ? undefined : RELAY_PEER_ID;
    void loadDeviceMaps(this.node, ids.devices, skipPeer)
      .then(() => {
        this.loadingDevices = false;
        if (unavailable.some((id) => isAvailable(this.node, id))) this.queueDelivery();
      })
      .catch((err: unknown) => {
        this.loadingDevices = false;
        this.deps.logger.warn({ err }, "could not load a device record");
      });
  }
}

/** Runs `work` on every item, at most `atOnce` at a time; resolves when all are done. */
async function inTurns<T>(
  items: readonly T[],
  atOnce: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, worker));
}
