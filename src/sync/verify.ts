// sync.verify: is everything everywhere? Compares the commands of the three places this device
// knows of (the cache, Jazz's local storage, and the relay as it answered just now:
// RemoteSession.inventory) per device, by count and digest (digest.ts), lists what each place lacks
// of what another holds, and the parts of the account missing in Jazz's storage or on the relay.
// With `repair` it downloads into the cache what Jazz holds and the cache lacks, queues again for
// Jazz and the relay what only the cache holds, lets the relay be sent what it lacks (the
// inventory does that), then reports the state after it.
//
// A command counts as missing in a place when another holds it and this one does not (`absent`),
// or holds it in an older state than the join of all versions (`behind`). Commands still queued
// for the relay are on their way: never missing in Jazz or on the relay. The relay's commands are
// those of the Jazz transactions it holds, so it is never ahead of Jazz's storage here: what it
// holds that this device does not have yet arrives by itself.
import type { Logger } from "../log/logger.js";
import type { VerifyResult } from "../protocol.js";
import type { Clock } from "./clock.js";
import { fingerprint, summaries, summarize, type CommandRecord } from "./digest.js";
import type { PlacedPart } from "./integrity.js";
import type { LocalCache } from "./localCache.js";
import { joinCommand } from "./merge.js";
import type { RemoteInventory } from "./remote.js";

/** Ids named per place and device; the rest are counted. */
const MAX_IDS = 20;
const QUEUE_PAGE = 1000;

/** One turn of the event loop. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

type Place = "cache" | "jazz" | "relay";

export interface VerifyDeps {
  inventory(waitMs: number): Promise<RemoteInventory | null>;
  /** Resolves once records the Remote holds have reached the cache (RemoteSession.untilDelivered). */
  untilDelivered?(): Promise<void>;
  cache: LocalCache;
  clock: Clock;
  logger: Logger;
  /** Merges records into the cache as records from the relay are (notified); returns how many changed. */
  download(records: CommandRecord[]): number;
  /** Uploads the queue now, waiting for the relay's confirmation (a sync round). */
  upload(): Promise<unknown>;
}

interface Snapshot {
  inv: RemoteInventory | null;
  cache: Map<string, CommandRecord>;
  evicted: Set<string>;
  /** Commands queued for the relay when the cache was read: on their way, not missing. */
  queued: Set<string>;
  jazz: Map<string, CommandRecord> | null;
  relay: Map<string, CommandRecord> | null;
}

/** Checks (and with `repair` mends) the account's commands in every place; `waitMs` bounds each relay wait. */
export async function verifyAccount(
  deps: VerifyDeps,
  opts: { repair: boolean; waitMs: number },
): Promise<VerifyResult> {
  let snap = await snapshot(deps, opts.waitMs);
  let repaired: VerifyResult["repaired"] = null;
  if (opts.repair) {
    repaired = await repair(deps, snap);
    // The inventory already had the relay sent what it lacked; look again only after a change.
    if (repaired.downloaded > 0 || repaired.uploaded > 0) snap = await snapshot(deps, opts.waitMs);
  }
  return { ...(await report(snap, deps.clock.now())), repaired };
}

/**
 * The cache is read before the inventory: whatever was confirmed (left the queue) by then is in
 * Jazz's storage when the inventory looks, so "queued" and "in Jazz" cannot both be missed. And
 * after the Remote's deliveries under way: a device replaying its history into the cache would
 * otherwise find the cache lacking what is merely on its way (and download it all once more).
 */
async function snapshot(deps: VerifyDeps, waitMs: number): Promise<Snapshot> {
  await deps.untilDelivered?.();
  const cache = new Map<string, CommandRecord>();
  const evicted = new Set<string>();
  for (const entry of deps.cache.entries.allCommands()) {
    if (entry.record.type !== "command") continue;
    cache.set(entry.id, entry.record);
    if (entry.evicted) evicted.add(entry.id);
  }
  const queued = new Set<string>();
  for (let rows = deps.cache.queue.next(QUEUE_PAGE, 0); rows.length > 0;) {
    for (const row of rows) if (row.type === "command") queued.add(row.id);
    rows = rows.length < QUEUE_PAGE ? [] : deps.cache.queue.next(QUEUE_PAGE, rows[rows.length - 1]!.seq);
  }
  await turn();
  const inv = await deps.inventory(waitMs);
  const byId = (list: readonly CommandRecord[]) => new Map(list.map((c) => [c.id, c]));
  const jazz = inv ? byId(inv.local.commands) : null;
  // The same list when the relay holds every command this device holds (remote.ts): one map, and
  // its fingerprints and digests computed once.
  const relay = inv?.relay
    ? inv.relay.commands === inv.local.commands
      ? jazz
      : byId(inv.relay.commands)
    : null;
  return { inv, cache, evicted, queued, jazz, relay };
}

interface Gap {
  where: Place;
  deviceId: string;
  absent: number;
  behind: number;
  ids: string[];
}

/** For every command some place holds: which places lack it, or hold an older state. */
type Lines = Map<string, string> | null;

/** Each place's fingerprints (digest.ts), by id: computed once for the gaps and the digests. */
function fingerprints(m: Map<string, CommandRecord> | null): Lines {
  return m && new Map([...m].map(([id, c]) => [id, fingerprint(c)]));
}

function gaps(snap: Snapshot, lines: { cache: Lines; jazz: Lines; relay: Lines }): Gap[] {
  const places: [Place, Map<string, CommandRecord> | null, Lines][] = [
    ["cache", snap.cache, lines.cache],
    ["jazz", snap.jazz, lines.jazz],
    ["relay", snap.relay, lines.relay],
  ];
  const out = new Map<string, Gap>();
  const note = (where: Place, c: CommandRecord, kind: "absent" | "behind") => {
    const key = `${where} ${c.deviceId}`;
    let gap = out.get(key);
    if (!gap) out.set(key, (gap = { where, deviceId: c.deviceId, absent: 0, behind: 0, ids: [] }));
    gap[kind]++;
    if (gap.ids.length < MAX_IDS) gap.ids.push(c.id);
  };
  const ids = new Set<string>([...snap.cache.keys(), ...(snap.jazz?.keys() ?? [])]);
  for (const id of ids) {
    const held = places.filter(([, , l]) => l?.has(id));
    const first = held[0]![2]!.get(id)!;
    const alike = held.every(([, , l]) => l!.get(id) === first);
    // The usual case: every place that holds it holds the same state; only absences to note.
    const target = alike
      ? held[0]![1]!.get(id)!
      : held.map(([, m]) => m!.get(id)!).reduce((a, b) => joinCommand(a, b));
    const want = alike ? first : fingerprint(target);
    const onItsWay = snap.queued.has(id);
    for (const [where, m, l] of places) {
      if (!m || !l || (onItsWay && where !== "cache")) continue;
      const mine = l.get(id);
      if (mine === undefined) note(where, target, "absent");
      else if (mine !== want) note(where, target, "behind");
    }
  }
  return [...out.values()].sort(
    (a, b) => a.where.localeCompare(b.where) || a.deviceId.localeCompare(b.deviceId),
  );
}

/**
 * The report on a snapshot. Each step is synchronous and linear (~0.1 s per 10,000 commands);
 * between them the event loop runs, so at 100,000 the relay link does not miss its pings.
 */
async function report(snap: Snapshot, now: number): Promise<Omit<VerifyResult, "repaired">> {
  const parts: PlacedPart[] = snap.inv
    ? [
        ...snap.inv.local.missing.map((m) => ({ where: "jazz" as const, ...m })),
        ...(snap.inv.relay?.missing ?? []).map((m) => ({ where: "relay" as const, ...m })),
      ]
    : [];
  const jazzLines = fingerprints(snap.jazz);
  const lines = {
    cache: fingerprints(snap.cache),
    jazz: jazzLines,
    relay: snap.relay === snap.jazz ? jazzLines : fingerprints(snap.relay),
  };
  await turn();
  const commands = gaps(snap, lines);
  await turn();
  const of = (m: Map<string, CommandRecord> | null, l: Lines) => m && summaries(m.values(), l ?? undefined);
  const c = of(snap.cache, lines.cache)!;
  const j = sameAsCache(snap, commands) ? c : of(snap.jazz, lines.jazz);
  const r = snap.relay === snap.jazz ? j : of(snap.relay, lines.relay);
  const none = summarize([]);
  const at = (s: ReturnType<typeof of>, device: string) => (s ? (s.byDevice.get(device) ?? none) : null);
  const devices = [
    ...new Set([...c.byDevice.keys(), ...(j?.byDevice.keys() ?? []), ...(r?.byDevice.keys() ?? [])]),
  ].sort();
  const relayChecked = snap.relay !== null;
  return {
    complete: relayChecked && parts.length === 0 && commands.length === 0,
    checkedAt: now,
    relayChecked,
    total: { cache: c.total, jazz: j?.total ?? null, relay: r?.total ?? null },
    devices: devices.map((deviceId) => ({
      deviceId,
      cache: at(c, deviceId)!,
      jazz: at(j, deviceId),
      relay: at(r, deviceId),
    })),
    missing: { parts, commands },
  };
}

/**
 * True when Jazz's storage holds exactly the cache's commands (the usual case), so that its digests
 * are the cache's: no gap, nothing queued (a queued command may be absent from Jazz without being a
 * gap), as many commands, each of the same device (the digest's lines leave the device out).
 */
function sameAsCache(snap: Snapshot, commands: readonly Gap[]): boolean {
  const { cache, jazz } = snap;
  if (!jazz || commands.length > 0 || snap.queued.size > 0 || jazz.size !== cache.size) return false;
  for (const [id, c] of cache) if (jazz.get(id)?.deviceId !== c.deviceId) return false;
  return true;
}

/**
 * Downloads into the cache what Jazz's storage holds newer or only there; queues again what only
 * the cache holds (with its payload: an evicted command cannot be given back from the cache) and
 * uploads the queue. The relay is sent what it lacks by the inventory that follows.
 */
async function repair(deps: VerifyDeps, snap: Snapshot): Promise<NonNullable<VerifyResult["repaired"]>> {
  const { cache, clock, logger } = deps;
  const jazz = snap.jazz;
  if (!jazz) return { downloaded: 0, uploaded: 0 };
  const toCache: CommandRecord[] = [];
  const toJazz: string[] = [];
  for (const id of new Set([...snap.cache.keys(), ...jazz.keys()])) {
    const [here, there] = [snap.cache.get(id), jazz.get(id)];
    const target = here && there ? joinCommand(here, there) : (here ?? there)!;
    if (there && (!here || fingerprint(here) !== fingerprint(target))) toCache.push(there);
    const stale = !there || fingerprint(there) !== fingerprint(target);
    // Queued: on its way already. Evicted: no payload here to give back.
    if (here && stale && !snap.evicted.has(id) && !snap.queued.has(id)) toJazz.push(id);
  }
  const downloaded = toCache.length > 0 ? deps.download(toCache) : 0;
  let uploaded = 0;
  if (toJazz.length > 0) {
    cache.transaction(() => {
      for (const id of toJazz) {
        const entry = cache.entries.get({ type: "command", id });
        if (!entry || entry.evicted) continue;
        cache.queue.enqueue({ type: "command", id }, entry.cursor, clock.now());
        uploaded++;
      }
    });
    if (uploaded > 0) await deps.upload();
  }
  if (downloaded > 0 || uploaded > 0) logger.info({ downloaded, uploaded }, "sync.verify repaired commands");
  return { downloaded, uploaded };
}
