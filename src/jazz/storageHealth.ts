// The write health of Jazz's storage file, apart from the driver (which loads cojson): the daemon
// reports it in daemon.health before Jazz is ever loaded (jazz/lazyRemote.ts).
import { WriteHealth } from "../fs/writeHealth.js";
import type { Logger } from "../log/logger.js";

/**
 * The WriteHealth of the Jazz storage at `path` (daemon.health's view of it), logging each change.
 * Once a write has failed its probe rewrites the schema version, to notice the disk coming back.
 */
export function jazzStorageHealth(path: string, logger: Logger): WriteHealth {
  return new WriteHealth({
    store: "jazz",
    file: path,
    onChange: (fault, cause) =>
      fault
        ? logger.warn({ err: cause, reason: fault.reason }, "jazz storage cannot be written")
        : logger.info("jazz storage is writable again"),
  });
}
