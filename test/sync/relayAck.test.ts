// `sync.push {ack: "relay"}` with the relay out of reach, on the default wait: the daemon must
// answer (entries in `failed` with -32003, still queued) before the client's own push timeout
// (TIMEOUTS.push) expires. With both at 60 s the reference client always saw a timeout instead.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode, TIMEOUTS, type PushResult } from "../../src/protocol.js";
import { RELAY_ACK_WAIT_MS } from "../../src/sync/SyncManager.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { command, harness, type Harness } from "./support.js";

describe('sync.push {ack: "relay"} with the relay down', () => {
  let h: Harness | null = null;
  afterEach(() => h?.cleanup());

  it("answers with the entries failed (-32003, still queued) before the client's push timeout", async () => {
    const remote = new FakeRemote();
    remote.relay.reachable = false;
    h = await harness({ remote }); // the default wait: no pushTimeoutMs
    const stack = h;
    assert.equal(stack.manager.state, "OFFLINE");
    const entry = command();
    let result: PushResult | null = null;
    void stack.manager.pushEntries({ entries: [entry], ack: "relay" }).then((r) => (result = r));

    stack.clock.advance(RELAY_ACK_WAIT_MS - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(result, null, "still waiting for the relay");
    stack.clock.advance(1);
    const answered = await waitFor(() => result, { what: "the push to answer" });
    assert.ok(RELAY_ACK_WAIT_MS <= TIMEOUTS.push - 1_000, "a margin before the client gives up");
    assert.equal(answered.synced, 0);
    assert.deepEqual(answered.failed, [entry.id]);
    assert.equal(answered.errors[0]?.code, ErrorCode.NetworkUnreachable);
    assert.equal(stack.manager.getStatus().pendingUp, 2, "the entry (and the device record) stay queued");
  });
});
