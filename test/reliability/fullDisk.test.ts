// A full disk: the daemon's cache (and Jazz's storage beside it) lives on a small tmpfs that a
// filler file then fills to the last byte. A push that cannot be stored fails with -32008 and
// data.reason "disk_full" and is not acknowledged (nothing of it is stored); daemon.health says
// healthy: false and cache.writable: false. Once the filler is deleted, pushes succeed again
// without a restart, health recovers, and nothing acknowledged before, during or after is lost, on
// this device or on a second one.
//
// Mounting needs root. Not root, or a failed mount: the scenario skips and says why; except that
// with CI set and root, a failed mount fails the scenario.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { RpcError } from "../../src/client/errors.js";
import { pullEverything } from "../helpers/daemon.js";
import { size } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { blob, command } from "../e2e/support.js";
import { reliabilityScenario, type Scenario, UNLIMITED } from "./harness.js";

const ROUNDS = size({ ci: 1, soak: 5 });
const TMPFS_BYTES = 32 * 1024 * 1024;
const DISK_FULL = -32008;

/** Mounts a tmpfs of `bytes` on `dir`; null when done, else why not. Unmounted after the scenario. */
function mountTmpfs(s: Scenario, dir: string, bytes: number): string | null {
  if (process.getuid?.() !== 0) return "not root: cannot mount a tmpfs";
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  s.afterStop(() => {
    try {
      execFileSync("umount", [dir], { stdio: "pipe" });
    } catch {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    }
  });
  return null;
}

/** Writes `path` until the file system has no byte left; the file is the space to free later. */
function fill(path: string): number {
  const fd = openSync(path, "w");
  let written = 0;
  try {
    for (let chunk = 1024 * 1024; chunk >= 512;) {
      try {
        written += writeSync(fd, Buffer.alloc(chunk, 0xa5));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        chunk /= 2;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Entries with ~4 KiB payloads, to outgrow whatever free pages SQLite still has. */
const bigCommands = (deviceId: string, n: number) =>
  Array.from({ length: n }, () => ({ ...command(deviceId), encrypted: blob(4096) }));

reliabilityScenario(
  "full disk",
  "refuses pushes with -32008 disk_full on a full disk, reports it, and recovers without a restart",
  async (s, t) => {
    const mnt = await s.cluster.dir("cfd-");
    const why = mountTmpfs(s, mnt, TMPFS_BYTES);
    if (why !== null) {
      if (process.env.CI && process.getuid?.() === 0) assert.fail(why);
      return s.skip(t, why);
    }
    const relay = await s.cluster.relay();
    const target = await s.cluster.device("target", relay.url, UNLIMITED, {
      env: { CARO_SYNC_CACHE_PATH: join(mnt, "sync.db") },
    });
    const witness = await s.cluster.device("witness", relay.url, UNLIMITED);
    const { deviceIds } = await s.account(target, [witness]);
    const deviceId = deviceIds[0]!;
    assert.equal((await s.push(target.client, bigCommands(deviceId, 100))).synced, 100);

    for (let round = 1; round <= ROUNDS; round++) {
      const filler = join(mnt, "filler");
      const filled = fill(filler);
      // Push until the disk refuses one (free pages inside SQLite's files may take a few).
      const refused = await (async () => {
        for (let i = 0; i < 200; i++) {
          const entries = bigCommands(deviceId, 20);
          try {
            await s.push(target.client, entries);
          } catch (err) {
            assert.ok(err instanceof RpcError, `a refused push is a JSON-RPC error: ${String(err)}`);
            return { err, entries };
          }
        }
        return assert.fail("200 pushes of 80 KiB were all stored on a full disk");
      })();
      t.diagnostic(
        `round ${round}: filled ${filled} bytes; refused with ${refused.err.code} ${refused.err.reason}`,
      );
      assert.equal(refused.err.code, DISK_FULL, refused.err.message);
      assert.equal(refused.err.reason, "disk_full");
      const health = await target.client.health();
      assert.equal(health.healthy, false, "health says so");
      assert.equal(health.cache.writable, false);

      rmSync(filler);
      // No restart: pushes are stored again once there is room, and health says so.
      await waitFor(
        async () => (await s.push(target.client, bigCommands(deviceId, 20)).catch(() => null)) !== null,
        {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: "a push to succeed once space is freed",
        },
      );
      await waitFor(async () => (await target.client.health()).healthy, { what: "health to recover" });
      const stored = new Set(
        (await pullEverything(target.client, { types: ["command"] })).entries.map((e) => e.id),
      );
      assert.ok(
        refused.entries.every((e) => !stored.has(e.id)),
        "nothing of the refused push was stored",
      );
      s.counts.outages++;
    }
    await s.verify([target, witness]);
  },
);
