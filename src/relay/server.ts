// The self-hosted Jazz relay: Jazz's own server-side sync (a cojson LocalNode holding every
// CoValue it is sent, with SQLite persistence) behind a `ws` WebSocketServer, plus GET /health.
// It cannot read anything: content is encrypted for the accounts, and the relay has no key.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { LocalNode } from "cojson";
import { createWebSocketPeer } from "cojson-transport-ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../log/logger.js";
import { addSyncPeer } from "../jazz/cojsonAdapter.js";
import { routeCojsonLogs } from "../jazz/cojsonLog.js";
import { jazzCrypto, logJazzCrypto } from "../jazz/crypto.js";
import { openJazzStorage, type BetterSqliteDriver } from "../jazz/sqliteDriver.js";
import { DeferredSendSocket } from "./deferredSocket.js";

export interface RelayOptions {
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** SQLite file for persistence; ignored with `inMemory`. */
  dbPath?: string;
  inMemory?: boolean;
  /**
   * "full" (default) fsyncs every commit, so what the relay acknowledged survives a power cut too
   * (clients never resend acknowledged content); "normal" survives a crash only (~0.2 ms instead
   * of ~3 ms per commit here).
   */
  durability?: "full" | "normal";
  logger: Logger;
  /**
   * How often the relay pings each client. A Jazz client counts as connected only after the first
   * message and drops the link after 10 s of silence, so this must stay well below 10 s.
   */
  pingIntervalMs?: number;
}

export interface RelayHandle {
  /** ws://host:port */
  url: string;
  port: number;
  /** Stops accepting, closes every client socket, then closes storage. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_RELAY_PORT = 4200;
const DEFAULT_PING_INTERVAL_MS = 1500;
const PING_DC = "caro-sync";

export async function startRelay(opts: RelayOptions): Promise<RelayHandle> {
  const log = opts.logger;
  const host = opts.host ?? "127.0.0.1";
  const pingIntervalMs = opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  routeCojsonLogs(log);
  logJazzCrypto(log);

  const crypto = jazzCrypto;
  const agentSecret = crypto.newRandomAgentSecret();
  const node = new LocalNode(agentSecret, crypto.newRandomSessionID(crypto.getAgentID(agentSecret)), crypto);
  let driver: BetterSqliteDriver | null = null;
  if (opts.dbPath && !opts.inMemory) {
    const synchronous = opts.durability === "normal" ? "NORMAL" : "FULL";
    const opened = openJazzStorage(opts.dbPath, { synchronous });
    driver = opened.driver;
    node.setStorage(opened.storage);
  }
  // Without storage the relay is the only copy: never evict CoValues from memory then.
  if (driver) node.enableGarbageCollector();

  const sockets = new Set<WebSocket>();
  const http = createServer((req, res) => handleHttp(req, res, sockets.size));
  const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 * 1024 });

  wss.on("connection", (ws, req) => {
    sockets.add(ws);
    const id = `client-${randomUUID()}`;
    const sendPing = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "ping", time: Date.now(), dc: PING_DC }));
    };
    const pinger = setInterval(sendPing, pingIntervalMs);
    ws.on("error", (err) => log.debug({ err, peer: id }, "relay client socket error"));
    ws.on("close", () => {
      clearInterval(pinger);
      sockets.delete(ws);
      log.debug({ peer: id, clients: sockets.size }, "relay client disconnected");
    });
    try {
      addSyncPeer(
        node,
        createWebSocketPeer({
          id,
          role: "client",
          websocket: new DeferredSendSocket(ws),
          expectPings: false,
          batchingByDefault: false,
          deletePeerStateOnClose: true,
        }),
      );
    } catch (err) {
      log.warn({ err, peer: id }, "relay could not add peer");
      ws.terminate();
      return;
    }
    sendPing();
    log.debug(
      { peer: id, remote: req.socket.remoteAddress, clients: sockets.size },
      "relay client connected",
    );
  });
  wss.on("error", (err) => log.warn({ err }, "relay websocket server error"));

  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(opts.port ?? DEFAULT_RELAY_PORT, host, () => {
        http.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await node.gracefulShutdown().catch(() => undefined);
    driver?.closeDb();
    throw err;
  }
  http.on("error", (err) => log.warn({ err }, "relay http server error"));
  const port = (http.address() as { port: number }).port;
  const url = `ws://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info({ url, persistent: driver !== null }, "relay listening");

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= shutdown({ http, wss, sockets, node, driver, log }));
  return { url, port, close };
}

function handleHttp(req: IncomingMessage, res: ServerResponse, clients: number): void {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && path === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", clients }));
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: "not found" }));
}

async function shutdown(parts: {
  http: Server;
  wss: WebSocketServer;
  sockets: Set<WebSocket>;
  node: LocalNode;
  driver: BetterSqliteDriver | null;
  log: Logger;
}): Promise<void> {
  const { http, wss, sockets, node, driver, log } = parts;
  const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
  for (const ws of sockets) ws.terminate();
  sockets.clear();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  http.closeAllConnections();
  await httpClosed;
  try {
    // Drains peers and closes storage (it calls the driver's closeDb).
    await node.gracefulShutdown();
  } catch (err) {
    log.warn({ err }, "relay storage shutdown failed");
  }
  try {
    driver?.closeDb();
  } catch (err) {
    log.warn({ err }, "relay could not close its database");
  }
  log.info("relay stopped");
}
