// The self-hosted relay: binding, health, persistence across restarts, graceful stop.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { silentLogger } from "../../src/log/logger.js";
import { startRelay } from "../../src/relay/server.js";
import { runRelayCommand } from "../../src/relay/command.js";
import { startRelayProcess } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, newAuthKey, service } from "../jazz/fixtures.js";

describe("relay", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir("cs-rl-")));
  after(async () => dir?.cleanup());

  it("binds 127.0.0.1 by default, answers /health, and closes idempotently", async () => {
    const relay = await startRelay({ port: 0, inMemory: true, logger: silentLogger });
    try {
      assert.match(relay.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`http://127.0.0.1:${relay.port}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok", clients: 0 });
      assert.equal((await fetch(`http://127.0.0.1:${relay.port}/nope`)).status, 404);
    } finally {
      await relay.close();
      await relay.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${relay.port}/health`));
  });

  it("pings a client at once on connect, as Jazz clients require", async () => {
    const relay = await startRelay({ port: 0, inMemory: true, logger: silentLogger });
    try {
      const ws = new WebSocket(relay.url);
      ws.on("error", () => undefined);
      const first = await new Promise<string>((resolve) =>
        ws.once("message", (data: Buffer) => resolve(data.toString())),
      );
      const ping = JSON.parse(first) as { type: string; time: number; dc: string };
      assert.equal(ping.type, "ping");
      assert.ok(Math.abs(ping.time - Date.now()) < 5_000);
      assert.equal(ping.dc, "caro-sync");
      ws.close();
    } finally {
      await relay.close();
    }
  });

  it("closing drops connected clients", async () => {
    const relay = await startRelay({ port: 0, inMemory: true, logger: silentLogger });
    const ws = new WebSocket(relay.url);
    ws.on("error", () => undefined);
    await new Promise((resolve) => ws.once("open", resolve));
    const closed = new Promise((resolve) => ws.once("close", resolve));
    await relay.close();
    await closed;
  });

  it("refuses a port that is taken", async () => {
    const relay = await startRelay({ port: 0, inMemory: true, logger: silentLogger });
    try {
      await assert.rejects(
        startRelay({ port: relay.port, inMemory: true, logger: silentLogger }),
        /EADDRINUSE/,
      );
    } finally {
      await relay.close();
    }
  });

  it("runRelayCommand needs a storage choice", async () => {
    await assert.rejects(runRelayCommand({ logger: silentLogger }), /--db PATH or --in-memory/);
  });

  it("as a process with --db: keeps data across a kill and restart on the same port; SIGTERM exits 0", async () => {
    const dbPath = join(dir.path, "relay.db");
    let relay = await startRelayProcess({ dbPath });
    const svc = service(relay.url, dir.path, "writer");
    const identity = svc.deriveIdentity(newAuthKey());
    const writer = await svc.open({ identity, mode: "create" });
    const cmd = command();
    try {
      await writer.connect();
      await writer.write([cmd]);
      await writer.waitForUpload(10_000);
    } finally {
      await writer.close();
    }
    await relay.kill();
    relay = await startRelayProcess({ dbPath, port: relay.port });
    try {
      const reader = await service(relay.url, dir.path, "reader").open({ identity, mode: "join" });
      try {
        await new Collector(reader).until("command from the relay's database", (c) => c.command(cmd.id));
      } finally {
        await reader.close();
      }
    } finally {
      await relay.stop();
    }
    assert.equal(relay.child.exitCode, 0);
  });
});
