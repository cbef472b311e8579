// Shared setup of the end-to-end suites (issue #4): real daemon processes, each with its own HOME,
// talking to a real relay on 127.0.0.1 (in-process, or a child process where a test must kill it).
// A Cluster owns everything it starts and tears it all down in `cleanup()`, even after a failure.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RpcError } from "../../src/client/errors.js";
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { NotificationMap, PulledEntry, SyncState } from "../../src/protocol.js";
import { pullEverything, spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faultProxy.js";
import { startRelayProcess, startTestRelay, type RelayProcess, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

/** Settings written to the daemon's ~/.config/cmdai/sync-daemon.json. */
export interface DaemonSettings {
  /** Probe interval once a retry burst is spent (the config minimum is 100 ms). */
  syncIntervalMs?: number;
  /** Age at which a queued change counts as failed (scaled down to simulate long outages). */
  offlineQueueTtlMs?: number;
  shutdownFlushMs?: number;
  /** The local push budget (a load test raises it far above what it sends). */
  pushRatePerSecond?: number;
  pushBurst?: number;
}

/** Extra environment of a device's daemon (kept across restarts unless replaced). */
export type DeviceEnv = Record<string, string>;

/** One daemon process with an open client; `home` survives restarts until the cluster cleans up. */
export interface Device {
  readonly name: string;
  readonly home: string;
  env: DeviceEnv;
  /** What the daemon runs under (`spawnDaemon`'s wrapper), kept across restarts. */
  readonly wrapper?: readonly string[];
  proc: DaemonProcess;
  client: SyncClient;
}

export class Cluster {
  private readonly devices: Device[] = [];
  /** Every daemon process started (a restarted device has several), stopped at cleanup. */
  private readonly procs: DaemonProcess[] = [];
  private readonly relays: TestRelay[] = [];
  private readonly stopped = new Set<TestRelay>();
  private readonly dirs: { cleanup: () => Promise<void> }[] = [];

  /** An in-memory relay in this process on a free port. */
  async relay(): Promise<TestRelay> {
    const relay = await startTestRelay();
    this.relays.push(relay);
    return relay;
  }

  /** A relay process with its SQLite database in a temp dir; `port` to come back on the same one. */
  async relayProcess(opts: { dbPath: string; port?: number; logLevel?: string }): Promise<RelayProcess> {
    const relay = await startRelayProcess(opts);
    this.relays.push(relay);
    return relay;
  }

  /** A TCP proxy to `target` whose "network" the test can cut, restore and make faulty. */
  async link(target: { port: number }, opts: { seed?: number } = {}): Promise<NetworkLink> {
    const link = await startFaultProxy(target.port, opts);
    this.relays.push(link);
    return link;
  }

  /** A temp dir removed at cleanup. */
  async dir(prefix = "ce-"): Promise<string> {
    const dir = await tempDir(prefix);
    this.dirs.push(dir);
    return dir.path;
  }

  /** Starts a daemon with a fresh HOME whose config file holds `settings`. */
  async device(
    name: string,
    relayUrl: string,
    settings: DaemonSettings = {},
    opts: { env?: DeviceEnv; wrapper?: readonly string[] } = {},
  ): Promise<Device> {
    const home = await this.dir("ceh-");
    const configDir = join(home, ".config", "cmdai");
    await mkdir(configDir, { recursive: true, mode: 0o700 });
    await writeFile(join(configDir, "sync-daemon.json"), JSON.stringify(settings), { mode: 0o600 });
    const env = opts.env ?? {};
    const proc = await this.spawn(home, relayUrl, env, opts.wrapper);
    const device: Device = { name, home, env, wrapper: opts.wrapper, proc, client: await proc.client() };
    this.devices.push(device);
    return device;
  }

  /** Stops the daemon (SIGTERM; it flushes what it can) and keeps its HOME. */
  async stop(device: Device): Promise<void> {
    device.client.close();
    assert.equal(await device.proc.stop(), 0, `${device.name} exit code; stderr:\n${device.proc.stderr()}`);
  }

  /** Starts the daemon again on the same HOME, optionally against another relay URL or environment. */
  async restart(device: Device, relayUrl: string, opts: { env?: DeviceEnv } = {}): Promise<void> {
    if (opts.env) device.env = opts.env;
    device.proc = await this.spawn(device.home, relayUrl, device.env, device.wrapper);
    device.client = await device.proc.client();
  }

  private async spawn(
    home: string,
    relayUrl: string,
    env: DeviceEnv,
    wrapper?: readonly string[],
  ): Promise<DaemonProcess> {
    const proc = await spawnDaemon({ home, env: { ...env, CARO_SYNC_RELAY: relayUrl }, wrapper });
    this.procs.push(proc);
    return proc;
  }

  /** Every device started so far. */
  get members(): readonly Device[] {
    return this.devices;
  }

  /**
   * Every log so far: what each daemon and relay process wrote (stderr; a relay's stdout too) and
   * the background log files in each device's HOME (~/.cache/cmdai/sync-daemon.log*).
   */
  logs(): { name: string; text: string }[] {
    const daemons = this.procs.map((p, i) => ({ name: `daemon ${i} (${p.home})`, text: p.stderr() }));
    const relays = this.relays.flatMap((r, i) =>
      "output" in r ? [{ name: `relay ${i}`, text: (r as RelayProcess).output() }] : [],
    );
    const files = this.devices.flatMap((d) => {
      const dir = join(d.home, ".cache", "cmdai");
      const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("sync-daemon.log")) : [];
      return names.map((n) => ({ name: join(dir, n), text: readFileSync(join(dir, n), "utf8") }));
    });
    return [...daemons, ...relays, ...files];
  }

  /** Stops every daemon and relay started so far and keeps the temp dirs (their logs, caches). */
  async stopAll(): Promise<void> {
    const settle = (work: Promise<unknown>[]) => Promise.allSettled(work);
    for (const d of this.devices) d.client.close();
    await settle(this.procs.map((p) => p.stop()));
    await settle(this.relays.filter((r) => !this.stopped.has(r)).map((r) => r.stop()));
    for (const r of this.relays) this.stopped.add(r);
  }

  async cleanup(): Promise<void> {
    await this.stopAll();
    await Promise.allSettled(this.dirs.map((d) => d.cleanup()));
  }
}

/** A daemon's network path to the relay, which the test can cut, restore and make faulty. */
export type NetworkLink = FaultProxy;

export function randomAuthKey(): string {
  return randomBytes(32).toString("base64");
}

/** A well-formed blob (SPEC §6): version byte 0x01, then random bytes; the daemon never decrypts. */
export function blob(bytes = 64): string {
  return Buffer.concat([Buffer.from([0x01]), randomBytes(bytes - 1)]).toString("base64");
}

export function command(deviceId: string, opts: { createdAt?: number; id?: string } = {}) {
  return {
    id: opts.id ?? randomUUID(),
    type: "command" as const,
    encrypted: blob(),
    metadata: { deviceId, createdAt: opts.createdAt ?? Date.now(), safetyLevel: "safe" },
  };
}

export function preference(key: string, deviceId: string, updatedAt: number, encrypted = blob()) {
  return { id: key, type: "preference" as const, encrypted, metadata: { deviceId, updatedAt } };
}

/** Initializes the first device (creates the account) and joins the others to it. */
export async function initAccount(
  first: Device,
  others: Device[],
  authKey = randomAuthKey(),
): Promise<{ accountId: string; authKey: string; deviceIds: string[] }> {
  const created = await first.client.init({ authKey, deviceName: first.name, platform: "linux" });
  const deviceIds = [created.deviceId];
  for (const d of others) {
    const joined = await d.client.init({
      authKey,
      accountId: created.accountId,
      deviceName: d.name,
      platform: "linux",
    });
    assert.equal(joined.accountId, created.accountId);
    deviceIds.push(joined.deviceId);
  }
  return { accountId: created.accountId, authKey, deviceIds };
}

export async function waitForState(device: Device, state: SyncState, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await device.client.status()).state === state, {
    timeoutMs,
    intervalMs: 50,
    what: `${device.name} to be ${state}`,
  });
}

/** Pages through sync.pull from `since` until hasMore is false. */
export function pullAll(
  device: Device,
  opts: { since?: number | null; types?: ("command" | "preference" | "device")[] } = {},
): Promise<{ entries: PulledEntry[]; cursor: number | null }> {
  return pullEverything(device.client, opts);
}

/** Waits until a full pull of `device` holds every id of `ids` (of commands); returns the pull. */
export async function waitForCommands(
  device: Device,
  ids: readonly string[],
  timeoutMs = 20_000,
): Promise<Map<string, PulledEntry>> {
  return await waitFor(
    async () => {
      const { entries } = await pullAll(device, { types: ["command"] });
      const byId = new Map(entries.map((e) => [e.id, e]));
      return ids.every((id) => byId.has(id)) ? byId : null;
    },
    { timeoutMs, intervalMs: 100, what: `${device.name} to hold ${ids.length} commands` },
  );
}

/** Asserts that no id appears twice in a full pull (the pull contract: every entry exactly once). */
export function assertUnique(entries: readonly PulledEntry[], what: string): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.type}:${e.id}`;
    assert.ok(!seen.has(key), `${what}: ${key} appears twice`);
    seen.add(key);
  }
}

/** Records every notification of `event` on the device's connection (after daemon.subscribe). */
export function record<E extends keyof NotificationMap>(device: Device, event: E): NotificationMap[E][] {
  const seen: NotificationMap[E][] = [];
  device.client.on(event, (params) => seen.push(params));
  return seen;
}

/** The RpcError a call rejects with. */
export async function rpcError(promise: Promise<unknown>): Promise<RpcError> {
  const err = await promise.then(
    () => assert.fail("expected an error response"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
  return err;
}
