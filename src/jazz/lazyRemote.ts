// The daemon's Remote: JazzSyncService, imported on first use. Jazz (jazz-tools, cojson, their
// crypto and telemetry, ws: about 300 modules, and a native or WASM crypto to initialise) is needed
// only to open an account, so a daemon without an identity answers on its socket without loading
// it; with one, it loads after the socket answers (main.ts). Static imports here are types only,
// and nothing here loads cojson (the boundary of docs/jazz.md is JazzSyncService's).
import type { WriteHealth } from "../fs/writeHealth.js";
import type { StorageFault } from "../sync/storageFault.js";
import type { Remote, RemoteIdentity, RemoteSession } from "../sync/remote.js";
import type { JazzSyncService, JazzSyncServiceOptions } from "./JazzSyncService.js";
import { jazzStorageHealth } from "./storageHealth.js";

export type LazyJazzRemoteOptions = Omit<JazzSyncServiceOptions, "WebSocket" | "storageHealth">;

export class LazyJazzRemote implements Remote {
  private service: JazzSyncService | null = null;
  private loading: Promise<JazzSyncService> | null = null;
  /** The storage's health from the start: daemon.health reports it before Jazz is loaded. */
  private readonly storageHealth: WriteHealth;

  constructor(private readonly opts: LazyJazzRemoteOptions) {
    this.storageHealth = jazzStorageHealth(opts.storagePath, opts.logger);
  }

  /** Imports Jazz and builds the service, once. A failed import is retried by the next call. */
  load(): Promise<JazzSyncService> {
    this.loading ??= this.importService().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  async ready(): Promise<void> {
    await this.load();
  }

  deriveIdentity(authKey: Uint8Array): RemoteIdentity {
    if (!this.service) throw new Error("Jazz is not loaded yet: await ready() before deriveIdentity()");
    return this.service.deriveIdentity(authKey);
  }

  async open(opts: { identity: RemoteIdentity; mode: "create" | "join" }): Promise<RemoteSession> {
    return (await this.load()).open(opts);
  }

  async forgetLocalData(): Promise<void> {
    await (await this.load()).forgetLocalData();
  }

  storageFault(): StorageFault | null {
    // The same WriteHealth the service reports once loaded.
    return this.storageHealth.probe();
  }

  private async importService(): Promise<JazzSyncService> {
    const started = performance.now();
    const [{ JazzSyncService }, { WebSocket }] = await Promise.all([
      import("./JazzSyncService.js"),
      import("ws"),
    ]);
    this.service = new JazzSyncService({ ...this.opts, WebSocket, storageHealth: this.storageHealth });
    this.opts.logger.debug({ ms: Math.round(performance.now() - started) }, "jazz loaded");
    return this.service;
  }
}
