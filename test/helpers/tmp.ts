import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A temp directory removed by `cleanup()`. Unix socket paths are limited to ~107 bytes, so it sits
 * directly under the system temp dir with a short name.
 */
export async function tempDir(prefix = "cs-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
