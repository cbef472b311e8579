// sync.error's retryInMs is the delay until the attempt that follows the failure, as the retry
// driver scheduled it (1 s, 2 s, 4 s, 8 s, then the probe interval), for failed attempts and for
// drops alike. (It used to be computed before the driver had scheduled anything: always 0 or null.)
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { NotificationMap } from "../../src/protocol.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { AUTH_KEY, harness, type Harness } from "./support.js";

const PROBE_MS = 5_000;

describe("sync.error announces the next attempt", () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.cleanup();
  });

  async function setup(reachable: boolean) {
    const remote = new FakeRemote();
    remote.relay.reachable = reachable;
    // Connecting by itself, as the daemon does.
    h = await harness({
      remote,
      init: false,
      autoConnect: true,
      config: { syncIntervalMs: PROBE_MS },
      random: () => 0.5, // no jitter
    });
    const stack = h;
    const errors: NotificationMap["sync.error"][] = [];
    stack.manager.on("error", (e) => errors.push(e));
    await stack.manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
    const next = async (n: number) => {
      await waitFor(() => errors.length >= n, { what: `sync.error #${n}` });
      return errors[n - 1]!;
    };
    return { stack, remote, errors, next };
  }

  it("gives each failed attempt's retryInMs from the schedule that follows it", async () => {
    const { stack, next } = await setup(false);
    const delays = [1_000, 2_000, 4_000, 8_000, PROBE_MS, PROBE_MS];
    for (const [i, delay] of delays.entries()) {
      const e = await next(i + 1);
      assert.equal(e.retryInMs, delay, `failure ${i + 1}`);
      assert.equal(stack.manager.healthReport().nextRetryAt, stack.clock.now() + delay);
      stack.clock.advance(delay);
    }
  });

  it("gives a dropped connection's retryInMs the first retry of the new burst", async () => {
    const { stack, remote, errors, next } = await setup(true);
    await waitFor(() => stack.manager.state === "ONLINE", { what: "ONLINE" });
    assert.equal(errors.length, 0);
    remote.session.drop();
    const e = await next(1);
    assert.equal(e.retryInMs, 1_000);
    assert.equal(stack.manager.state, "OFFLINE");
    assert.equal(errors.length, 1, "one notification per drop");
  });
});
