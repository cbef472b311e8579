// The relay seen from here, independently of the daemon: one WebSocket opening handshake to the
// configured URL, timed. Unreachable is only a warning (the daemon works offline); a relay that
// answers the upgrade with 401/403 will never let the daemon in, which is a failure.
import { WebSocket } from "ws";
import { fail, ok, skip, warn, type Check } from "./check.js";
import type { DoctorContext } from "./context.js";

export const RELAY_HANDSHAKE_TIMEOUT_MS = 5_000;

export type HandshakeOutcome =
  | { kind: "open"; ms: number }
  | { kind: "http"; status: number; ms: number }
  | { kind: "unreachable"; reason: string }
  | { kind: "timeout"; ms: number };

/**
 * Opens one WebSocket to `url` and closes it as soon as the handshake is over. Settles within
 * `timeoutMs`, or as soon as `signal` aborts; never rejects.
 */
export function probeRelay(
  url: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HandshakeOutcome> {
  const timeoutMs = opts.timeoutMs ?? RELAY_HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
    } catch (err) {
      resolve({ kind: "unreachable", reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    let settled = false;
    const settle = (outcome: HandshakeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
      resolve(outcome);
    };
    const onAbort = () => settle({ kind: "timeout", ms: elapsed() });
    const timer = setTimeout(onAbort, timeoutMs);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    ws.once("open", () => settle({ kind: "open", ms: elapsed() }));
    ws.once("unexpected-response", (req, res) => {
      settle({ kind: "http", status: res.statusCode ?? 0, ms: elapsed() });
      res.resume();
      req.destroy();
    });
    ws.once("error", (err: NodeJS.ErrnoException) => {
      if (/handshake has timed out/i.test(err.message)) settle({ kind: "timeout", ms: elapsed() });
      else settle({ kind: "unreachable", reason: err.code ?? err.message });
    });
  });
}

/** The URL without its query and credentials: a hosted relay's API key often sits in `?key=`. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}

export const relayHandshakeCheck: Check<DoctorContext> = {
  name: "relay-handshake",
  timeoutMs: RELAY_HANDSHAKE_TIMEOUT_MS + 2_000,
  run: async (ctx, signal) => {
    if (ctx.configError) return skip("the configuration is invalid, so the relay URL is unknown");
    const relay = displayUrl(ctx.config.relay);
    const outcome = await probeRelay(ctx.config.relay, { signal });
    const offline = "the daemon works offline and syncs once the relay is reachable";
    switch (outcome.kind) {
      case "open":
        return ok(`WebSocket handshake with ${relay} in ${outcome.ms} ms`);
      case "http":
        if (outcome.status === 401 || outcome.status === 403) {
          return fail(
            `${relay} refused the WebSocket upgrade (HTTP ${outcome.status})`,
            "check the relay URL and its API key (CARO_SYNC_RELAY or `relay` in the config file), then `caro-sync restart`",
          );
        }
        return warn(
          `${relay} answered the upgrade with HTTP ${outcome.status}; ${offline}`,
          "check the relay URL",
        );
      case "timeout":
        return warn(
          `no handshake with ${relay} within ${RELAY_HANDSHAKE_TIMEOUT_MS} ms; ${offline}`,
          "check the network",
        );
      case "unreachable":
        return warn(
          `${relay} is unreachable (${outcome.reason}); ${offline}`,
          "check the network or the relay URL",
        );
    }
  },
};
