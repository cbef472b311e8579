// The identity's lifecycle on this device, over the parts of syncParts.ts: sync.init (a new
// identity, stored before anything else happens), forgetting it (sync.reset, a refused join) and
// the ordered shutdown. The state changes are the connection machine's events.
import { randomUUID } from "node:crypto";
import { ErrorCode, SyncError, type InitResult, type ParamsOf } from "../protocol.js";
import type { Credentials } from "./credentials.js";
import { withDeadline } from "./deadline.js";
import { identityForInit } from "./identity.js";
import { RemoteConnectError } from "./remote.js";
import { StorageFaultError } from "./storageFault.js";
import type { SyncParts } from "./syncParts.js";

/** sync.init: derive and store a new identity, register the device, open the account. */
export async function initializeIdentity(p: SyncParts, params: ParamsOf<"sync.init">): Promise<InitResult> {
  const { cache, clock, remote, deriveIdentity } = p.deps;
  // Before the state check: from it to beginOpening nothing awaits, so two concurrent inits
  // cannot both pass it.
  await remote?.ready?.();
  if (p.relay.snapshot.state !== "UNINITIALIZED") {
    throw new SyncError(ErrorCode.AlreadyInitialized, undefined, {
      hint: "this device already has a sync identity; run `caro-sync reset` first to replace it",
    });
  }
  const mode = initMode(params);
  const identity = identityForInit(params, p.derive, remote !== null || deriveIdentity !== undefined);
  p.relay.beginOpening({ restoring: false });
  const creds: Credentials = {
    version: 1,
    ...identity,
    deviceId: randomUUID(),
    deviceName: params.deviceName,
    platform: params.platform,
    createdAt: clock.now(),
    syncRootId: null,
    mode,
  };
  try {
    // Leftovers of an earlier identity (an interrupted reset) must not leak into this one.
    cache.wipe();
    p.identity.save(creds);
    p.progress.clear();
    p.ops.registerDevice({ deviceId: creds.deviceId, name: creds.deviceName, platform: creds.platform });
  } catch (err) {
    // Nothing half-done stays behind: no identity, back to UNINITIALIZED.
    p.identity.forget();
    p.relay.dispatch({ type: "openAborted" });
    throw err;
  }
  const failure = await p.relay.openSession();
  if (mode === "join" && failure?.during === "open" && isAccountNotFound(failure.error)) {
    // The relay answered and does not know the account: a wrong phrase, or a first device that
    // never uploaded. Nothing of this attempt stays behind.
    await forgetIdentity(p);
    throw new SyncError(ErrorCode.InvalidCredentials, "the relay has no account for this recovery phrase", {
      reason: "account_not_found",
      hint: "check the phrase, or run `caro-sync init` on your first device and let it reach the relay",
    });
  }
  p.relay.dispatch({ type: "opened", reason: "init" });
  const { deviceId, syncRootId, accountId } = p.identity.get() ?? creds;
  return { success: true, deviceId, syncRootId, accountId, state: p.relay.snapshot.state };
}

/** Closes the session and deletes the identity and every local trace of it; → UNINITIALIZED. */
export async function forgetIdentity(p: SyncParts): Promise<void> {
  const { logger, cache, remote } = p.deps;
  p.relay.dispatch({ type: "forgetting" });
  try {
    await p.link.close();
  } catch (err) {
    logger.warn({ err }, "closing the remote session failed during reset");
  }
  // Credentials first: a crash before the wipe leaves a stale cache, which init wipes.
  p.identity.forget();
  // A disk that refuses the wipe (it writes) must not leave the reset half done: the identity is
  // gone either way, init wipes the stale cache, and the caller hears -32008 afterwards.
  let wipeFault: StorageFaultError | null = null;
  try {
    cache.wipe();
  } catch (err) {
    if (!(err instanceof StorageFaultError)) throw err;
    logger.warn({ err }, "the cache could not be wiped during reset; init wipes it");
    wipeFault = err;
  }
  try {
    await remote?.forgetLocalData();
  } catch (err) {
    logger.warn({ err }, "deleting the remote's local data failed during reset");
  }
  p.progress.clear();
  p.integrity.reset();
  p.relay.dispatch({ type: "forgotten" });
  if (wipeFault) throw wipeFault;
}

/**
 * Stops connecting; if connected, uploads for at most `finalUploadMs`; then saves the pull cursor
 * and closes the session and the cache. Each step's failure is logged and the next still runs.
 */
export async function closeSync(p: SyncParts, finalUploadMs: number): Promise<void> {
  const { logger, cache, clock } = p.deps;
  p.relay.dispatch({ type: "closing" });
  if (p.relay.isOnline && finalUploadMs > 0) {
    const upload = p.relay.syncRound().then(() => true);
    if (!(await withDeadline(upload, { ms: finalUploadMs, clock, onTimeout: () => false })))
      logger.warn({ pending: cache.queue.size() }, "the final upload did not finish in time");
  }
  const steps: [string, () => unknown][] = [
    ["saving the pull cursor", () => p.progress.saveHandedOut()],
    ["closing the remote session", () => p.link.close()],
    ["closing the cache", () => cache.close()],
  ];
  for (const [what, run] of steps) {
    try {
      await run();
    } catch (err) {
      logger.warn({ err }, `${what} failed`);
    }
  }
}

/** sync.init's mode: explicit, else "join" when an accountId is given. An accountId cannot create. */
function initMode(params: ParamsOf<"sync.init">): "create" | "join" {
  if (params.mode === "create" && params.accountId !== undefined)
    throw new SyncError(ErrorCode.InvalidParams, "Invalid params", {
      field: "mode",
      hint: 'an accountId means joining an existing account: omit it, or use mode "join"',
    });
  return params.mode ?? (params.accountId === undefined ? "create" : "join");
}

function isAccountNotFound(err: unknown): boolean {
  return err instanceof RemoteConnectError && err.failure.kind === "accountNotFound";
}
