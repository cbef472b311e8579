// Fuzzing the real daemon process over its socket: after init and a few pushes, 10,000+ mutated
// requests of every method (but daemon.shutdown), damaged JSON, batches and hostile bytes from
// several raw connections. Every response must be well-formed with a contract code and never
// -32603; afterwards the daemon still serves, is healthy, kept the entries pushed first, and its
// RSS stayed bounded. Reproduce a failure with DAEMON_FUZZ_SEED=<seed printed by the test>.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { RpcError } from "../../src/client/errors.js";
import { ErrorCode, EVENT_NAMES, paramsSchemas } from "../../src/protocol.js";
import { spawnDaemon, type DaemonProcess, pullEverything } from "../helpers/daemon.js";
import {
  Dice,
  FUZZED_METHODS,
  fuzzSeed,
  messageGenerator,
  mulberry32,
  responseProblem,
  VALID_PARAMS,
  type FuzzedMethod,
} from "../helpers/fuzz.js";
import { waitFor } from "../helpers/wait.js";

const MESSAGES = 10_000;
const CONNECTIONS = 4;
const RSS_GROWTH_LIMIT = 100 * 2 ** 20;
/** Valid requests that fail on an initialized daemon with no relay and no other device. */
const EXPECTED_ERRORS: Partial<Record<FuzzedMethod, number>> = {
  "sync.init": ErrorCode.AlreadyInitialized,
  "sync.now": ErrorCode.NetworkUnreachable,
  "device.remove": ErrorCode.InvalidParams, // an unknown device
};
const NOTIFICATIONS = new Set<string>([...EVENT_NAMES, "daemon.notificationsDropped"]);

/** The daemon must never get these: a shutdown, or a reset that would pass validation. */
function forbidden(m: Record<string, unknown>): boolean {
  return (
    m.method === "daemon.shutdown" ||
    (m.method === "sync.reset" && paramsSchemas["sync.reset"].safeParse(m.params).success)
  );
}

function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  assert.ok(kib, "VmRSS in /proc/<pid>/status");
  return Number(kib) * 1024;
}

/** A raw connection that checks every line it receives and keeps only tallies and problems. */
class FuzzConnection {
  readonly tally: Record<string, number> = {};
  readonly problems: string[] = [];
  /** Ids of responses carrying -32603. */
  readonly internalErrors: unknown[] = [];
  readonly seenIds = new Set<unknown>();
  closed = false;
  private buffered: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }

  static open(path: string): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once("connect", () => resolve(new FuzzConnection(socket)));
      socket.once("error", reject);
    });
  }

  async send(data: Buffer): Promise<void> {
    if (this.socket.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new Error("the daemon closed a fuzzing connection"));
      this.socket.once("close", onClose);
      this.socket.once("drain", () => {
        this.socket.off("close", onClose);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.onLine(Buffer.concat([...this.buffered, chunk.subarray(start, nl)]).toString("utf8"));
      this.buffered = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.buffered.push(chunk.subarray(start));
  }

  private onLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.problem(`not JSON: ${line.slice(0, 200)}`);
    }
    for (const m of Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]) {
      const msg = m as { id?: unknown; method?: unknown; error?: { code?: unknown } };
      if (typeof msg === "object" && msg !== null && !Object.hasOwn(msg, "id") && !Array.isArray(parsed)) {
        // A notification (this connection may have subscribed).
        if (!NOTIFICATIONS.has(msg.method as string))
          this.problem(`unknown notification ${line.slice(0, 200)}`);
        this.count("notification");
        continue;
      }
      const problem = responseProblem(m);
      if (problem) {
        this.problem(`${problem}: ${line.slice(0, 200)}`);
        continue;
      }
      this.seenIds.add(msg.id);
      const code = msg.error?.code as number | undefined; // a known code: checked above
      if (code === ErrorCode.InternalError) this.internalErrors.push(msg.id);
      this.count(code === undefined ? "result" : String(code));
    }
  }

  private count(key: string): void {
    this.tally[key] = (this.tally[key] ?? 0) + 1;
  }

  private problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
  }
}

describe("daemon fuzzing (real process)", () => {
  let daemon: DaemonProcess | undefined;
  after(() => daemon?.cleanup());

  it(`survives ${MESSAGES} mutated and hostile messages: no internal error, same data, bounded RSS`, async (t) => {
    const seed = fuzzSeed("DAEMON_FUZZ_SEED");
    t.diagnostic(`seed ${seed} (set DAEMON_FUZZ_SEED=${seed} to reproduce)`);
    const d = (daemon = await spawnDaemon());
    const pid = d.child.pid!;
    const client = await d.client();
    const dice = new Dice(mulberry32(seed));
    const init = await client.init({
      authKey: dice.bytes(32).toString("base64"),
      deviceName: "fuzz-target",
      platform: "linux",
    });
    // The generator's ids never start with "00000000": nothing it sends can touch these entries.
    const own = Array.from({ length: 20 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      type: "command" as const,
      encrypted: dice.blob(),
      metadata: { deviceId: init.deviceId, createdAt: 1_700_000_000_000 + i, safetyLevel: "safe" },
    }));
    assert.equal((await client.push({ entries: own })).synced, own.length);
    // The mutations start from requests that are valid: each template passes its schema and the
    // daemon answers it as it should. This also warms the daemon up before the RSS baseline.
    for (const method of FUZZED_METHODS) {
      const params = VALID_PARAMS[method](dice) as { ack?: string };
      assert.ok(paramsSchemas[method].safeParse(params).success, `template of ${method} is valid`);
      if (method === "sync.reset") continue;
      if (params.ack === "relay") params.ack = "local"; // would wait 60 s for the unreachable relay
      const outcome = await client.call(method, params as never).then(
        () => "result",
        (err: unknown) => (err instanceof RpcError ? err.code : err),
      );
      assert.equal(outcome, EXPECTED_ERRORS[method] ?? "result", `outcome of a valid ${method}`);
    }
    const rssBefore = rssBytes(pid);

    const conns = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => FuzzConnection.open(d.socketPath)),
    );
    // Inputs by message index, to name the input behind an internal error.
    const sent: string[][] = conns.map(() => []);
    await Promise.all(
      conns.map(async (c, k) => {
        let i = 0;
        let n = 0;
        const next = messageGenerator(mulberry32(seed + k + 1), {
          nextId: () => `${k}:${i}:${n++}`,
          forbidden,
          otherMethods: ["no.such", "constructor", "__proto__", "daemon.shutdown ", ""],
        });
        for (; i < MESSAGES / CONNECTIONS; i++) {
          const msg = next();
          sent[k]!.push(msg.subarray(0, 2000).toString("utf8"));
          await c.send(Buffer.concat([msg, Buffer.from("\n")]));
        }
        // Ends any unfinished line, then a request whose answer shows the connection still works.
        await c.send(Buffer.from(`\n{"jsonrpc":"2.0","id":"sentinel-${k}","method":"daemon.ping"}\n`));
        await waitFor(() => c.seenIds.has(`sentinel-${k}`) || c.closed, {
          what: `sentinel ${k}`,
          timeoutMs: 45_000,
        });
        assert.equal(c.closed, false, "the daemon never drops a fuzzing connection");
      }),
    );

    const tally: Record<string, number> = {};
    for (const c of conns) {
      for (const [key, n] of Object.entries(c.tally)) tally[key] = (tally[key] ?? 0) + n;
      assert.deepEqual(c.problems, [], "every line is a well-formed response or notification");
    }
    t.diagnostic(`responses by outcome: ${JSON.stringify(tally)}`);
    const internal = conns.flatMap((c) =>
      c.internalErrors.map((id) => {
        const [k, i] = typeof id === "string" ? id.split(":").map(Number) : [];
        return k === undefined || i === undefined ? `id ${JSON.stringify(id)}` : sent[k]?.[i];
      }),
    );
    assert.deepEqual(internal, [], "no input causes -32603 (inputs listed)");
    for (const c of conns) c.destroy();

    const fresh = await d.client();
    try {
      assert.equal((await fresh.ping()).pong, true);
      const health = await fresh.health();
      assert.equal(health.healthy, true, `healthy: ${JSON.stringify(health.lastError)}`);
      assert.equal(health.cache.writable, true);
      const status = await fresh.status();
      assert.equal(status.deviceId, init.deviceId);
      assert.equal(status.accountId, init.accountId);
      const byId = new Map((await pullEverything(fresh)).entries.map((e) => [e.id, e]));
      for (const entry of own) {
        const got = byId.get(entry.id);
        assert.ok(got, `entry ${entry.id} is still pullable`);
        assert.equal(got.encrypted, entry.encrypted);
        assert.equal(got.metadata.createdAt, entry.metadata.createdAt);
        assert.equal(got.metadata.deletedAt, undefined);
      }
    } finally {
      fresh.close();
    }
    // A handler that throws logs at error level ("handler failed") before answering -32603.
    const errorLog = d
      .stderr()
      .split("\n")
      .filter((line) => /"level":(50|60)/.test(line));
    assert.deepEqual(errorLog.slice(0, 3), [], "the daemon logged no errors");
    assert.equal(d.child.exitCode, null, "the daemon is still running");
    assert.equal(d.child.signalCode, null, "the daemon is still running");
    const growth = rssBytes(pid) - rssBefore;
    t.diagnostic(`RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB → growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${growth} bytes`);
    client.close();
  });
});
