// Internal error text never reaches clients: daemon.health's lastError and sync.error carry the
// contract's code, a stable reason and a fixed message (sync/failures.ts), whatever the Remote,
// cojson or ws put in their messages. The raw detail is for the log only.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode, SyncError, type NotificationMap } from "../../src/protocol.js";
import { describeFailure, toSyncError } from "../../src/sync/failures.js";
import { RemoteConnectError } from "../../src/sync/remote.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { command, harness, type Harness } from "./support.js";

const MARKER = "SECRET-MARKER-7f3a";

describe("failures reach clients through one mapping", () => {
  let h: Harness | null = null;
  afterEach(() => h?.cleanup());

  /** A manager on a fake Remote, recording every sync.error. */
  async function setup() {
    const remote = new FakeRemote();
    h = await harness({ remote });
    const errors: NotificationMap["sync.error"][] = [];
    h.manager.on("error", (e) => errors.push(e));
    return { stack: h, remote, errors };
  }

  function assertClean(stack: Harness, errors: NotificationMap["sync.error"][], reason: string): void {
    const health = stack.manager.healthReport();
    assert.equal(health.lastError?.reason, reason);
    assert.ok(errors.length > 0, "a sync.error went out");
    assert.equal(errors.at(-1)?.reason, reason);
    const seen = JSON.stringify({ health, errors });
    assert.ok(!seen.includes(MARKER), `internal text leaked: ${seen}`);
  }

  it("a failed attempt, whatever its message and fields carry", async () => {
    const { stack, remote, errors } = await setup();
    remote.session.connect = () =>
      Promise.reject(
        new RemoteConnectError({ kind: "network", message: `connect ${MARKER}`, errno: MARKER }),
      );
    await assert.rejects(stack.manager.connect(), RemoteConnectError);
    assertClean(stack, errors, "relay_unreachable");
    assert.equal(stack.manager.healthReport().lastError?.message, "relay unreachable");
  });

  it("a dropped connection", async () => {
    const { stack, remote, errors } = await setup();
    await stack.manager.connect();
    remote.session.drop({ kind: "timeout", message: `ping ${MARKER}` });
    assertClean(stack, errors, "relay_connection_lost");
  });

  it("an account that cannot be opened", async () => {
    const remote = new FakeRemote();
    remote.open = () => Promise.reject(new Error(`SQLITE_CORRUPT ${MARKER}`));
    h = await harness({ remote, init: false });
    const errors: NotificationMap["sync.error"][] = [];
    h.manager.on("error", (e) => errors.push(e));
    await h.manager.initialize({
      authKey: Buffer.alloc(32, 3).toString("base64"),
      deviceName: "x",
      platform: "linux",
    });
    assertClean(h, errors, "account_open_failed");
    assert.equal(h.manager.healthReport().lastError?.code, ErrorCode.InternalError);
  });

  it("an upload the relay does not confirm", async () => {
    const { stack, remote, errors } = await setup();
    await stack.manager.connect();
    await waitFor(() => stack.manager.pendingOperations() === 0, { what: "the device record uploaded" });
    remote.session.waitForUpload = () => Promise.reject(new Error(`cojson: ${MARKER}`));
    await stack.manager.pushEntries({ entries: [command()] });
    await waitFor(() => stack.manager.healthReport().lastError, { what: "the upload failure" });
    assertClean(stack, errors, "upload_unconfirmed");
  });

  it("a handler's unforeseen error becomes -32603 with a fixed message; a SyncError passes as it is", () => {
    const internal = toSyncError(new Error(`boom ${MARKER}`));
    assert.deepEqual(internal.toJSON(), {
      code: ErrorCode.InternalError,
      message: "Internal error",
      data: { reason: "internal_error" },
    });
    const own = new SyncError(ErrorCode.RateLimited, "Rate Limited", { retryAfterMs: 5 });
    assert.equal(toSyncError(own), own);
  });

  it("only structured fields shape the message: statuses, errno codes and bounds, checked", () => {
    const connect = (failure: ConstructorParameters<typeof RemoteConnectError>[0]) =>
      describeFailure({ during: "connect", failure }).message;
    assert.equal(connect({ kind: "server", message: MARKER, status: 503 }), "relay answered HTTP 503");
    assert.equal(
      connect({ kind: "server", message: MARKER, status: Number.NaN }),
      "relay answered HTTP error",
    );
    assert.equal(
      connect({ kind: "network", message: MARKER, errno: "ENOTFOUND" }),
      "relay unreachable (ENOTFOUND)",
    );
    assert.equal(
      connect({ kind: "timeout", message: MARKER, afterMs: 10_000 }),
      "relay did not answer within 10000 ms",
    );
    assert.equal(connect({ kind: "timeout", message: MARKER }), "relay did not answer in time");
  });

  it("an account held only in part: -32003 account_incomplete, unhealthy, never the Remote's text", () => {
    const wire = describeFailure({
      during: "open",
      error: new RemoteConnectError({ kind: "accountIncomplete", message: MARKER }),
    });
    assert.equal(wire.code, -32003);
    assert.equal(wire.reason, "account_incomplete");
    assert.equal(wire.fatal, true);
    assert.ok(!wire.message.includes(MARKER));
  });
});
