// Identity derivation from the authKey (account.ts; the account-ID step is cojsonAdapter.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accountIdForSecret, deriveIdentity } from "../../src/jazz/account.js";
import { jazzCrypto } from "../../src/jazz/crypto.js";

const key = (fill: number) => new Uint8Array(32).fill(fill);

describe("deriveIdentity", () => {
  it("gives the same account and secret for the same key, every time", () => {
    const a = deriveIdentity(key(7));
    const b = deriveIdentity(Uint8Array.from(key(7)));
    assert.deepEqual(a, b);
    assert.match(a.accountId, /^co_z[1-9A-HJ-NP-Za-km-z]+$/);
    assert.match(a.agentSecret, /^sealerSecret_z.+\/signerSecret_z.+$/);
  });

  it("gives a different account for a different key", () => {
    const a = deriveIdentity(key(7));
    const b = deriveIdentity(key(8));
    assert.notEqual(a.accountId, b.accountId);
    assert.notEqual(a.agentSecret, b.agentSecret);
  });

  it("is Jazz's own derivation: agentSecretFromSecretSeed, then the account header's ID", () => {
    const secret = jazzCrypto.agentSecretFromSecretSeed(key(9));
    assert.equal(deriveIdentity(key(9)).agentSecret, secret);
    assert.equal(deriveIdentity(key(9)).accountId, accountIdForSecret(secret));
  });

  it("pins a known vector, so a cojson upgrade that changes the derivation is noticed", () => {
    // Computed with cojson 0.20.19. If this changes, existing users would reach a new, empty account.
    assert.equal(deriveIdentity(key(1)).accountId, PINNED_ACCOUNT_ID);
  });

  it("rejects keys that are not 32 bytes", () => {
    assert.throws(() => deriveIdentity(new Uint8Array(31)), RangeError);
    assert.throws(() => deriveIdentity(new Uint8Array(33)), RangeError);
  });
});

const PINNED_ACCOUNT_ID = "co_zTU3ysLQKoP63TP2Fm1dNUoBwXb";
