// RemoteSession over one logged-in Jazz node: the relay link, the canonical root, writes, upload
// confirmation and incremental delivery of records. Created by JazzSyncService.open().
import type { LocalNode, RawCoList } from "cojson";
import type { Account, JazzContextWithAccount } from "jazz-tools";
import type { Logger } from "../log/logger.js";
import { withDeadline } from "../sync/deadline.js";
import {
  RemoteConnectError,
  type ConnectFailure,
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
  onPeerHeldChange,
  onUploadStateChange,
  subscribeToCoValue,
} from "./cojsonAdapter.js";
import { openRelayLink, RELAY_PEER_ID, type RelayConnector, type RelayLink } from "./relayLink.js";
import { loadDeviceMaps, loadRoot } from "./rootLoad.js";
import { FeedIndex, RecordTracker, type RootIds } from "./rootRecords.js";
import { alreadyMerged, mergeStaleRoot, rootHistory } from "./rootReconcile.js";
import { writeRecords, yieldToLoop } from "./rootWriter.js";

/** Records per onRecords call. */
const DELIVERY_CHUNK = 5000;

type Listener = { deliver: (records: RemoteRecord[]) => void; tracker: RecordTracker | null };

export class JazzSession implements RemoteSession {
  readonly accountId: string;
  private readonly node: LocalNode;
  private link: RelayLink | null;
  private connecting: Promise<void> | null = null;
  private ids: RootIds | null = null;
  private index: FeedIndex | null = null;
  private closed = false;
  private serial: Promise<unknown> = Promise.resolve();
  private reconcileQueued = false;
  private deliveryQueued = false;
  private readonly disconnectListeners = new Set<(failure: ConnectFailure) => void>();
  private readonly listeners = new Set<Listener>();
  private readonly coreSubs = new Map<string, () => void>();
  private loadingDevices = false;
  private readonly offAccount: () => void;

  constructor(
    private readonly ctx: JazzContextWithAccount<Account>,
    private readonly deps: {
      relay: RelayConnector;
      logger: Logger;
      closeStorage: () => void;
      link: RelayLink | null;
    },
  ) {
    this.node = ctx.node;
    this.accountId = ctx.account.$jazz.id;
    this.link = null;
    if (deps.link) this.adoptLink(deps.link);
    this.offAccount = subscribeToCoValue(this.node, this.accountId, () => this.queueReconcile());
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
      if (!this.ids || !this.index) throw new Error("sync root not loaded yet; keep the records queued");
      await writeRecords(this.node, this.ids, this.index, records, this.deps.relay.clock.now());
    });
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

  async inventory({ timeoutMs }: { timeoutMs: number }): Promise<RemoteInventory> {
    if (this.closed) throw new Error("session is closed");
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
    const feed = present.find((p) => p.part === "commandHistory")?.id;
    const local = { missing, commands: feed ? feedCommands(this.node, feed) : [] };
    await yieldToLoop(); // ~0.5 s at 100k each: let the link answer its pings in between
    if (!this.link?.isOpen) return { local, relay: null };
    const relay = {
      missing: [...missing, ...missingOnPeer(this.node, RELAY_PEER_ID, present)],
      commands: feed ? feedCommandsOnPeer(this.node, RELAY_PEER_ID, feed) : [],
    };
    return { local, relay };
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
    for (const off of this.coreSubs.values()) off();
    this.coreSubs.clear();
    await this.serial.catch(() => undefined);
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
      if (!this.closed) await this.reconcile();
    }).catch((err: unknown) => this.deps.logger.warn({ err }, "root reconciliation failed; will retry"));
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
      if (!staleIds || !this.ids || !this.index || alreadyMerged(this.node, staleIds, canonical)) continue;
      const into = { ids: this.ids, index: this.index };
      const written = await mergeStaleRoot(this.node, staleIds, into, this.deps.relay.clock.now());
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
    this.index = new FeedIndex(this.node, ids.feed);
    for (const id of [ids.root, ids.feed, ids.preferences, ids.entries, ids.devices]) this.watch(id);
    this.queueDelivery();
  }

  private watch(id: string): void {
    if (this.coreSubs.has(id)) return;
    this.coreSubs.set(
      id,
      subscribeToCoValue(this.node, id, () => this.queueDelivery()),
    );
  }

  private queueDelivery(): void {
    if (this.deliveryQueued || this.closed) return;
    this.deliveryQueued = true;
    setImmediate(() => {
      this.deliveryQueued = false;
      this.deliverNew();
    });
  }

  /** Hands every listener what is new since its last delivery. */
  private deliverNew(): void {
    const ids = this.ids;
    if (this.closed || !ids) return;
    this.watchDevices(ids);
    for (const entry of this.listeners) {
      if (entry.tracker?.ids.root !== ids.root) entry.tracker = new RecordTracker(this.node, ids);
      const records = entry.tracker.collect();
      for (let i = 0; i < records.length && this.listeners.has(entry); i += DELIVERY_CHUNK) {
        try {
          entry.deliver(records.slice(i, i + DELIVERY_CHUNK));
        } catch (err) {
          this.deps.logger.error({ err }, "onRecords listener threw");
        }
      }
    }
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
