// The parts a SyncManager runs on, built and wired in one place: the identity, sync progress, the
// Remote link, the entry operations and the relay connection (which runs the connection machine).
// The only wiring is three subscriptions: local changes and records from the relay land in the
// cache (notify, evict, upload), and confirmations mark the last sync.
import type { Config } from "../config/schema.js";
import type { Logger } from "../log/logger.js";
import { TIMEOUTS, type VerifyResult } from "../protocol.js";
import type { Clock } from "./clock.js";
import { CurrentIdentity, type CredentialStore } from "./credentials.js";
import { Emitter, type SyncEvents } from "./events.js";
import { localDeriveIdentity, type DeriveIdentity } from "./identity.js";
import type { LocalCache } from "./localCache.js";
import { IntegrityMonitor } from "./integrity.js";
import { EntryOperations } from "./operations.js";
import { SyncProgress } from "./progress.js";
import { TokenBucket } from "./rateLimit.js";
import { RelayConnection } from "./relayConnection.js";
import { RelayRecordMerger } from "./relayRecords.js";
import type { Remote, RemoteRecord } from "./remote.js";
import { RemoteLink } from "./remoteLink.js";
import { StorageFaultError } from "./storageFault.js";
import { SyncTimers } from "./timers.js";
import { verifyAccount } from "./verify.js";

export interface SyncManagerDeps {
  cache: LocalCache;
  credentials: CredentialStore;
  remote: Remote | null;
  clock: Clock;
  logger: Logger;
  config: Pick<
    Config,
    "relay" | "cacheMaxSize" | "offlineQueueTtlMs" | "pushRatePerSecond" | "pushBurst" | "syncIntervalMs"
  >;
  /** Identity derivation when there is no Remote (default: localDeriveIdentity). */
  deriveIdentity?: DeriveIdentity;
  /** How long `sync.push {ack: "relay"}` and one upload wait for the relay (default 55 s). */
  pushTimeoutMs?: number;
  /**
   * Connect by itself when a connection is wanted (start-up, init, resume). Default true. Unit tests
   * of the Remote contract turn it off and call connect(); retries after a failure or a drop follow
   * the policy either way.
   */
  autoConnect?: boolean;
  /** Jitter source in [0, 1) for the probe interval; tests pass a constant. */
  random?: () => number;
}

/**
 * Default wait of `ack: "relay"`: the answer listing unconfirmed entries (-32003) must reach the
 * client before its own push timeout (TIMEOUTS.push, 60 s, docs/protocol.md) gives up on the call, or the
 * client sees a timeout instead of the answer. 5 s covers storing a full request first.
 */
export const RELAY_ACK_WAIT_MS = TIMEOUTS.push - 5_000;

export interface SyncParts {
  readonly deps: SyncManagerDeps;
  readonly emitter: Emitter<SyncEvents>;
  readonly identity: CurrentIdentity;
  readonly progress: SyncProgress;
  readonly link: RemoteLink;
  readonly ops: EntryOperations;
  readonly relay: RelayConnection;
  /** The completeness check after every connection (health's `integrity`). */
  readonly integrity: IntegrityMonitor;
  /** sync.verify (verify.ts) over this manager's cache and session. */
  readonly verify: (opts: { repair: boolean; waitMs: number }) => Promise<VerifyResult>;
  /** The Remote's derivation, else the injected one, else the local placeholder. */
  readonly derive: DeriveIdentity;
}

export function buildSyncParts(deps: SyncManagerDeps): SyncParts {
  const { cache, clock, logger, config, remote } = deps;
  const pushTimeoutMs = deps.pushTimeoutMs ?? RELAY_ACK_WAIT_MS;
  const emitter = new Emitter<SyncEvents>((err) => logger.error({ err }, "sync event listener failed"));
  const identity = new CurrentIdentity(deps.credentials);
  const progress = new SyncProgress(cache, clock);
  const link = new RemoteLink({ remote, cache, clock, logger, uploadTimeoutMs: pushTimeoutMs });

  /** Best effort: on a disk that refuses the write it runs again after the next change. */
  const evictIfNeeded = (): void => {
    let evicted: number;
    try {
      evicted = cache.enforceMaxSize(config.cacheMaxSize);
    } catch (err) {
      if (!(err instanceof StorageFaultError)) throw err;
      logger.warn({ err }, "eviction over cacheMaxSize postponed: the cache cannot be written");
      return;
    }
    if (evicted > 0) logger.info({ count: evicted }, "evicted confirmed entries over cacheMaxSize");
  };
  const merger = new RelayRecordMerger({ cache, now: () => clock.now(), logger });
  const merged = ({ changed, lastCursor }: { changed: number; lastCursor: number | null }): number => {
    if (changed > 0 && lastCursor !== null) landed(changed, lastCursor, "relay");
    return changed;
  };
  /** `count` entries changed in the cache, the newest at `cursor`: notify, evict, upload. */
  const landed = (count: number, cursor: number, from: "local" | "relay"): void => {
    if (from === "relay") progress.notePulled(count);
    emitter.emit("entries", { count, cursor });
    evictIfNeeded();
    if (from !== "local") return;
    // After this turn: the client's acknowledgement is written first, then Jazz signs and sends.
    setImmediate(() => {
      if (relay.isOnline) void relay.syncRound();
    });
    // A local write succeeded: relay records held while the disk was full can land now.
    void merged(merger.retry());
  };

  const ops = new EntryOperations({
    cache,
    clock,
    logger,
    bucket: new TokenBucket({ ratePerSecond: config.pushRatePerSecond, burst: config.pushBurst, clock }),
    link,
    pushTimeoutMs,
    onLocalChange: (count, cursor) => landed(count, cursor, "local"),
  });
  const retry = { syncIntervalMs: config.syncIntervalMs, random: deps.random };
  /** Records from the relay (or from Jazz's storage, by sync.verify's repair) into the cache. */
  const fromRemote = (records: RemoteRecord[]): number => merged(merger.merge(records));
  const verify = (opts: { repair: boolean; waitMs: number }): Promise<VerifyResult> =>
    verifyAccount(
      {
        inventory: (ms) => link.inventory(ms),
        untilDelivered: () => link.untilDelivered(),
        cache,
        clock,
        logger,
        download: fromRemote,
        upload: (): Promise<unknown> => relay.syncRound(),
      },
      opts,
    );
  const integrity: IntegrityMonitor = new IntegrityMonitor({
    // In the background, with repair, waiting as long as an upload may.
    verify: () => (link.hasSession ? verify({ repair: true, waitMs: pushTimeoutMs }) : Promise.resolve(null)),
    holdings: () => link.holdings(pushTimeoutMs),
    connected: () => link.connected,
    clock,
    logger,
    retry,
    // Writes refused while the root was incomplete are still queued: upload them now.
    onCompleted: () => void relay.syncRound(),
  });
  const relay: RelayConnection = new RelayConnection({
    link,
    cache,
    identity,
    progress,
    ops,
    timers: new SyncTimers(clock, logger),
    integrity,
    emitter,
    clock,
    logger,
    retry,
    autoConnect: deps.autoConnect ?? true,
    offlineQueueTtlMs: config.offlineQueueTtlMs,
  });
  link.onRecords((records) => void fromRemote(records));
  link.onConfirmed(() => {
    progress.markSynced();
    evictIfNeeded();
  });
  const derive = remote
    ? (key: Uint8Array) => remote.deriveIdentity(key)
    : (deps.deriveIdentity ?? localDeriveIdentity);
  return { deps, emitter, identity, progress, link, ops, relay, integrity, verify, derive };
}
