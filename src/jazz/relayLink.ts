// One WebSocket link to the relay, opened by us (not by Jazz's reconnecting peer) so that every
// failure is classified for the retry policy, then handed to Jazz as a sync peer.
//
// A link counts as established only once the relay's first message arrives: that is when Jazz
// itself considers a server connected. Latency is the round trip of a WebSocket ping frame, which
// any relay answers at the protocol level and which does not depend on the two clocks agreeing.
import { createWebSocketPeer } from "cojson-transport-ws";
import type { WebSocket as WsWebSocket } from "ws";
import type { Clock, TimerHandle } from "../sync/clock.js";
import type { ClockSample } from "./cojsonAdapter.js";
import { withDeadline } from "../sync/deadline.js";
import { RemoteConnectError, type ConnectFailure } from "../sync/remote.js";

export type WebSocketConstructor = typeof WsWebSocket;

export interface LinkHooks {
  /** Call on the first message from the relay. */
  onSuccess(): void;
  /** Call when Jazz drops the peer (socket closed or relay silent past the ping timeout). */
  onClose(): void;
}

export interface RelayLinkOptions {
  url: string;
  WebSocket: WebSocketConstructor;
  clock: Clock;
  /** Bound on upgrade + first message. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** How often to measure the round trip while connected; 0 disables. */
  latencyIntervalMs?: number;
  /**
   * Hands the open socket to Jazz. Runs synchronously in the 'open' handler so that no message
   * can arrive before Jazz listens.
   */
  attach(websocket: WsWebSocket, hooks: LinkHooks): void;
}

export class RelayLink {
  private closedByUs = false;
  private socketClosed = false;
  private ended = false;
  private readonly closeListeners = new Set<(failure: ConnectFailure) => void>();
  private latency: number | null = null;
  private pingSentAt: number | null = null;
  private latencyTimer: TimerHandle | null = null;

  private constructor(
    private readonly ws: WsWebSocket,
    private readonly opts: RelayLinkOptions,
  ) {}

  /** Makes one attempt; rejects with RemoteConnectError saying why it failed. */
  static open(opts: RelayLinkOptions): Promise<RelayLink> {
    let fail: (failure: ConnectFailure) => void = () => undefined;
    const attempt = new Promise<RelayLink>((resolve, reject) => {
      let ws: WsWebSocket;
      try {
        ws = new opts.WebSocket(opts.url, { handshakeTimeout: opts.timeoutMs, perMessageDeflate: false });
      } catch (err) {
        reject(
          new RemoteConnectError({ kind: "invalidData", message: `bad relay URL: ${errorMessage(err)}` }),
        );
        return;
      }
      const link = new RelayLink(ws, opts);
      let settled = false;
      fail = (failure: ConnectFailure) => {
        if (settled) return;
        settled = true;
        link.closedByUs = true;
        ws.terminate();
        reject(new RemoteConnectError(failure));
      };

      // An unhandled 'error' event would crash the process: this listener stays for the socket's life.
      ws.on("error", (err) => fail(classifySocketError(err, opts.timeoutMs)));
      ws.on("unexpected-response", (req, res) => {
        res.resume();
        req.destroy();
        fail(classifyStatus(res.statusCode ?? 0, res.headers["retry-after"]));
      });
      ws.on("close", () => {
        link.socketClosed = true;
        fail({ kind: "network", message: "relay closed the connection during the handshake" });
        link.end();
      });
      ws.on("pong", () => link.onPong());
      const hooks: LinkHooks = {
        onSuccess: () => {
          if (settled) return;
          settled = true;
          link.startLatencyTimer();
          resolve(link);
        },
        onClose: () => {
          fail({ kind: "network", message: "relay closed the connection before it answered" });
          link.end();
        },
      };
      ws.once("open", () => {
        try {
          opts.attach(ws, hooks);
        } catch (err) {
          fail({ kind: "network", message: `could not attach the relay link: ${errorMessage(err)}` });
        }
      });
    });
    // One bound on upgrade + first message, on the injected clock; an abort ends the attempt alike.
    return withDeadline(attempt, {
      ms: opts.timeoutMs,
      clock: opts.clock,
      signal: opts.signal,
      onTimeout: (why) => {
        fail(
          why === "timeout"
            ? {
                kind: "timeout",
                message: `relay did not answer within ${opts.timeoutMs} ms`,
                afterMs: opts.timeoutMs,
              }
            : { kind: "network", message: "connection attempt aborted" },
        );
        return attempt;
      },
    });
  }

  /** Last measured round trip in ms (null until the first pong, and after the link ends). */
  latencyMs(): number | null {
    return this.ended ? null : this.latency;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Called once when the link ends without close() having been called. */
  onClosed(listener: (failure: ConnectFailure) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes the link; onClosed listeners do not fire. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.ws.close();
    // A relay that never answers the close frame must not keep the socket half-open.
    const socket = this.ws;
    this.opts.clock.setTimeout(() => socket.terminate(), 1000, { unref: true });
    this.end();
  }

  /** Sends a ping frame now (if none is outstanding). */
  measureLatency(): void {
    if (this.ended || this.pingSentAt !== null || this.ws.readyState !== this.ws.OPEN) return;
    this.pingSentAt = performance.now();
    this.ws.ping();
  }

  private onPong(): void {
    if (this.pingSentAt === null) return;
    this.latency = Math.max(0, Math.round((performance.now() - this.pingSentAt) * 10) / 10);
    this.pingSentAt = null;
  }

  private startLatencyTimer(): void {
    this.measureLatency();
    const interval = this.opts.latencyIntervalMs ?? 10_000;
    if (interval <= 0) return;
    const tick = () => {
      if (this.ended) return;
      // A ping still unanswered after a whole interval says the relay is slower than that.
      if (this.pingSentAt !== null) this.latency = Math.round(performance.now() - this.pingSentAt);
      this.pingSentAt = null;
      this.measureLatency();
      this.latencyTimer = this.opts.clock.setTimeout(tick, interval, { unref: true });
    };
    // A measurement only: it must not keep a process alive (the socket does, while it is open).
    this.latencyTimer = this.opts.clock.setTimeout(tick, interval, { unref: true });
  }

  /** The link is over: stop timers, tell listeners why (unless we closed it). */
  private end(failure?: ConnectFailure): void {
    if (this.ended) return;
    this.ended = true;
    if (this.latencyTimer !== null) this.opts.clock.clearTimeout(this.latencyTimer);
    this.latencyTimer = null;
    if (this.closedByUs) return;
    const why = failure ?? this.failureOnDrop();
    for (const listener of [...this.closeListeners]) listener(why);
    this.closeListeners.clear();
  }

  private failureOnDrop(): ConnectFailure {
    // The socket's own 'close' comes first when the connection broke; Jazz dropping the peer
    // before it means the relay went silent (ping timeout) on a socket that was still open.
    if (this.socketClosed) return { kind: "network", message: "relay connection closed" };
    return { kind: "timeout", message: "relay stopped answering (no ping within the timeout)" };
  }
}

/** `message` keeps the raw detail for the log; clients see sync/failures.ts's text built from kind, errno, afterMs. */
function classifySocketError(err: Error & { code?: string }, timeoutMs: number): ConnectFailure {
  const handshake = /handshake has timed out/i.test(err.message);
  if (handshake || err.code === "ETIMEDOUT") {
    const afterMs = handshake ? timeoutMs : undefined;
    return { kind: "timeout", message: `relay did not answer: ${err.message}`, afterMs };
  }
  return { kind: "network", message: `relay unreachable: ${err.code ?? err.message}`, errno: err.code };
}

/** Maps the HTTP status of a refused WebSocket upgrade to a retry-policy failure. */
export function classifyStatus(status: number, retryAfter: string | string[] | undefined): ConnectFailure {
  if (status === 429) {
    return {
      kind: "rateLimited",
      message: "relay is rate limiting (HTTP 429)",
      retryAfterMs: parseRetryAfter(retryAfter),
    };
  }
  if (status === 401 || status === 403) {
    return { kind: "auth", message: `relay refused the credentials (HTTP ${status})`, status };
  }
  // Other statuses (5xx, and 4xx a relay should not send) are the server's problem: retried, bounded.
  return { kind: "server", message: `relay answered HTTP ${status}`, status };
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms; null when absent/invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return null;
  if (/^\s*\d+\s*$/.test(raw)) return Number(raw) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The relay's peer ID in the node: constant, so a reconnect continues the same peer state. */
export const RELAY_PEER_ID = "caro-sync-relay";
export interface RelayConnector {
  url: string;
  WebSocket: WebSocketConstructor;
  clock: Clock;
  connectTimeoutMs: number;
  latencyIntervalMs: number;
  /** Silence after which Jazz drops the link (the relay pings every ~1.5 s). */
  pingTimeoutMs: number;
}

/** Opens a link whose socket becomes a Jazz server peer the moment it opens. */
export function openRelayLink(
  relay: RelayConnector,
  onPeer: (peer: ReturnType<typeof createWebSocketPeer>) => void,
  signal?: AbortSignal,
  /** Each relay ping's time (the node's clock offset: cojsonAdapter addClockSample). */
  onPing?: (sample: ClockSample) => void,
): Promise<RelayLink> {
  return RelayLink.open({
    url: relay.url,
    WebSocket: relay.WebSocket,
    clock: relay.clock,
    timeoutMs: relay.connectTimeoutMs,
    latencyIntervalMs: relay.latencyIntervalMs,
    signal,
    attach: (websocket, hooks) =>
      onPeer(
        createWebSocketPeer({
          id: RELAY_PEER_ID,
          role: "server",
          websocket,
          pingTimeout: relay.pingTimeoutMs,
          onSuccess: () => hooks.onSuccess(),
          onClose: () => hooks.onClose(),
          ...(onPing && { onPingReceived: onPing }),
        }),
      ),
  });
}
