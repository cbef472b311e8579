// The optional Prometheus scrape endpoint: `GET /metrics` on 127.0.0.1:<metricsPort>, serving the
// same Registry as `daemon.metrics`. Loopback only, because the endpoint has no authentication and
// the counters say when and how much the user works; anything off the machine should scrape
// through the socket or a tunnel of its own.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log/logger.js";

/** The only address the endpoint listens on. */
export const METRICS_HOST = "127.0.0.1";

export interface MetricsServer {
  /** Where it listens (host is always 127.0.0.1; port is the one asked for). */
  readonly address: { host: string; port: number };
  /**
   * Stops listening and drops open (keep-alive) connections so shutdown never waits on a
   * scraper. Resolves once the listening socket is closed; never rejects.
   */
  close(): Promise<void>;
}

/** The port could not be bound (taken, or not permitted): a start-up error of the daemon. */
export class MetricsPortError extends Error {
  constructor(
    readonly port: number,
    readonly errno: string,
  ) {
    const why =
      errno === "EADDRINUSE"
        ? "is already in use"
        : errno === "EACCES"
          ? "is not permitted"
          : `cannot be bound (${errno})`;
    super(
      `metrics port ${METRICS_HOST}:${port} ${why}; choose another --metrics-port / "metricsPort", or 0 to turn it off`,
    );
    this.name = "MetricsPortError";
  }
}

/** Listens on 127.0.0.1:`port` (1-65535). Rejects with MetricsPortError when it cannot bind. */
export async function startMetricsServer(opts: {
  registry: Registry;
  port: number;
  logger: Logger;
}): Promise<MetricsServer> {
  const { registry, logger } = opts;
  const server = createServer((req, res) => {
    // One failing scrape (a collect() that throws) answers 500 and is logged; it never takes
    // the daemon down.
    handle(registry, req, res).catch((err: unknown) => {
      logger.warn({ err }, "metrics scrape failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("internal error\n");
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new MetricsPortError(opts.port, err.code ?? "error"));
    };
    server.once("error", onError);
    server.listen({ host: METRICS_HOST, port: opts.port, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => logger.warn({ err }, "metrics server error"));
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  logger.info({ metrics: `http://${address.host}:${address.port}/metrics`, ...address }, "metrics endpoint");

  let closing: Promise<void> | null = null;
  return {
    address,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function handle(registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path !== "/metrics") {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try /metrics\n");
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end();
    return;
  }
  const text = await registry.metrics();
  res.writeHead(200, {
    "content-type": registry.contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(req.method === "HEAD" ? undefined : text);
}
