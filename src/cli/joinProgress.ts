// What `join` shows while the account's history downloads. The daemon cannot know how much the
// relay holds before it has it, so the download counts as done when the cache has stopped
// growing for a moment (SETTLE_MS) after the device came online. This only ends the display:
// the daemon goes on syncing either way.
import type { SyncClient } from "../client/SyncClient.js";
import type { SyncState } from "../protocol.js";
import type { Progress } from "./ui.js";

const ONLINE_WAIT_MS = 15_000;
const SETTLE_MS = 1_500;
const MAX_WAIT_MS = 300_000;
const POLL_MS = 200;

export interface JoinProgress {
  state: SyncState;
  /** Entries in the local cache when the display ended (null: not waited for). */
  entries: number | null;
  /** False when the relay could not be reached in time (the join completes later). */
  reachable: boolean | null;
}

export async function waitForDownload(client: SyncClient, bar: Progress): Promise<JoinProgress> {
  const started = Date.now();
  try {
    let health = await client.health();
    while (health.state !== "ONLINE" && Date.now() - started < ONLINE_WAIT_MS) {
      await delay(POLL_MS);
      health = await client.health();
    }
    if (health.state !== "ONLINE")
      return { state: health.state, entries: health.cache.entries, reachable: false };
    let count = health.cache.entries;
    let changedAt = Date.now();
    bar.update(count);
    while (Date.now() - changedAt < SETTLE_MS && Date.now() - started < MAX_WAIT_MS) {
      await delay(POLL_MS);
      health = await client.health();
      if (health.cache.entries !== count) {
        count = health.cache.entries;
        changedAt = Date.now();
        bar.update(count);
      }
    }
    return { state: health.state, entries: count, reachable: true };
  } finally {
    bar.stop();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
