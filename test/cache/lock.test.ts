// One daemon per cache file: a second process cannot open a cache that a live one holds, and the
// lock goes with the process that held it, even after kill -9.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CacheLockedError, SqliteCache } from "../../src/cache/index.js";
import { spawnDaemon } from "../helpers/daemon.js";
import { tempDir } from "../helpers/tmp.js";

const cacheModule = new URL("../../src/cache/index.js", import.meta.url).href;

/** A child process that opens the cache, says "open" and then holds it until killed. */
function holdInChild(path: string): Promise<{ kill: () => Promise<void> }> {
  const script = `import(${JSON.stringify(cacheModule)}).then(({ SqliteCache }) => {
    SqliteCache.open(${JSON.stringify(path)}); console.log("open"); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`holder exited early (${code})`)));
    child.stdout.on("data", () =>
      resolve({
        kill: async () => {
          child.kill("SIGKILL");
          await exited;
        },
      }),
    );
  });
}

describe("cache lock", () => {
  it("refuses a cache another process holds, and takes it once that process is killed", async () => {
    const tmp = await tempDir("lock-");
    const path = join(tmp.path, "sync.db");
    const holder = await holdInChild(path);
    try {
      assert.throws(() => SqliteCache.open(path), CacheLockedError);
      await holder.kill();
      const cache = SqliteCache.open(path);
      assert.throws(() => SqliteCache.open(path), CacheLockedError, "this process holds it now");
      cache.close();
      SqliteCache.open(path).close();
    } finally {
      await holder.kill();
      await tmp.cleanup();
    }
  });

  it("a second daemon on another socket but the same cache exits 75 and the first keeps serving", async () => {
    const tmp = await tempDir("lock-");
    const cache = join(tmp.path, "shared.db");
    const first = await spawnDaemon({ env: { CARO_SYNC_CACHE_PATH: cache } });
    const second = await spawnDaemon({ env: { CARO_SYNC_CACHE_PATH: cache }, waitReady: false });
    try {
      assert.equal(await second.exited, 75);
      assert.match(second.stderr(), /already running with the cache .*shared\.db/);
      const client = await first.client();
      try {
        assert.equal((await client.ping()).pong, true);
      } finally {
        client.close();
      }
    } finally {
      await second.cleanup();
      await first.cleanup();
      await tmp.cleanup();
    }
  });
});
