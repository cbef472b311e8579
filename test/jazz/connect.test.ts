// connect(): one attempt, with every failure classified for the retry policy; latency; and the
// disconnect notification.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseRetryAfter } from "../../src/jazz/relayLink.js";
import { RemoteConnectError, type ConnectFailure, type RemoteSession } from "../../src/sync/remote.js";
import { freePort, startTestRelay } from "../helpers/relay.js";
import { startStubRelay } from "../helpers/stubRelay.js";
import { tempDir } from "../helpers/tmp.js";
import { WebSocketServer } from "ws";
import { once, waitFor } from "../helpers/wait.js";
import { newAuthKey, service } from "./fixtures.js";

async function failureOf(promise: Promise<unknown>): Promise<ConnectFailure> {
  const err = await promise.then(
    () => assert.fail("expected the connection attempt to fail"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RemoteConnectError, `not a RemoteConnectError: ${String(err)}`);
  return err.failure;
}

describe("connect() classifies failures", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let n = 0;

  /** A session created offline against `url` (nothing there), ready for connect(). */
  async function offlineSession(url: string, connectTimeoutMs?: number): Promise<RemoteSession> {
    const svc = service(url, dir.path, `s${n++}`, { connectTimeoutMs });
    return svc.open({ identity: svc.deriveIdentity(newAuthKey()), mode: "create" });
  }

  before(async () => (dir = await tempDir("cs-jc-")));
  after(async () => dir?.cleanup());

  it("a closed port is a network failure", async () => {
    const session = await offlineSession(`ws://127.0.0.1:${await freePort()}`);
    try {
      assert.equal((await failureOf(session.connect())).kind, "network");
      assert.equal(session.latencyMs(), null);
    } finally {
      await session.close();
    }
  });

  it("HTTP 429 with Retry-After: 7 is rateLimited with retryAfterMs 7000", async () => {
    const stub = await startStubRelay({ status: 429, headers: { "retry-after": "7" } });
    const session = await offlineSession(stub.url);
    try {
      assert.deepEqual(await failureOf(session.connect()), {
        kind: "rateLimited",
        message: "relay is rate limiting (HTTP 429)",
        retryAfterMs: 7000,
      });
    } finally {
      await session.close();
      await stub.stop();
    }
  });

  for (const [status, kind] of [
    [401, "auth"],
    [403, "auth"],
    [503, "server"],
    [500, "server"],
  ] as const) {
    it(`HTTP ${status} is ${kind}`, async () => {
      const stub = await startStubRelay({ status });
      const session = await offlineSession(stub.url);
      try {
        const failure = await failureOf(session.connect());
        assert.equal(failure.kind, kind);
        assert.equal("status" in failure && failure.status, status);
      } finally {
        await session.close();
        await stub.stop();
      }
    });
  }

  it("a relay that accepts TCP but never answers is a timeout", async () => {
    const stub = await startStubRelay("silent");
    const session = await offlineSession(stub.url, 300);
    try {
      const started = Date.now();
      assert.equal((await failureOf(session.connect())).kind, "timeout");
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await session.close();
      await stub.stop();
    }
  });

  it("an aborted attempt rejects at once", async () => {
    const stub = await startStubRelay("silent");
    const session = await offlineSession(stub.url, 1_000); // the timeout would say "timeout"
    try {
      const controller = new AbortController();
      const attempt = session.connect(controller.signal);
      controller.abort();
      assert.equal((await failureOf(attempt)).kind, "network");
    } finally {
      await session.close();
      await stub.stop();
    }
  });

  it("Retry-After as an HTTP date, and garbage", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("soon", now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });

  it("against a real relay: connects, measures latency, reports the drop when the relay dies", async () => {
    const relay = await startTestRelay();
    const session = await offlineSession(relay.url);
    try {
      await session.connect();
      await waitFor(() => session.latencyMs() !== null, { what: "latency" });
      const latency = session.latencyMs() ?? -1;
      assert.ok(latency >= 0 && latency < 1000, `latency ${latency}`);
      await session.connect(); // already connected: no-op
      const dropped = once<ConnectFailure>((l) => session.onDisconnected(l));
      await relay.stop();
      assert.equal((await dropped).kind, "network");
      assert.equal(session.latencyMs(), null);
    } finally {
      await session.close();
      await relay.stop();
    }
  });

  it("a relay that goes silent after connecting is reported as a timeout drop", async () => {
    // First connection (open()'s account check): refused, so the session is created offline.
    // Later connections: one ping, then nothing, with the socket left open.
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    let connections = 0;
    wss.on("connection", (ws) => {
      ws.on("error", () => undefined);
      if (connections++ === 0) return ws.terminate();
      ws.send(JSON.stringify({ type: "ping", time: Date.now(), dc: "stub" }));
    });
    await new Promise((resolve) => wss.once("listening", resolve));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const svc = service(url, dir.path, `hung${n++}`, { pingTimeoutMs: 300 });
    const session = await svc.open({ identity: svc.deriveIdentity(newAuthKey()), mode: "create" });
    try {
      await session.connect();
      const dropped = await once<ConnectFailure>((l) => session.onDisconnected(l));
      assert.equal(dropped.kind, "timeout");
    } finally {
      await session.close();
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it("disconnect() does not report a drop; a later link's drop is reported once", async () => {
    const relay = await startTestRelay();
    const session = await offlineSession(relay.url);
    try {
      await session.connect();
      let drops = 0;
      session.onDisconnected(() => drops++);
      session.disconnect();
      assert.equal(session.latencyMs(), null);
      await session.connect();
      const dropped = once<ConnectFailure>((l) => session.onDisconnected(l));
      await relay.stop();
      await dropped;
      assert.equal(drops, 1);
    } finally {
      await session.close();
      await relay.stop();
    }
  });
});
