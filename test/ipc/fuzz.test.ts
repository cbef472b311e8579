// Fuzzing the daemon's socket: 10,000+ random, mutated and hostile messages from several connections.
// Afterwards the daemon still answers a fresh client and its heap has not grown out of bounds.
// Reproduce a failure with IPC_FUZZ_SEED=<seed printed in the failure>.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ErrorCode, MAX_LINE_BYTES, METHOD_NAMES } from "../../src/protocol.js";
import { waitFor } from "../helpers/wait.js";
import { startHarness, type Harness, type TestClient, type Wire } from "./helpers.js";
import { mulberry32 } from "./prng.js";

const MESSAGES = 10_000;
const CONNECTIONS = 4;
const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));

function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

/** Message generators over a seeded PRNG; each returns one line's content (without "\n"). */
function generators(rnd: () => number) {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const methods = [
    ...METHOD_NAMES.filter((m) => m !== "daemon.shutdown"),
    "no.such",
    "constructor",
    "__proto__",
    "",
  ];
  const ids = [1, 0, -1, "a", "", null, Infinity, 2 ** 64, 1.5, "é😀"];
  const rawIds = ["18446744073709551615", "1e400", "-0", "1.0", "9".repeat(400), "0.1e-999"];
  const scalar = (): unknown =>
    pick([null, true, false, 0, -1, 2 ** 53 + 1, 1e308, "", "x", "\ud800", "é€😀", "a".repeat(int(500))]);
  const value = (depth: number): unknown => {
    if (depth <= 0 || rnd() < 0.4) return scalar();
    if (rnd() < 0.5) return Array.from({ length: int(5) }, () => value(depth - 1));
    const obj: Record<string, unknown> = {};
    for (let i = int(5); i > 0; i--)
      obj[pick(["id", "since", "limit", "entries", "__proto__", "confirm", "x"])] = value(depth - 1);
    return obj;
  };
  const request = () => {
    const msg: Record<string, unknown> = { jsonrpc: "2.0", method: pick(methods) };
    if (rnd() < 0.8) msg.id = pick(ids);
    if (rnd() < 0.7) msg.params = rnd() < 0.5 ? value(3) : {};
    return msg;
  };
  const nest = (n: number, open: string, close: string, inner = "1") =>
    open.repeat(n) + inner + close.repeat(n);
  const randomBytes = () => Buffer.from(Array.from({ length: int(300) }, () => int(256)));
  const mutate = (text: string) => {
    const chars = [...text];
    for (let i = 1 + int(5); i > 0; i--) {
      const at = int(chars.length + 1);
      const r = rnd();
      if (r < 0.4) chars[at] = String.fromCharCode(int(0x7f));
      else if (r < 0.7) chars.splice(at, 1);
      else chars.splice(at, 0, pick(['"', "{", "}", "[", "]", ",", ":", "\\", "é", "\u0000"]));
    }
    return chars.join("");
  };
  const all: (() => string | Buffer)[] = [
    () => randomBytes(),
    () => JSON.stringify(request()),
    () => JSON.stringify(request()).slice(0, int(80)),
    () => mutate(JSON.stringify(request())),
    () => JSON.stringify(Array.from({ length: int(20) }, () => (rnd() < 0.5 ? request() : value(2)))),
    () => JSON.stringify(value(6)),
    () => `{"jsonrpc":"2.0","method":"daemon.ping","id":${pick(rawIds)}}`,
    () => `{"jsonrpc":"2.0","id":${pick(rawIds)},"method":"sync.pull","params":{"since":${pick(rawIds)}}}`,
    () => nest(10_000, "[", "]"),
    () => nest(10_000, '{"a":', "}"),
    () => `{"jsonrpc":"2.0","id":1,"method":"sync.push","params":{"entries":${nest(10_000, "[", "]")}}}`,
    () => `[${nest(5_000, "[", "]")},{"jsonrpc":"2.0","id":12345678901234567890,"method":"daemon.ping"}]`,
    () => `[${nest(int(70), "[", "]")},{"jsonrpc":"2.0","id":12345678901234567890,"method":"daemon.ping"}]`,
    () =>
      Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":"'),
        randomBytes(),
        Buffer.from('","method":"daemon.ping"}'),
      ]),
    () =>
      `{"jsonrpc":${pick(["2", "2.0", "null", '"1.0"', "[]"])},"method":${pick(['"daemon.ping"', "1", "[]", "null"])},"id":${pick(["{}", "[]", "true", "1"])}}`,
    () => pick(["[]", "[1,2,3]", "{}", "null", "\r", " ", '"\\ud800"', "[[]]", "[{}]", "1e999999"]),
  ];
  return () => (rnd() < 0.0004 ? "x".repeat(MAX_LINE_BYTES + 1) : pick(all)());
}

function checkResponse(r: Wire): void {
  assert.equal(typeof r, "object");
  assert.equal(r.jsonrpc, "2.0");
  assert.ok(Object.hasOwn(r, "id"), "a response has an id");
  assert.ok(Object.hasOwn(r, "result") !== Object.hasOwn(r, "error"), "exactly one of result and error");
  if (r.error) {
    assert.ok(KNOWN_CODES.has(r.error?.code), `known error code ${r.error?.code}`);
    assert.equal(typeof r.error?.message, "string");
    assert.equal(typeof r.error?.data.reason, "string");
  }
}

describe("IPC fuzzing", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.ctl.slowGate.resolve();
  });
  after(() => h.cleanup());

  it(`survives ${MESSAGES} random and hostile messages with bounded memory`, async (t) => {
    const seed = Number(process.env.IPC_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`seed ${seed} (set IPC_FUZZ_SEED=${seed} to reproduce)`);
    const gc = exposeGc();
    try {
      gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const clients: TestClient[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => h.connect()));
      let sentHealth = 0;
      await Promise.all(
        clients.map(async (c, k) => {
          const next = generators(mulberry32(seed + k));
          for (let i = 0; i < MESSAGES / CONNECTIONS; i++) {
            const msg = next();
            if (msg.includes("daemon.health")) sentHealth++;
            await c.send(typeof msg === "string" ? `${msg}\n` : Buffer.concat([msg, Buffer.from("\n")]));
          }
          // Ends any unfinished line, then a request whose answer shows the connection still works.
          await c.send(`\n{"jsonrpc":"2.0","id":"sentinel-${k}","method":"daemon.ping"}\n`);
          await waitFor(() => c.flat.some((m) => m.id === `sentinel-${k}`), {
            what: `sentinel ${k}`,
            timeoutMs: 60_000,
          });
        }),
      );
      const tally: Record<string, number> = {};
      for (const c of clients) {
        assert.equal(c.closed, false, "the server never drops a fuzzing connection");
        for (const m of c.messages) {
          for (const r of Array.isArray(m) ? m : [m]) {
            checkResponse(r);
            const key = r.error ? String(r.error?.code) : "result";
            tally[key] = (tally[key] ?? 0) + 1;
          }
        }
      }
      t.diagnostic(`responses by outcome: ${JSON.stringify(tally)}`);
      const internal = tally[ErrorCode.InternalError] ?? 0;
      assert.ok(internal <= sentHealth, `-32603 only from the throwing test handler (${internal})`);
      const fresh = await h.connect();
      assert.equal((await fresh.call("daemon.ping"))?.result?.pong, true);
      await waitFor(() => h.server.inFlight() === 0, { what: "no request left running" });
      assert.ok(h.server.stats().bufferedInputBytes < 1024, "no input left buffered");
      for (const c of clients) c.destroy();
      await waitFor(() => h.server.connections() === 1, { what: "fuzzing connections closed" });
      gc?.();
      const growth = process.memoryUsage().heapUsed - heapBefore;
      t.diagnostic(`heap growth ${(growth / 2 ** 20).toFixed(1)} MiB (gc ${gc ? "forced" : "unavailable"})`);
      assert.ok(growth < (gc ? 64 : 256) * 2 ** 20, `heap grew by ${growth} bytes`);
    } catch (err) {
      throw new Error(`fuzz failed with IPC_FUZZ_SEED=${seed}: ${(err as Error).message}`, { cause: err });
    }
  });
});
