// The Remote contract suite against the real one: JazzSyncService with its own Jazz storage per
// device, on a real relay on loopback (in-process; stopped and started again on the same port for
// the relay controls).
import { join } from "node:path";
import { WebSocket } from "ws";
import { JazzSyncService } from "../../src/jazz/JazzSyncService.js";
import { silentLogger } from "../../src/log/logger.js";
import { startRelay, type RelayHandle } from "../../src/relay/server.js";
import { freePort } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { runRemoteContractTests } from "./remoteContract.js";

runRemoteContractTests("JazzSyncService (real relay)", async () => {
  const dir = await tempDir("cs-rc-");
  const port = await freePort();
  const listen = () => startRelay({ port, inMemory: true, logger: silentLogger });
  let relay: RelayHandle | null = await listen();
  let devices = 0;
  return {
    device: () =>
      new JazzSyncService({
        relayUrl: `ws://127.0.0.1:${port}`,
        storagePath: join(dir.path, `device-${++devices}.jazz.db`),
        logger: silentLogger,
        WebSocket,
        loadTimeoutMs: 5_000,
        connectTimeoutMs: 5_000,
      }),
    relayDown: async () => {
      await relay?.close();
      relay = null;
    },
    relayUp: async () => {
      relay ??= await listen();
    },
    // The relay runs in memory: started again, it holds nothing.
    relayRestartEmpty: async () => {
      await relay?.close();
      relay = await listen();
    },
    cleanup: async () => {
      await relay?.close();
      await dir.cleanup();
    },
  };
});
