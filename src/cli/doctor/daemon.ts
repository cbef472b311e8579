// Checks that ask the daemon: does it answer, is it the version of this client, and what does it
// say about its link to the relay. None of them starts the daemon.
import { ErrorCode } from "../../protocol.js";
import { DAEMON_VERSION } from "../../version.js";
import { fail, ok, skip, warn, type Check, type Finding } from "./check.js";
import { DAEMON_STEP_TIMEOUT_MS, type DoctorContext } from "./context.js";
import { displayUrl } from "./relay.js";

/** Backstop for the checks that wait on the daemon: connect + ping + health, each timed out. */
const DAEMON_CHECK_TIMEOUT_MS = 4 * DAEMON_STEP_TIMEOUT_MS;
/** A relay round trip slower than this makes every sync feel stuck. */
const SLOW_RELAY_MS = 1_000;

export const daemonCheck: Check<DoctorContext> = {
  name: "daemon",
  timeoutMs: DAEMON_CHECK_TIMEOUT_MS,
  run: async (ctx) => {
    const d = await ctx.daemon();
    if (!d.reachable) return fail(d.reason, "run `caro-sync start`");
    const state = `${d.health.state}${d.health.paused ? ", paused" : ""}`;
    return ok(`answers daemon.ping on ${ctx.config.socketPath} (${state})`);
  },
};

export const daemonVersionCheck: Check<DoctorContext> = {
  name: "daemon-version",
  timeoutMs: DAEMON_CHECK_TIMEOUT_MS,
  run: async (ctx) => {
    const d = await ctx.daemon();
    if (!d.reachable) return skip("the daemon is not running");
    return compareVersions(d.ping.version, DAEMON_VERSION);
  },
};

/** Equal is ok; another major cannot be relied on to speak the same protocol; else a warning. */
export function compareVersions(daemon: string, client: string): Finding {
  if (daemon === client) return ok(`daemon ${daemon} = client ${client}`);
  const detail = `the daemon runs ${daemon}, this client is ${client}`;
  const hint = "run `caro-sync restart` to run this version";
  return major(daemon) === major(client) ? warn(detail, hint) : fail(detail, hint);
}

function major(version: string): string {
  return version.split(".")[0] ?? version;
}

export const relayFromDaemonCheck: Check<DoctorContext> = {
  name: "relay-daemon",
  timeoutMs: DAEMON_CHECK_TIMEOUT_MS,
  run: async (ctx) => {
    const d = await ctx.daemon();
    if (!d.reachable) return skip("the daemon is not running");
    const { jazz, lastError, paused, state } = d.health;
    const relay = displayUrl(jazz.relay);
    if (state === "UNINITIALIZED") {
      return skip("the daemon has no identity yet; it connects after `caro-sync init` or `caro-sync join`");
    }
    if (lastError?.code === ErrorCode.InvalidCredentials) {
      return fail(
        `${relay} refused the account: ${lastError.message}`,
        "check the relay URL (CARO_SYNC_RELAY or `relay` in the config file), then `caro-sync restart`",
      );
    }
    if (paused) return warn(`sync is paused (relay ${relay})`, "run `caro-sync resume`");
    if (!jazz.connected) {
      const why = lastError ? `: ${lastError.message}` : "";
      return warn(
        `not connected to ${relay}${why}; changes wait in the local queue`,
        "check the network or the relay URL; `caro-sync now` retries at once",
      );
    }
    if (jazz.latency === null) return ok(`connected to ${relay}`);
    const latency = `connected to ${relay}, latency ${jazz.latency} ms`;
    if (jazz.latency > SLOW_RELAY_MS)
      return warn(`${latency} (slow)`, "check the network or use a closer relay");
    return ok(latency);
  },
};
