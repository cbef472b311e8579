// An acknowledged push survives kill -9: the child acknowledges only after the transaction
// committed (WAL, synchronous=FULL), so every acknowledged id must be pullable after a restart.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../helpers/tmp.js";
import { harnessAt, pullAll, testConfig } from "./support.js";

const CHILD = fileURLToPath(new URL("./fixtures/pushChild.js", import.meta.url));
const ACKS_BEFORE_KILL = 300;

describe("durability", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it("keeps every acknowledged push after kill -9, in a database that passes integrity_check", async () => {
    const dir = await tempDir("csdu-");
    cleanups.push(dir.cleanup);
    const child = spawn(process.execPath, [CHILD, dir.path], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ?? code)),
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));

    const acked: string[] = [];
    const killedAfter = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child too slow; stderr: ${stderr}`)), 60_000);
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => {
        if (!line.startsWith("ack ")) return;
        acked.push(line.slice(4));
        if (acked.length === ACKS_BEFORE_KILL) {
          child.kill("SIGKILL");
          clearTimeout(timer);
          resolve(acked.length);
        }
      });
      void exited.then((how) => {
        clearTimeout(timer);
        if (acked.length < ACKS_BEFORE_KILL)
          reject(new Error(`child exited early (${String(how)}): ${stderr}`));
      });
    });
    assert.equal(await exited, "SIGKILL");
    assert.ok(killedAfter >= ACKS_BEFORE_KILL);

    const path = testConfig(dir.path).cachePath;
    const db = new Database(path);
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    db.close();

    const h = await harnessAt(dir.path);
    cleanups.unshift(() => h.manager.shutdown());
    assert.equal(h.manager.state, "OFFLINE");
    const pulled = new Set(pullAll(h.manager, { limit: 1000 }).entries.map((e) => e.id));
    const missing = acked.filter((id) => !pulled.has(id));
    assert.deepEqual(missing, [], "every acknowledged entry is in the cache");
    assert.ok(h.manager.pendingOperations() >= acked.length, "and still queued for the relay");
  });
});
