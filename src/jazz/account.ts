// Deterministic Jazz identity from the client's 32-byte authKey (sync.init): the agent secret is
// Jazz's `agentSecretFromSecretSeed(authKey)` and the account ID is the ID of the account header
// that secret implies, exactly as Jazz's passphrase auth derives it. So every device (and any other
// Jazz client) holding the authKey reaches the same account.
//
// The account-ID step uses cojson internals, through cojsonAdapter.ts (accountIdForAgentSecret);
// test/jazz/account.test.ts pins a known vector.
import type { AgentSecret, CryptoProvider } from "cojson";
import type { RemoteIdentity } from "../sync/remote.js";
import { accountIdForAgentSecret } from "./cojsonAdapter.js";
import { jazzCrypto } from "./crypto.js";

export const AUTH_KEY_BYTES = 32;

export function deriveIdentity(authKey: Uint8Array, crypto: CryptoProvider = jazzCrypto): RemoteIdentity {
  if (authKey.length !== AUTH_KEY_BYTES) {
    throw new RangeError(`authKey must be ${AUTH_KEY_BYTES} bytes, got ${authKey.length}`);
  }
  const agentSecret = crypto.agentSecretFromSecretSeed(authKey);
  return { accountId: accountIdForSecret(agentSecret, crypto), agentSecret };
}

/** The ID of the account whose initial agent is `agentSecret`. */
export function accountIdForSecret(agentSecret: AgentSecret, crypto: CryptoProvider = jazzCrypto): string {
  return accountIdForAgentSecret(agentSecret, crypto);
}
