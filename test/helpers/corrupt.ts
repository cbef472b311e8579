// A real damaged cache for the corruption tests (issue 9, item 4): a daemon process on a real relay
// pushes entries the relay confirms, then (paused) entries that stay queued, and stops cleanly;
// then pages in the middle of its sync.db are overwritten with random bytes. Which pages: the
// dbstat table of the stopped file says which b-tree each page belongs to, and the leaf pages of
// `entries` in key order hold its rows in rowid order (push order), so a test can aim at pages of
// uploaded entries only, or at the page holding the last queued ones, and know exactly which ids
// that destroys.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import Database from "better-sqlite3";
import { spawnDaemon, type DaemonProcess } from "./daemon.js";
import { startTestRelay, type TestRelay } from "./relay.js";
import { tempDir } from "./tmp.js";
import { command, randomAuthKey } from "../e2e/support.js";

export interface QueuedCache {
  relay: TestRelay;
  home: string;
  /** The daemon's environment (HOME, CARO_SYNC_RELAY, …), for the CLI and for restarts. */
  env: Record<string, string>;
  cachePath: string;
  socketPath: string;
  /** Confirmed by the relay (pushed with ack "relay"). */
  uploaded: string[];
  /** Pushed while paused: only in the cache's queue when the daemon stopped. */
  queued: string[];
  cleanup(): Promise<void>;
}

/** Builds the scenario above; the daemon is stopped (exit 0) when this resolves. */
export async function cacheWithQueue(opts: { uploaded: number; queued: number }): Promise<QueuedCache> {
  const relay = await startTestRelay();
  const dir = await tempDir("ccq-");
  let daemon: DaemonProcess | undefined;
  const cleanup = async () => {
    await daemon?.stop();
    await relay.stop();
    await dir.cleanup();
  };
  try {
    const env = { HOME: dir.path, PATH: process.env.PATH ?? "", CARO_SYNC_RELAY: relay.url };
    daemon = await spawnDaemon({ home: dir.path, env });
    const client = await daemon.client();
    const { deviceId } = await client.init({
      authKey: randomAuthKey(),
      deviceName: "corrupt",
      platform: "linux",
    });
    await daemon.waitForState("ONLINE");
    const uploaded = Array.from({ length: opts.uploaded }, () => command(deviceId));
    const up = await client.push({ entries: uploaded, ack: "relay" });
    assert.equal(up.synced, uploaded.length, `uploaded: ${JSON.stringify(up.errors.slice(0, 3))}`);
    await client.pause();
    const queued = Array.from({ length: opts.queued }, () => command(deviceId));
    assert.equal((await client.push({ entries: queued })).synced, queued.length);
    assert.equal((await client.status()).pendingUp, queued.length);
    client.close();
    assert.equal(await daemon.stop(), 0, daemon.stderr());
    return {
      relay,
      home: dir.path,
      env,
      cachePath: daemon.cachePath,
      socketPath: daemon.socketPath,
      uploaded: uploaded.map((e) => e.id),
      queued: queued.map((e) => e.id),
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export interface LeafPage {
  pageno: number;
  /** The ids of the rows it holds (for `entries`: records' ids). */
  ids: string[];
}

/** The leaf pages of `entries` in key order, each with the ids of its rows (read-only). */
export function entryLeaves(cachePath: string): LeafPage[] {
  const db = new Database(cachePath, { readonly: true, fileMustExist: true });
  try {
    const leaves = db
      .prepare<[], { pageno: number; ncell: number }>(
        "SELECT pageno, ncell FROM dbstat WHERE name = 'entries' AND pagetype = 'leaf' ORDER BY path",
      )
      .all();
    const ids = db.prepare<[], string>("SELECT id FROM entries ORDER BY rowid").pluck().all();
    let next = 0;
    const pages = leaves.map(({ pageno, ncell }) => ({ pageno, ids: ids.slice(next, (next += ncell)) }));
    assert.equal(next, ids.length, "every row is on one leaf page");
    return pages;
  } finally {
    db.close();
  }
}

/** Overwrites whole pages of a (closed) SQLite file with random bytes. */
export function overwritePages(path: string, pagenos: readonly number[]): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  db.close();
  const fd = openSync(path, "r+");
  try {
    for (const pageno of pagenos) writeSync(fd, randomBytes(pageSize), 0, pageSize, (pageno - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}
