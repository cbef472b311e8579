// A real, tiny file system for storage-fault tests: a tmpfs of a few MiB mounted on a temp dir,
// which a test fills (a filler file up to ENOSPC) and frees, or remounts read-only and back.
// Mounting needs root. Without it, or when mount fails, the test is skipped and says why; but in
// CI (the CI variable set) as root a failed mount fails the test, so the suite cannot go quiet.
//
// Linux refuses to remount a file system read-only while a process has a file on it open for
// writing (EBUSY): a read-only test remounts while the daemon is stopped.
import { execFileSync } from "node:child_process";
import { closeSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { tempDir } from "./tmp.js";

export interface SmallDisk {
  /** The mount point: put the files under test here. */
  readonly path: string;
  /** Writes a filler file until the file system is full (ENOSPC). */
  fill(): void;
  /** Deletes the filler file. */
  free(): void;
  /** Bytes still free for writing. */
  freeBytes(): number;
  /** `mount -o remount,ro`; throws (EBUSY) while a process has a file here open for writing. */
  remountReadOnly(): void;
  remountReadWrite(): void;
  /** Unmounts and removes the mount point (also after a failed test). */
  cleanup(): Promise<void>;
}

const CHUNKS = [64 * 1024, 4096, 512];

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh temp dir. Resolves with null after `t.skip(reason)`
 * when this machine cannot mount (not root, or mount failed outside CI).
 */
export async function mountSmallDisk(t: TestContext, opts: { sizeBytes: number }): Promise<SmallDisk | null> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    t.skip("needs root on Linux to mount a tmpfs");
    return null;
  }
  const dir = await tempDir("csdisk-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${opts.sizeBytes},mode=0700`, "tmpfs", dir.path], {
      stdio: "pipe",
    });
  } catch (err) {
    await dir.cleanup();
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
    if (process.env.CI) throw new Error(`mounting a tmpfs failed as root in CI: ${detail}`);
    t.skip(`cannot mount a tmpfs: ${detail}`);
    return null;
  }
  const filler = join(dir.path, "filler");
  const remount = (mode: "ro" | "rw") =>
    execFileSync("mount", ["-o", `remount,${mode}`, dir.path], { stdio: "pipe" });
  let mounted = true;
  return {
    path: dir.path,
    fill: () => {
      const fd = openSync(filler, "a");
      try {
        for (const size of CHUNKS) {
          const chunk = Buffer.alloc(size, 0x5a);
          for (;;) {
            try {
              writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    freeBytes: () => {
      const s = statfsSync(dir.path);
      return s.bavail * s.bsize;
    },
    remountReadOnly: () => remount("ro"),
    remountReadWrite: () => remount("rw"),
    cleanup: async () => {
      if (mounted) {
        try {
          execFileSync("umount", [dir.path], { stdio: "pipe" });
        } catch {
          // Still busy (a process that outlived its test): detach it; the kernel frees it later.
          execFileSync("umount", ["-l", dir.path], { stdio: "pipe" });
        }
        mounted = false;
      }
      await dir.cleanup();
    },
  };
}
