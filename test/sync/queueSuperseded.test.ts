// A queued local change that a record from the relay changes before it is uploaded: the uploader
// writes the entry's current (merged) record and must then confirm the row by the row's own cursor.
// Confirming by the entry's cursor, which the relay record moved, left the row "pending" for ever.
// Found by the reliability suite's concurrent-clients scenario (two daemons writing the same
// preference keys).
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { commandRecord, preferenceRecord } from "../../src/sync/records.js";
import { once, waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { command, harness, preference, pullAll, type Harness } from "./support.js";

describe("a queued change superseded by a record from the relay", () => {
  let h: Harness;
  afterEach(() => h.cleanup());

  it("is uploaded in its merged version and leaves the queue", async () => {
    const remote = new FakeRemote();
    h = await harness({ remote });
    const c = command();
    await h.manager.pushEntries({
      entries: [c, preference("theme", { updatedAt: 100, deviceId: "dev-a" })],
    });
    // Before the upload, another device's newer preference and its report of the command arrive.
    const newer = preferenceRecord({
      key: "theme",
      deviceId: "dev-b",
      encrypted: c.encrypted,
      updatedAt: 200,
    });
    const executed = commandRecord({
      id: c.id,
      deviceId: "dev-a",
      encryptedPayload: c.encrypted,
      safetyLevel: "safe",
      executed: true,
      createdAt: 1_600_000_000_000,
      success: true,
      executedAt: 150,
      deletedAt: undefined,
    });
    remote.session.deliver([newer, executed]);
    await waitFor(() =>
      pullAll(h.manager).entries.some((e) => e.id === "theme" && e.metadata.updatedAt === 200),
    );

    const complete = once((l) => h.manager.on("syncComplete", l));
    await h.manager.connect();
    await complete;
    await waitFor(() => h.manager.pendingOperations() === 0, {
      timeoutMs: 2_000,
      what: "the queue to empty",
    });
    const theme = remote.relay.records.get("preference\u0000theme");
    assert.equal(theme?.type === "preference" && theme.updatedAt, 200, "the relay keeps the newer value");
    const uploaded = remote.relay.records.get(`command\u0000${c.id}`);
    assert.equal(uploaded?.type === "command" && uploaded.executed, true, "the merged command went up");
  });
});
