import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConnectFailure } from "../../src/sync/remote.js";
import { RetryPolicy, type RetryDecision } from "../../src/sync/retryPolicy.js";

const timeout: ConnectFailure = { kind: "timeout", message: "no answer" };
const refused: ConnectFailure = { kind: "network", message: "ECONNREFUSED" };
const limited = (retryAfterMs: number | null): ConnectFailure => ({
  kind: "rateLimited",
  message: "429",
  retryAfterMs,
});
const unavailable: ConnectFailure = { kind: "server", message: "503", status: 503 };
const unauthorized: ConnectFailure = { kind: "auth", message: "401", status: 401 };

/** Feeds `count` identical failures and returns the decisions. */
function run(policy: RetryPolicy, failure: ConnectFailure, count: number): RetryDecision[] {
  return Array.from({ length: count }, () => policy.onFailure(failure));
}

describe("RetryPolicy (seed table)", () => {
  const midJitter = () => 0.5; // factor exactly 1.0

  it("backs off 1, 2, 4, 8 s on timeouts, then probes after the fifth attempt", () => {
    const decisions = run(new RetryPolicy({ syncIntervalMs: 5000, random: midJitter }), timeout, 6);
    assert.deepEqual(decisions, [
      { kind: "retry", delayMs: 1000, attempt: 2, of: 5 },
      { kind: "retry", delayMs: 2000, attempt: 3, of: 5 },
      { kind: "retry", delayMs: 4000, attempt: 4, of: 5 },
      { kind: "retry", delayMs: 8000, attempt: 5, of: 5 },
      { kind: "probe", delayMs: 5000 },
      { kind: "probe", delayMs: 5000 },
    ]);
  });

  it("counts timeouts and refused connections as one outage", () => {
    const policy = new RetryPolicy({ syncIntervalMs: 5000, random: midJitter });
    assert.deepEqual(
      [timeout, refused, timeout, refused, refused].map((f) => policy.onFailure(f).kind),
      ["retry", "retry", "retry", "retry", "probe"],
    );
  });

  it("waits Retry-After on 429, at most 3 attempts", () => {
    const decisions = run(new RetryPolicy({ syncIntervalMs: 5000, random: midJitter }), limited(7000), 3);
    assert.deepEqual(decisions, [
      { kind: "retry", delayMs: 7000, attempt: 2, of: 3 },
      { kind: "retry", delayMs: 7000, attempt: 3, of: 3 },
      { kind: "probe", delayMs: 7000 },
    ]);
  });

  it("never probes sooner than Retry-After once a 429 burst is spent", () => {
    const decisions = run(new RetryPolicy({ syncIntervalMs: 5000, random: midJitter }), limited(9000), 4);
    assert.deepEqual(decisions.slice(2), [
      { kind: "probe", delayMs: 9000 },
      { kind: "probe", delayMs: 9000 },
    ]);
  });

  it("backs off exponentially on 429 without Retry-After", () => {
    const decisions = run(new RetryPolicy({ syncIntervalMs: 5000, random: midJitter }), limited(null), 2);
    assert.deepEqual(
      decisions.map((d) => (d.kind === "retry" ? d.delayMs : null)),
      [1000, 2000],
    );
  });

  it("backs off 1, 2 s on 5xx, at most 3 attempts", () => {
    const decisions = run(new RetryPolicy({ syncIntervalMs: 5000, random: midJitter }), unavailable, 3);
    assert.deepEqual(decisions, [
      { kind: "retry", delayMs: 1000, attempt: 2, of: 3 },
      { kind: "retry", delayMs: 2000, attempt: 3, of: 3 },
      { kind: "probe", delayMs: 5000 },
    ]);
  });

  it("never retries an auth failure or invalid data", () => {
    const policy = new RetryPolicy({ syncIntervalMs: 5000 });
    assert.deepEqual(policy.onFailure(unauthorized), { kind: "stop", reason: "auth" });
    assert.deepEqual(policy.onFailure({ kind: "invalidData", message: "bad" }), {
      kind: "stop",
      reason: "invalidData",
    });
  });

  it("probes for an account the relay does not know yet, without a burst (it appears once uploaded)", () => {
    const policy = new RetryPolicy({ syncIntervalMs: 5000, random: midJitter });
    const missing: ConnectFailure = { kind: "accountNotFound", message: "no account" };
    assert.deepEqual(run(policy, missing, 3), [
      { kind: "probe", delayMs: 5000 },
      { kind: "probe", delayMs: 5000 },
      { kind: "probe", delayMs: 5000 },
    ]);
  });

  it("probes for an account held only in part, without a burst (the rest appears once a device uploads it)", () => {
    const policy = new RetryPolicy({ syncIntervalMs: 5000, random: midJitter });
    const partial: ConnectFailure = { kind: "accountIncomplete", message: "no profile" };
    assert.deepEqual(run(policy, partial, 2), [
      { kind: "probe", delayMs: 5000 },
      { kind: "probe", delayMs: 5000 },
    ]);
  });

  it("jitters probes within ±20 % of syncIntervalMs", () => {
    const low = run(new RetryPolicy({ syncIntervalMs: 10_000, random: () => 0 }), unavailable, 3).at(-1);
    const high = run(new RetryPolicy({ syncIntervalMs: 10_000, random: () => 0.999999 }), unavailable, 3).at(
      -1,
    );
    assert.deepEqual(low, { kind: "probe", delayMs: 8000 });
    assert.deepEqual(high, { kind: "probe", delayMs: 12000 });
  });

  it("starts a fresh burst after a success", () => {
    const policy = new RetryPolicy({ syncIntervalMs: 5000, random: midJitter });
    run(policy, timeout, 5);
    policy.onSuccess();
    assert.deepEqual(policy.onFailure(timeout), { kind: "retry", delayMs: 1000, attempt: 2, of: 5 });
  });
});
