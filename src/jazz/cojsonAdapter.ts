// The one file that reaches below cojson's documented API. Everything else in caro-sync uses
// jazz-tools, cojson's public raw CoValue methods (get, set, assign, append, asArray, createMap),
// LocalNode and cojson-transport-ws; whatever the daemon needs beyond that is one named function
// here, with one regression test in test/jazz/cojsonAdapter.test.ts. A cojson upgrade that changes
// one of these internals therefore breaks here, and its test says which. Pinned to cojson 0.20.19.
//
// The lint rule `caro/cojson-internals` (eslint.config.js) keeps every other file from importing
// `cojsonInternals` or touching these members (`.core`, `.ops`, `.items`, `.syncManager`, ...),
// and from running SQL on cojson's own storage tables.
//
// Functions return our own shapes (MapEdit, FeedItem) rather than cojson's, so that callers do not
// depend on the internal layout either.
import {
  cojsonInternals,
  type AgentSecret,
  type CryptoProvider,
  type JsonValue,
  type LocalNode,
  type Peer,
  type RawCoID,
  type RawCoMap,
  type RawCoStream,
} from "cojson";

// --- cojsonInternals ----------------------------------------------------------------------------

/**
 * The ID of the account whose initial agent is `agentSecret`: the ID of the account header that
 * secret implies, as Jazz's passphrase auth derives it. Deterministic; depends on nothing else.
 */
export function accountIdForAgentSecret(agentSecret: AgentSecret, crypto: CryptoProvider): string {
  const header = cojsonInternals.accountHeaderForInitialAgentSecret(agentSecret, crypto);
  return cojsonInternals.idforHeader(header, crypto);
}

/**
 * How long a load waits for a peer's answer before it counts as unavailable. Process-wide in
 * cojson (its default, 60 s, makes a dead relay look like a hang).
 */
export function setLoadTimeout(ms: number): void {
  cojsonInternals.setCoValueLoadingTimeout(ms);
}

/** The current load timeout (to check that setLoadTimeout took effect). */
export function loadTimeout(): number {
  return cojsonInternals.CO_VALUE_LOADING_CONFIG.TIMEOUT;
}

// --- LocalNode.clockOffset ---------------------------------------------------------------------

/**
 * Makes the node date its transactions (`madeAt`) by the relay's clock when the relay's is ahead of
 * this machine's. Why: cojson checks a transaction's writer against the group as it was at the
 * transaction's `madeAt`, so a device whose clock runs behind the account's creation writes
 * transactions every other device rejects, for good. Every relay ping carries the relay's time;
 * cojson's ClockOffset keeps the median offset of the last 32 (up to ±24 h). Only a relay ahead
 * moves the stamps, and they never go back: a relay behind, or an offset that shrinks, would date
 * a write before what this node wrote just earlier (its own account's creation, say), which is
 * the same rejection. (cojson's `experimental_clockSyncFromServerPings` adds the offset either
 * way, so it is not used.)
 */
export function followRelayClock(node: LocalNode): void {
  let last = 0;
  node.stampNow = () => {
    last = Math.max(last, Date.now() + Math.max(0, node.clockOffset.currentOffset()));
    return last;
  };
}

/** One relay ping's time, as cojson-transport-ws's `onPingReceived` reports it. */
export interface ClockSample {
  serverTime: number;
  localReceiveTime: number;
}

/** Adds a relay ping to the node's clock offset (it moves the stamps after followRelayClock). */
export function addClockSample(node: LocalNode, sample: ClockSample): void {
  node.clockOffset.addSample(sample);
}

/** The time the node stamps on its next transaction (`madeAt`). */
export function transactionTime(node: LocalNode): number {
  return node.stampNow();
}

// --- LocalNode.syncManager ----------------------------------------------------------------------

/**
 * Makes `peer` (a cojson-transport-ws peer) a sync peer of the node, starting from nothing known
 * about what it holds. cojson keeps a persistent peer's known states across reconnects (same peer
 * ID) and only ever raises them, so a relay that came back without its data (restarted in memory,
 * database lost) would be believed to hold everything and never get it again. Forgetting the old
 * state first makes cojson's reconnect reconciliation compare this connection's answers with what
 * the node holds and send whatever the peer lacks.
 */
export function addSyncPeer(node: LocalNode, peer: Peer): void {
  node.syncManager.removePeer(peer.id);
  node.syncManager.addPeer(peer);
}

/** Which transactions of a CoValue a node holds: whether it has the header, and per session how many. */
export interface HeldState {
  header: boolean;
  sessions: Readonly<Record<string, number>>;
}

/** What this node holds of the CoValue (nothing when it is not loaded). */
export function heldLocally(node: LocalNode, id: string): HeldState {
  const known = node.getCoValue(id as RawCoID).knownState();
  return { header: known.header, sessions: known.sessions };
}

/**
 * What `peerId` said it holds of the CoValue on its current connection (its answers and
 * acknowledgements since addSyncPeer or askPeerAgain), or undefined when it has said nothing about
 * it or is not connected.
 */
export function heldByPeer(node: LocalNode, peerId: string, id: string): HeldState | undefined {
  const peer = node.syncManager.peers[peerId];
  if (!peer || peer.closed) return undefined;
  const known = peer.getKnownState(id as RawCoID);
  return known && { header: known.header, sessions: known.sessions };
}

/**
 * Asks the peer again what it holds of each CoValue (held here: loaded, or unloaded by
 * unloadCoValue), forgetting what it said before: cojson sends a `load` with this node's state, the
 * peer answers with its own, and cojson then sends whatever the peer lacks (loading an unloaded
 * CoValue from storage first). Until the answer, heldByPeer reads as holding nothing.
 */
export function askPeerAgain(node: LocalNode, peerId: string, ids: readonly string[]): void {
  const peer = node.syncManager.peers[peerId];
  if (!peer || peer.closed) return;
  for (const id of ids) {
    const core = node.getCoValue(id as RawCoID);
    if (!core.isKnownStateAvailable()) continue;
    peer.setKnownState(id as RawCoID, "empty");
    peer.sendLoadRequest(core, "low-priority");
  }
}

/** Calls `listener` whenever what the peer is known to hold of the CoValue changes. Returns off(). */
export function onPeerHeldChange(
  node: LocalNode,
  peerId: string,
  id: string,
  listener: () => void,
): () => void {
  return node.syncManager.syncState.subscribeToPeerUpdates(peerId, id as RawCoID, () => listener());
}

/**
 * True when no CoValue has changes a peer has not acknowledged (cojson's unsynced tracker). The
 * tracker learns of a local write one tick after it: yield to the event loop before asking.
 */
export function isUploadComplete(node: LocalNode): boolean {
  return node.syncManager.unsyncedTracker.isAllSynced();
}

/** Calls `listener` whenever "everything uploaded" changes (and once at once). Returns off(). */
export function onUploadStateChange(node: LocalNode, listener: (allUploaded: boolean) => void): () => void {
  return node.syncManager.unsyncedTracker.subscribe(listener);
}

// --- The raw core (CoValueCore) -----------------------------------------------------------------

/**
 * Loads a CoValue from storage and peers; true when it is available afterwards. With
 * `skipPeer`, that peer is not asked and not retried (the relay link is down, and asking a closed
 * peer would wait out the load timeout).
 */
export async function loadCoValue(node: LocalNode, id: string, skipPeer?: string): Promise<boolean> {
  const core = await node.loadCoValueCore(id as RawCoID, skipPeer, skipPeer !== undefined);
  return core.isAvailable();
}

/**
 * Resolves once the CoValue is available with everything its source (storage or a peer) announced:
 * a large CoValue is available after its first chunk and streams the rest. Never rejects, and waits
 * as long as it takes (a peer gone mid-stream): bound it.
 */
export async function untilStreamed(node: LocalNode, id: string): Promise<void> {
  await node.getCoValue(id as RawCoID).waitForFullStreaming();
}

/** True when the CoValue's content is in memory (loaded, or written here). */
export function isAvailable(node: LocalNode, id: string): boolean {
  return node.getCoValue(id as RawCoID).isAvailable();
}

/** The current content of a CoValue, or undefined when it is not (yet) available here. */
export function contentOf<T>(node: LocalNode, id: string): T | undefined {
  const core = node.getCoValue(id as RawCoID);
  return core.isAvailable() ? (core.getCurrentContent() as T) : undefined;
}

/**
 * Drops the CoValue's content from memory (cojson's unmount), keeping a shell that knows what this
 * node holds of it: peers are asked about it on reconnect, and anything a peer sends for it, or a
 * later load, brings it back from storage. Refused (false) while the CoValue has listeners
 * (subscribeToCoValue), while it is still arriving (untilStreamed), while a loaded CoValue depends
 * on it (a group its parts need), while a server peer has not acknowledged all of it, when it has
 * no transactions (nothing to gain, and cojson would not re-offer it), or when the node has no
 * storage.
 */
export function unloadCoValue(node: LocalNode, id: string): boolean {
  // Without storage cojson would leave an empty shell: the content would be gone, not unloaded.
  const core = node.getCoValue(id as RawCoID);
  // Not mid-stream either: cojson drops the chunks that arrive for an unloaded CoValue. Nor one
  // without transactions: cojson counts its shell as synced with a peer lacking even its header,
  // and would never send that peer the header again (a relay restarted empty).
  if (!node.storage || !core.isAvailable() || core.isStreaming()) return false;
  if (Object.keys(core.knownState().sessions).length === 0 || !core.unmount()) return false;
  return node.getCoValue(id as RawCoID).loadingState === "garbageCollected";
}

/** True when the CoValue is loaded, or was unloaded (unloadCoValue) and can be loaded from storage. */
export function isHeldHere(node: LocalNode, id: string): boolean {
  return node.getCoValue(id as RawCoID).isKnownStateAvailable();
}

/** Calls `listener` after every change of the CoValue (not at once). Returns off(). */
export function subscribeToCoValue(node: LocalNode, id: string, listener: () => void): () => void {
  return node.getCoValue(id as RawCoID).subscribe(() => listener(), false);
}

/** `madeAt` of the CoValue's latest transaction, 0 when it has none (or is not available). */
export function lastTransactionAt(node: LocalNode, id: string): number {
  return node.getCoValue(id as RawCoID).latestTxMadeAt;
}

/**
 * Appends many items to a feed in ONE private transaction: each item becomes its own feed item
 * for every reader, exactly as if pushed one by one (jazz-tools' `push` makes one transaction per
 * item, which cannot carry 100k entries). Skips jazz-tools' schema validation: validate first.
 * Returns false when cojson refuses the transaction.
 */
export function appendFeedItems(feed: RawCoStream, items: JsonValue[]): boolean {
  return feed.core.makeTransaction(items, "private");
}

// --- RawCoMap.ops -------------------------------------------------------------------------------

/** One edit of a map key: a set (value) or a delete (`deleted`, no value). */
export interface MapEdit {
  value: JsonValue | undefined;
  deleted: boolean;
  madeAt: number;
  /** The transaction that made it: session, then index within the session. */
  sessionID: string;
  txIndex: number;
}

type RawMapOp = NonNullable<RawCoMap["ops"][string]>[number];

function toEdit(op: RawMapOp): MapEdit {
  const deleted = op.change.op === "del";
  return {
    value: op.change.op === "set" ? op.change.value : undefined,
    deleted,
    madeAt: op.madeAt,
    sessionID: op.txID.sessionID,
    txIndex: op.txID.txIndex,
  };
}

/** Every edit of `key` that this node knows, from every session (not only the LWW winner). */
export function editsOf(map: RawCoMap, key: string): MapEdit[] {
  return (map.ops[key] ?? []).map(toEdit);
}

/** Every edit of every key, by key. */
export function editsByKey(map: RawCoMap): Map<string, MapEdit[]> {
  const out = new Map<string, MapEdit[]>();
  for (const [key, ops] of Object.entries(map.ops)) out.set(key, (ops ?? []).map(toEdit));
  return out;
}

/** The edit that decides `key`'s current value (cojson's LWW winner), or undefined. */
export function latestEdit(map: RawCoMap, key: string): MapEdit | undefined {
  const op = map.getRaw(key);
  return op ? toEdit(op) : undefined;
}

// --- RawCoStream.items --------------------------------------------------------------------------

/** A feed item as cojson keeps it; arrays and items keep their identity between calls. */
export interface FeedItem {
  readonly value: JsonValue;
  readonly madeAt: number;
  /** The transaction that carried it (items of one transaction share it). */
  readonly tx: { readonly sessionID: string; readonly txIndex: number };
}

/**
 * The feed's per-session logs, each in the session's order. The arrays are cojson's own (no copy,
 * which matters at 100k items): never modify them.
 */
export function feedSessionLogs(feed: RawCoStream): [session: string, items: readonly FeedItem[]][] {
  return Object.entries(feed.items);
}

// --- SQL on cojson's storage tables -------------------------------------------------------------

/** What these reads need of a database: our BetterSqliteDriver, or a read-only wrapper. */
export interface SqlReader {
  get<T>(sql: string, params: unknown[]): T | undefined;
  query<T>(sql: string, params: unknown[]): T[];
}

/** True when cojson's storage holds the CoValue (its header, at least). */
export function storageHasCoValue(db: SqlReader, id: string): boolean {
  return db.get<{ found: number }>("SELECT 1 AS found FROM coValues WHERE id = ?", [id]) !== undefined;
}

/**
 * For every stored (CoValue, session), keyed "<CoValue ID> <session ID>": how many of the
 * session's transactions are stored (cojson's `lastIdx` column counts them).
 */
export function storedSessionHeads(db: SqlReader): Map<string, number> {
  type Row = { id: string; sessionID: string; lastIdx: number };
  const rows = db.query<Row>(
    "SELECT c.id AS id, s.sessionID AS sessionID, s.lastIdx AS lastIdx FROM sessions s JOIN coValues c ON c.rowID = s.coValue",
    [],
  );
  return new Map(rows.map((r) => [`${r.id} ${r.sessionID}`, r.lastIdx]));
}
