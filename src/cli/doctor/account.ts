// Do this client's keys and the daemon's identity belong to the same account? Keys of one account
// and a daemon of another would encrypt history the other devices cannot read.
import { readFileSync } from "node:fs";
import { KeysFile } from "../../client/crypto/index.js";
import { fail, ok, skip, warn, type Check } from "./check.js";
import type { DoctorContext } from "./context.js";

const FIX_MISMATCH =
  "run `caro-sync reset`, then `caro-sync join` with the recovery phrase of the account you want";

export const accountCheck: Check<DoctorContext> = {
  name: "account",
  timeoutMs: 8_000,
  run: async (ctx) => {
    const keysAccount = keysAccountId(ctx.keysPath);
    if (keysAccount === null) return skip("no usable keys file (see keys-file)");
    const daemon = await daemonAccountId(ctx);
    if (daemon.accountId === null) {
      if (daemon.source === "the credentials file")
        return skip(
          daemon.initializing
            ? "the daemon is still initializing: run `caro-sync doctor` again"
            : "the daemon is not running and not initialized",
        );
      return warn(
        `the keys are for ${keysAccount}, the daemon has no identity yet`,
        "run `caro-sync join` with your recovery phrase",
      );
    }
    if (daemon.accountId !== keysAccount) {
      return fail(
        `the keys are for ${keysAccount}, ${daemon.source} is for ${daemon.accountId}`,
        FIX_MISMATCH,
      );
    }
    return ok(`keys and ${daemon.source} both belong to ${keysAccount}`);
  },
};

function keysAccountId(path: string): string | null {
  try {
    return new KeysFile(path).load()?.accountId ?? null;
  } catch {
    return null;
  }
}

/**
 * The running daemon's `sync.status` accountId; with the daemon down, or still INITIALIZING (it
 * refuses sync.status while it loads the identity of its credentials file), the accountId field of
 * the credentials file (the rest of it, secrets included, is never looked at or printed).
 */
async function daemonAccountId(ctx: DoctorContext): Promise<{
  accountId: string | null;
  source: "the daemon" | "the credentials file";
  initializing: boolean;
}> {
  const d = await ctx.daemon();
  const initializing = d.reachable && d.health.state === "INITIALIZING";
  if (d.reachable && !initializing)
    return { accountId: d.status?.accountId ?? null, source: "the daemon", initializing };
  let accountId: string | null = null;
  try {
    const parsed = JSON.parse(readFileSync(ctx.config.credentialsPath, "utf8")) as { accountId?: unknown };
    if (typeof parsed.accountId === "string" && parsed.accountId !== "") accountId = parsed.accountId;
  } catch {
    // Absent or unreadable: the credentials-file check says which.
  }
  return { accountId, source: "the credentials file", initializing };
}
