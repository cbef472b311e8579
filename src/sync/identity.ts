// authKey checking and identity derivation for sync.init.
import { createHash } from "node:crypto";
import { ErrorCode, SyncError } from "../protocol.js";

export const AUTH_KEY_BYTES = 32;

/** What sync.init stores: the Remote's RemoteIdentity, or the local placeholder (agentSecret null). */
export interface SyncIdentity {
  accountId: string;
  agentSecret: string | null;
}

export type DeriveIdentity = (authKey: Uint8Array) => SyncIdentity;

/** Decodes the authKey: canonical base64 of exactly 32 bytes, else -32602 naming the field. */
export function decodeAuthKey(b64: string): Uint8Array {
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== AUTH_KEY_BYTES || bytes.toString("base64") !== b64) {
    throw new SyncError(ErrorCode.InvalidParams, "Invalid params", {
      field: "authKey",
      hint: `authKey must be the base64 of exactly ${AUTH_KEY_BYTES} bytes`,
    });
  }
  return bytes;
}

/**
 * The identity used when no Remote is wired (local-only daemon): a deterministic account ID,
 * "local:" + the first 16 bytes of sha256(authKey) in hex, and no agent secret. Two devices with
 * the same authKey get the same ID. Once a Remote exists it derives the real Jazz identity; an
 * identity stored as "local:…" cannot be opened by a Remote and must be reset and initialised again.
 */
export const localDeriveIdentity: DeriveIdentity = (authKey) => ({
  accountId: `local:${createHash("sha256").update(authKey).digest("hex").slice(0, 32)}`,
  agentSecret: null,
});

/**
 * Derives the identity for sync.init and checks a joining device's accountId against it
 * (-32002, before anything is stored). `checkable` is false for the local placeholder, which
 * cannot know the Jazz account ID a client was given.
 */
export function identityForInit(
  params: { authKey: string; accountId?: string | undefined },
  derive: DeriveIdentity,
  checkable: boolean,
): SyncIdentity {
  const identity = derive(decodeAuthKey(params.authKey));
  if (params.accountId !== undefined && checkable && params.accountId !== identity.accountId) {
    throw new SyncError(ErrorCode.InvalidCredentials, undefined, {
      field: "accountId",
      hint: "the authKey does not belong to this account; check the recovery phrase",
    });
  }
  return identity;
}
