// The frame every reliability scenario runs in (docs/reliability.md). A scenario gets a Cluster (real
// daemons, real relays, all torn down afterwards), a ledger of what it pushed and what was
// acknowledged, a secret scan, and counters. When it ends, whether it passed or not, every process
// is stopped, every log it produced is searched for its secrets (authKeys, agent secrets, payloads),
// and its figures are written for the soak report.
import assert from "node:assert/strict";
import { after, describe, it, type TestContext } from "node:test";
import { ConnectionError } from "../../src/client/errors.js";
import type { SyncClient } from "../../src/client/SyncClient.js";
import type { PushResult } from "../../src/protocol.js";
import { DeliveryLedger, type PushedCommand } from "../helpers/ledger.js";
import { SecretScan, type LogText } from "../helpers/secretScan.js";
import { emptyCounts, keepLogs, SOAK, writeFigures, type Counts, type Figures } from "../helpers/soak.js";
import { waitFor } from "../helpers/wait.js";
import { Cluster, command, initAccount, waitForState, type Device } from "../e2e/support.js";

/** What Cluster.device takes after the name and the relay: settings and process options. */
type DeviceOptions = Parameters<Cluster["device"]> extends [string, string, ...infer R] ? R : never;

/** A push budget far above anything a scenario sends: the rate limit is not under test here. */
export const UNLIMITED = { pushRatePerSecond: 1_000_000, pushBurst: 1_000_000 };

export class Scenario {
  readonly cluster = new Cluster();
  readonly ledger = new DeliveryLedger();
  readonly secrets = new SecretScan();
  readonly counts: Counts = emptyCounts();
  private readonly extraLogs: LogText[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  private readonly afterStops: (() => Promise<void> | void)[] = [];
  private readonly notes: string[] = [];
  private status: Figures["status"] = "failed";
  private readonly started = Date.now();

  constructor(readonly name: string) {}

  /** One line for the report: what the daemon did, or why the scenario skipped. */
  note(text: string): void {
    this.notes.push(text);
  }

  /** Output that is not a daemon's or a relay's (a CLI run, a client script) to scan for secrets. */
  addLog(name: string, text: string): void {
    this.extraLogs.push({ name, text });
  }

  /** Runs at the end, before the cluster's processes are stopped (clients, extra sockets). */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Runs at the end, once every process has stopped and before temp dirs go (an unmount). */
  afterStop(fn: () => Promise<void> | void): void {
    this.afterStops.push(fn);
  }

  skip(t: TestContext, reason: string): void {
    this.status = "skipped";
    this.note(reason);
    t.skip(reason);
  }

  /** Two daemons on `relayUrl`, started side by side. */
  async pair(relayUrl: string, names: [string, string], ...rest: DeviceOptions): Promise<[Device, Device]> {
    return Promise.all([
      this.cluster.device(names[0], relayUrl, ...rest),
      this.cluster.device(names[1], relayUrl, ...rest),
    ]);
  }

  /**
   * Creates an account on `first`, joins `others` to it, adds its authKey to the secret scan and
   * waits until every device is ONLINE.
   */
  async account(first: Device, others: Device[] = []): ReturnType<typeof initAccount> {
    const account = await initAccount(first, others);
    this.secrets.addAuthKey(account.authKey);
    await Promise.all([first, ...others].map((d) => waitForState(d, "ONLINE")));
    return account;
  }

  /** A push through the ledger: attempted before it is sent, acknowledged by its result. */
  async push(client: SyncClient, entries: PushedCommand[], ack?: "local" | "relay"): Promise<PushResult> {
    this.ledger.attempt(entries);
    const result = await client.push({ entries, ...(ack ? { ack } : {}) });
    this.ledger.ack(entries, result);
    return result;
  }

  /**
   * Waits until every device holds every acknowledged command and has nothing queued, then checks
   * each against the ledger (adding to the figures) and fails on anything lost, duplicated or
   * unexpected.
   */
  async verify(devices: readonly Device[], opts: { timeoutMs?: number; drained?: boolean } = {}) {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const drained = opts.drained ?? true;
    for (const d of devices) {
      await waitFor(
        async () =>
          (!drained || (await d.client.health()).queue.pending === 0) &&
          (await this.ledger.holdsAll(d.client)),
        { timeoutMs, intervalMs: 100, what: `${d.name} to hold all ${this.ledger.ackedCount} acknowledged` },
      ).catch(() => undefined); // the checks below say what is wrong
    }
    for (const d of devices) {
      const check = await this.ledger.check(d.client);
      this.counts.entriesChecked += check.checked;
      this.counts.lost += check.lost.length;
      this.counts.duplicated += check.duplicated.length;
      const sample = (ids: string[]) => `${ids.length} (${ids.slice(0, 3).join(", ")})`;
      assert.equal(check.lost.length, 0, `${d.name}: acknowledged entries lost: ${sample(check.lost)}`);
      assert.equal(check.duplicated.length, 0, `${d.name}: duplicated: ${sample(check.duplicated)}`);
      assert.equal(check.unexpected.length, 0, `${d.name}: never pushed: ${sample(check.unexpected)}`);
      if (drained)
        assert.deepEqual((await d.client.health()).queue, { pending: 0, failed: 0, oldestAgeMs: null });
    }
  }

  passed(): void {
    this.status = "passed";
  }

  /** Stops everything, scans every log, writes the figures; throws when a secret leaked. */
  async finish(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    // Credentials first (the files go with the cluster), then stop every process so logs are whole.
    for (const d of this.cluster.members) this.secrets.addCredentials(d.home);
    for (const d of this.cluster.members) d.client.close();
    await this.cluster.stopAll();
    for (const fn of this.afterStops.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    this.secrets.addPayloads(this.ledger.payloads());
    const logs = [...this.cluster.logs(), ...this.extraLogs];
    const scan = this.secrets.scan(logs);
    if (this.status !== "passed" && scan.leaks.length === 0) keepLogs(this.name, logs);
    await this.cluster.cleanup();
    this.counts.logsScanned = scan.logs;
    this.counts.logBytes = scan.bytes;
    this.counts.secretsChecked = scan.secrets;
    if (scan.leaks.length > 0) {
      this.status = "failed";
      this.note(`secrets in logs: ${scan.leaks.slice(0, 5).join("; ")}`);
    }
    const figures: Figures = {
      scenario: this.name,
      status: this.status,
      soak: SOAK,
      ...this.counts,
      durationMs: Date.now() - this.started,
      ...(this.notes.length > 0 ? { note: this.notes.join(" ") } : {}),
    };
    writeFigures(figures);
    assert.deepEqual(scan.leaks, [], "no secret in any log");
  }
}

/** A describe block with one test; the scenario's finish() runs after it, pass or fail. */
export function reliabilityScenario(
  name: string,
  title: string,
  body: (s: Scenario, t: TestContext) => Promise<void>,
  opts: { timeoutMs?: number } = {},
): void {
  describe(`reliability: ${name}`, () => {
    const s = new Scenario(name);
    after(() => s.finish());
    it(title, { timeout: opts.timeoutMs ?? 600_000 }, async (t) => {
      await body(s, t);
      s.passed();
      t.diagnostic(JSON.stringify(s.counts));
    });
  });
}

/**
 * Pushes batches of 1 to `maxBatch` new commands through `client` until `stop()` says so, pausing
 * while `paused()` says so (a scenario meters its volume that way). A connection that dies ends
 * the loop when `disconnectExpected()` says it may (the daemon was killed); the batch then in
 * flight stays unacknowledged. Resolves with the pushes answered.
 */
export async function keepPushing(
  s: Scenario,
  client: SyncClient,
  deviceId: string,
  opts: {
    stop: () => boolean;
    paused?: () => boolean;
    maxBatch?: number;
    disconnectExpected?: () => boolean;
  },
): Promise<number> {
  let answered = 0;
  for (;;) {
    if (opts.paused?.())
      await waitFor(() => opts.stop() || !opts.paused!(), { timeoutMs: 600_000, intervalMs: 20 });
    if (opts.stop()) return answered;
    const batch = Array.from({ length: 1 + Math.floor(Math.random() * (opts.maxBatch ?? 20)) }, () =>
      command(deviceId),
    );
    try {
      const result = await s.push(client, batch);
      assert.deepEqual(result.errors, [], "every entry of a push is accepted");
      answered++;
    } catch (err) {
      if (err instanceof ConnectionError && (opts.disconnectExpected?.() ?? false)) return answered;
      throw err;
    }
    // One turn of the event loop between batches, so the other pushers and timers run.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Meters pushers by acknowledged entries: `more(n)` lets them acknowledge n more and resolves once
 * they have; in between they wait (`paused`).
 */
export class PushMeter {
  private target = 0;

  constructor(private readonly ledger: { readonly ackedCount: number }) {}

  readonly paused = (): boolean => this.ledger.ackedCount >= this.target;

  async more(n: number, what: string, timeoutMs = 30_000): Promise<void> {
    this.target = Math.max(this.target, this.ledger.ackedCount) + n;
    await waitFor(() => this.ledger.ackedCount >= this.target, { timeoutMs, what });
  }
}
