// Builds a SyncManager on a real SQLite cache and credentials file in a temp dir, on a fake clock.
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { openLocalStores } from "../../src/cache/index.js";
import type { Config } from "../../src/config/schema.js";
import { DEFAULTS } from "../../src/config/schema.js";
import { silentLogger } from "../../src/log/logger.js";
import type { CredentialStore } from "../../src/sync/credentials.js";
import type { DeriveIdentity } from "../../src/sync/identity.js";
import type { LocalCache } from "../../src/sync/localCache.js";
import type { Remote } from "../../src/sync/remote.js";
import { SyncManager } from "../../src/sync/SyncManager.js";
import { FakeClock } from "../helpers/fakeClock.js";
import { tempDir } from "../helpers/tmp.js";

export type TestConfig = Pick<
  Config,
  | "relay"
  | "cacheMaxSize"
  | "offlineQueueTtlMs"
  | "pushRatePerSecond"
  | "pushBurst"
  | "syncIntervalMs"
  | "cachePath"
  | "credentialsPath"
>;

export const AUTH_KEY = Buffer.alloc(32, 7).toString("base64");

export function testConfig(dir: string, overrides: Partial<TestConfig> = {}): TestConfig {
  return {
    relay: "ws://127.0.0.1:9",
    cacheMaxSize: DEFAULTS.cacheMaxSize,
    offlineQueueTtlMs: DEFAULTS.offlineQueueTtlMs,
    pushRatePerSecond: DEFAULTS.pushRatePerSecond,
    pushBurst: DEFAULTS.pushBurst,
    syncIntervalMs: DEFAULTS.syncIntervalMs,
    cachePath: join(dir, "cache", "sync.db"),
    credentialsPath: join(dir, "config", "sync-credentials.json"),
    ...overrides,
  };
}

export interface Harness {
  dir: string;
  clock: FakeClock;
  config: TestConfig;
  cache: LocalCache;
  credentials: CredentialStore;
  manager: SyncManager;
  /** Shuts the manager down and opens a new one on the same files (a daemon restart). */
  restart(opts?: Pick<HarnessOptions, "remote" | "start">): Promise<Harness>;
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  config?: Partial<TestConfig>;
  remote?: Remote | null;
  deriveIdentity?: DeriveIdentity;
  pushTimeoutMs?: number;
  clock?: FakeClock;
  /** Call sync.init after start (default true). */
  init?: boolean;
  /** Call start() (default true); without it, init is skipped too. */
  start?: boolean;
  /**
   * Let the manager connect by itself (default false: these tests of the Remote contract call
   * connect() themselves, as the retry-driver tests' stack does not).
   */
  autoConnect?: boolean;
  /** Jitter source for the probe interval (SyncManagerDeps.random). */
  random?: () => number;
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await tempDir("csy-");
  return build(dir.path, opts, dir.cleanup);
}

/** A harness on an existing directory (e.g. one a child process wrote); the directory is not removed. */
export function harnessAt(dir: string, opts: HarnessOptions = {}): Promise<Harness> {
  return build(dir, { init: false, ...opts }, () => Promise.resolve());
}

async function build(dir: string, opts: HarnessOptions, removeDir: () => Promise<void>): Promise<Harness> {
  const clock = opts.clock ?? new FakeClock();
  const config = testConfig(dir, opts.config);
  const { cache, credentials } = openLocalStores(config);
  const manager = new SyncManager({
    cache,
    credentials,
    remote: opts.remote ?? null,
    clock,
    logger: silentLogger,
    config,
    ...(opts.deriveIdentity && { deriveIdentity: opts.deriveIdentity }),
    ...(opts.pushTimeoutMs !== undefined && { pushTimeoutMs: opts.pushTimeoutMs }),
    autoConnect: opts.autoConnect ?? false,
    ...(opts.random && { random: opts.random }),
  });
  if (opts.start ?? true) await manager.start();
  if ((opts.start ?? true) && (opts.init ?? true) && manager.state === "UNINITIALIZED") {
    await manager.initialize({ authKey: AUTH_KEY, deviceName: "laptop", platform: "linux" });
  }
  const h: Harness = {
    dir,
    clock,
    config,
    cache,
    credentials,
    manager,
    restart: async (next = {}) => {
      await manager.shutdown();
      return build(dir, { ...opts, ...next, clock, init: false }, removeDir);
    },
    cleanup: async () => {
      await manager.shutdown();
      await removeDir();
    },
  };
  return h;
}

/** base64 of a well-formed blob: version 0x01, then `bytes` random bytes (nonce, ciphertext, tag). */
export function blob(bytes = 40): string {
  return Buffer.concat([Buffer.from([1]), randomBytes(bytes)]).toString("base64");
}

export function command(
  overrides: { id?: string; encrypted?: string; metadata?: Record<string, unknown> } = {},
): { id: string; type: "command"; encrypted: string; metadata: Record<string, unknown> } {
  return {
    id: overrides.id ?? randomUUID(),
    type: "command",
    encrypted: overrides.encrypted ?? blob(),
    metadata: { deviceId: "dev-a", createdAt: 1_600_000_000_000, safetyLevel: "safe", ...overrides.metadata },
  };
}

export function preference(
  key: string,
  metadata: { updatedAt: number; deviceId: string },
  encrypted = blob(),
): { id: string; type: "preference"; encrypted: string; metadata: Record<string, unknown> } {
  return { id: key, type: "preference", encrypted, metadata };
}

/** Pulls everything after `since`, page by page, and returns the entries in order. */
export function pullAll(
  manager: SyncManager,
  opts: { since?: number | null; limit?: number } = {},
): { entries: ReturnType<SyncManager["pullEntries"]>["entries"]; pages: number; cursor: number | null } {
  const entries = [];
  let since = opts.since ?? null;
  let pages = 0;
  for (;;) {
    const page = manager.pullEntries({ since, limit: opts.limit ?? 100 });
    pages++;
    entries.push(...page.entries);
    since = page.nextCursor;
    if (!page.hasMore) return { entries, pages, cursor: since };
  }
}
