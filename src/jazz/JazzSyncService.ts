// JazzSyncService: the Remote that sync/ uses, implemented with jazz-tools/cojson and a relay.
//
// open() never creates an account that may exist: it logs in from local storage when the account
// is there; otherwise (or when the local copy lacks a part the login needs) it asks the relay (a
// throw-away node loads the account ID: ~15 ms), and creates only when the relay says the account
// is unknown and nothing of it is here, or, in "create" mode, when the relay cannot be reached
// (the root reconciliation in JazzSession then merges with any root the relay turns out to have).
// An account held only in part, here and on the relay, is `accountIncomplete`. Timing: docs/jazz.md.
import { rm } from "node:fs/promises";
import { LocalNode, type AgentSecret, type Peer, type StorageAPI } from "cojson";
import {
  createJazzContextForNewAccount,
  createJazzContextFromExistingCredentials,
  MockSessionProvider,
  setDefaultValidationMode,
  type Account,
  type JazzContextWithAccount,
} from "jazz-tools";
import type { WriteHealth } from "../fs/writeHealth.js";
import type { Logger } from "../log/logger.js";
import { systemClock, type Clock } from "../sync/clock.js";
import { RemoteConnectError, type ConnectFailure, type Remote, type RemoteIdentity } from "../sync/remote.js";
import type { StorageFault } from "../sync/storageFault.js";
import { deriveIdentity } from "./account.js";
import {
  addClockSample,
  addSyncPeer,
  followRelayClock,
  setLoadTimeout,
  storageHasCoValue,
  type ClockSample,
} from "./cojsonAdapter.js";
import { routeCojsonLogs } from "./cojsonLog.js";
import { jazzCrypto, logJazzCrypto } from "./crypto.js";
import { JazzSession } from "./JazzSession.js";
import {
  openRelayLink,
  type RelayConnector,
  type RelayLink,
  type WebSocketConstructor,
} from "./relayLink.js";
import { createRoot } from "./rootLoad.js";
import { CaroSyncAccount } from "./schema.js";
import { openJazzStorage } from "./sqliteDriver.js";
import { jazzStorageHealth } from "./storageHealth.js";
import { DAEMON_PAGE_CACHE_KIB } from "../runtime/sqliteMemory.js";

export interface JazzSyncServiceOptions {
  relayUrl: string;
  /** Jazz's own SQLite file (not the daemon's cache): lets a restart read everything offline. */
  storagePath: string;
  logger: Logger;
  /** The `ws` package's WebSocket (Node 20 has no global one). */
  WebSocket: WebSocketConstructor;
  clock?: Clock;
  /** Bound on one connection attempt (upgrade + first relay message). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * How long cojson waits for a peer to answer a load (process-wide cojson setting; its default
   * is 60 s, which makes a dead relay look like a hang). Default 10 s.
   */
  loadTimeoutMs?: number;
  /** How often latency is measured while connected. Default 10 s. */
  latencyIntervalMs?: number;
  /** Silence after which a link counts as dropped (`timeout`). Default 10 s, as Jazz's own. */
  pingTimeoutMs?: number;
  /** Items per shard of the command history (default SHARD_ENTRIES, 5,000; tests use fewer). */
  shardEntries?: number;
  /** The storage file's write health, when the caller reports it before this service exists. */
  storageHealth?: WriteHealth;
}

const PROFILE_NAME = "caro-sync";

export class JazzSyncService implements Remote {
  private readonly relay: RelayConnector;
  private readonly storageHealth: WriteHealth;

  constructor(private readonly opts: JazzSyncServiceOptions) {
    this.storageHealth = opts.storageHealth ?? jazzStorageHealth(opts.storagePath, opts.logger);
    this.relay = {
      url: opts.relayUrl,
      WebSocket: opts.WebSocket,
      clock: opts.clock ?? systemClock,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      latencyIntervalMs: opts.latencyIntervalMs ?? 10_000,
      pingTimeoutMs: opts.pingTimeoutMs ?? 10_000,
    };
    // Process-wide settings of cojson/jazz-tools; the daemon runs one service per process.
    routeCojsonLogs(opts.logger);
    logJazzCrypto(opts.logger);
    setLoadTimeout(opts.loadTimeoutMs ?? 10_000);
    setDefaultValidationMode("strict");
  }

  async forgetLocalData(): Promise<void> {
    // SQLite's WAL and shared-memory files go with the database.
    for (const suffix of ["", "-wal", "-shm"]) await rm(`${this.opts.storagePath}${suffix}`, { force: true });
  }

  storageFault(): StorageFault | null {
    return this.storageHealth.probe();
  }

  deriveIdentity(authKey: Uint8Array): RemoteIdentity {
    return deriveIdentity(authKey);
  }

  async open({
    identity,
    mode,
  }: {
    identity: RemoteIdentity;
    mode: "create" | "join";
  }): Promise<JazzSession> {
    const log = this.opts.logger.child({ accountId: identity.accountId });
    const started = performance.now();
    const { storage, driver } = openJazzStorage(this.opts.storagePath, {
      health: this.storageHealth,
      pageCacheKiB: DAEMON_PAGE_CACHE_KIB,
    });
    let link: RelayLink | null = null;
    let ctx: JazzContextWithAccount<Account> | null = null;
    try {
      const peers: Peer[] = [];
      // The relay's pings set the node's clock (followRelayClock). The relay pings as soon as it
      // accepts, before there is a node: those samples wait for it, so that the node's first
      // transaction (the device record, uploaded right after connecting) is dated by the relay.
      let node: LocalNode | null = null;
      const early: ClockSample[] = [];
      const onPing = (sample: ClockSample) => (node ? addClockSample(node, sample) : early.push(sample));
      const connect = async () =>
        (link = await openRelayLink(this.relay, (peer) => peers.push(peer), undefined, onPing));
      let how: "local" | "relay" | "created" | "created offline" | undefined;
      const heldHere = storageHasCoValue(driver, identity.accountId);
      if (heldHere) {
        try {
          ctx = await this.login(identity, storage, peers);
          how = "local";
        } catch (err) {
          // Part of the account never reached this device (it joined while the relay held only
          // part of it): the relay may have the rest by now.
          log.warn({ err }, "the account is incomplete in local storage; asking the relay");
        }
      }
      if (!ctx) {
        const found = await this.probe(identity.accountId);
        if (typeof found === "object") {
          if (mode === "join" || heldHere) throw new RemoteConnectError(found);
          how = "created offline";
          ctx = await this.create(identity, storage, peers);
        } else if (found === "exists") {
          how = "relay";
          await connect();
          ctx = await this.loginFromRelay(identity, storage, peers);
        } else if (heldHere) {
          // Here in part, not on the relay at all: only a device holding the rest can restore it.
          throw new RemoteConnectError({
            kind: "accountIncomplete",
            message: "the account is incomplete here and the relay does not hold it",
          });
        } else if (mode === "create") {
          how = "created";
          await connect();
          ctx = await this.create(identity, storage, peers);
        } else {
          const message = "the relay has no account for these credentials (run init on the first device)";
          throw new RemoteConnectError({ kind: "accountNotFound", message });
        }
      }
      node = ctx.node;
      followRelayClock(node);
      for (const sample of early.splice(0)) addClockSample(node, sample);
      const session = new JazzSession(ctx, {
        relay: this.relay,
        logger: log,
        closeStorage: () => driver.closeDb(),
        link,
        shardEntries: this.opts.shardEntries,
        // A write Jazz's storage missed may be in memory only (it is stored with the CoValue's next
        // change): once one has failed in this process, sessions stop unloading feeds.
        mayUnload: () => !this.storageHealth.hasFaulted,
      });
      await session.start();
      log.info(
        { how, rootId: session.syncRootId(), ms: Math.round(performance.now() - started) },
        "jazz account open",
      );
      return session;
    } catch (err) {
      (link as RelayLink | null)?.close();
      if (ctx) await ctx.logOut().catch(() => undefined);
      driver.closeDb();
      throw err;
    }
  }

  /**
   * Logs in with the relay as a peer, after it said the account exists. A login that still fails
   * means the relay holds only part of the account (jazz-tools needs the account and its profile):
   * `accountIncomplete`, probed until a device that holds the rest uploads it.
   */
  private async loginFromRelay(identity: RemoteIdentity, storage: StorageAPI, peers: Peer[]) {
    try {
      return await this.login(identity, storage, peers);
    } catch (err) {
      this.opts.logger.warn({ err, accountId: identity.accountId }, "logging in from the relay failed");
      throw new RemoteConnectError({
        kind: "accountIncomplete",
        message: "the relay holds only part of the account (its profile or the account itself is missing)",
      });
    }
  }

  private login(identity: RemoteIdentity, storage: StorageAPI, peers: Peer[]) {
    return createJazzContextFromExistingCredentials({
      credentials: { accountID: identity.accountId, secret: identity.agentSecret as AgentSecret },
      peers,
      crypto: jazzCrypto,
      storage,
      AccountSchema: CaroSyncAccount,
      sessionProvider: new MockSessionProvider(),
      asActiveAccount: false,
    }) as Promise<JazzContextWithAccount<Account>>;
  }

  /** Creates the account and its root. Only reached when no account can exist locally or remotely. */
  private async create(identity: RemoteIdentity, storage: StorageAPI, peers: Peer[]) {
    const ctx = (await createJazzContextForNewAccount({
      creationProps: { name: PROFILE_NAME },
      initialAgentSecret: identity.agentSecret as AgentSecret,
      peers,
      crypto: jazzCrypto,
      storage,
      AccountSchema: CaroSyncAccount,
      sessionProvider: new MockSessionProvider(),
    })) as JazzContextWithAccount<Account>;
    if (ctx.account.$jazz.id !== identity.accountId) {
      await ctx.logOut();
      throw new Error("created account ID differs from the derived one");
    }
    createRoot(ctx.account, this.relay.clock.now());
    return ctx;
  }

  /**
   * Asks the relay whether the account exists, with a throw-away node of a random agent (it learns
   * nothing it could not learn from the ID). Returns the classified failure when unreachable.
   */
  private async probe(accountId: string): Promise<"exists" | "missing" | ConnectFailure> {
    const secret = jazzCrypto.newRandomAgentSecret();
    const node = new LocalNode(
      secret,
      jazzCrypto.newRandomSessionID(jazzCrypto.getAgentID(secret)),
      jazzCrypto,
    );
    let link: RelayLink | null = null;
    try {
      link = await openRelayLink(this.relay, (peer) => addSyncPeer(node, peer));
      const found = await node.load(accountId as never, true);
      if (!link.isOpen)
        return { kind: "network", message: "relay connection dropped while checking the account" };
      return found === "unavailable" ? "missing" : "exists";
    } catch (err) {
      if (err instanceof RemoteConnectError) return err.failure;
      throw err;
    } finally {
      link?.close();
      await node.gracefulShutdown();
    }
  }
}
