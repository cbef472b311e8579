// Seeded generators of hostile JSON-RPC input, shared by the IPC fuzz suite (a test server) and the
// daemon fuzz suite (the real process): mutations of a valid request of every method, textual
// damage (truncation, duplicated keys, odd number literals, escapes, invalid UTF-8), batches that
// mix all of these, and raw hostile lines (random bytes, deep nesting, oversize lines).
// Same seed, same messages: a failure reproduces from the seed alone.
import { ErrorCode, MAX_LINE_BYTES, type JsonRpcId } from "../../src/protocol.js";
import {
  damage,
  Dice,
  FUZZED_METHODS,
  isContainer,
  junk,
  mutate,
  RAW_NUMBERS,
  VALID_PARAMS,
  type FuzzedMethod,
} from "./fuzzValues.js";

export { Dice, FUZZED_METHODS, mulberry32, VALID_PARAMS, type FuzzedMethod } from "./fuzzValues.js";

/** The seed in `envVar` when set (to reproduce a failure), else a random one. */
export function fuzzSeed(envVar: string): number {
  const text = process.env[envVar];
  if (text === undefined || text === "") return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`${envVar} must be an integer, got ${text}`);
  return seed;
}

export interface FuzzOptions {
  /** Methods whose valid requests are mutated; default: all but daemon.shutdown. */
  methods?: readonly FuzzedMethod[];
  /** Extra method names for random requests (unknown names and the like). */
  otherMethods?: readonly string[];
  /** The id of a request whose id is not itself fuzzed: lets a test map a response to its input. */
  nextId?: () => JsonRpcId;
  /** A request object the receiver must never get: any line carrying one is generated anew. */
  forbidden?: (message: Record<string, unknown>) => boolean;
}

/** JSON text of any value; a mutation may have removed the value altogether. */
const json = (value: unknown): string => JSON.stringify(value) ?? "null";

/** Returns a generator of messages: each one line's bytes, without the final "\n". */
export function messageGenerator(rnd: () => number, opts: FuzzOptions = {}): () => Buffer {
  const d = new Dice(rnd);
  const methods = opts.methods ?? FUZZED_METHODS;
  const randomMethods = [...methods, ...(opts.otherMethods ?? [])];
  let counter = 0;
  const nextId = opts.nextId ?? (() => counter++);
  const ids = [1, 0, -1, "a", "", null, Infinity, 2 ** 64, 1.5, "é😀"];

  const valid = () => {
    const method = d.pick(methods);
    return { jsonrpc: "2.0", id: nextId(), method, params: VALID_PARAMS[method](d) };
  };
  const mutated = () => {
    const msg = valid();
    if (d.chance(0.15)) return mutate(msg, d);
    if (d.chance(0.1)) return { ...msg, method: d.pick(randomMethods) }; // another method's params
    return { ...msg, params: mutate(msg.params, d) };
  };
  const randomRequest = () => {
    const msg: Record<string, unknown> = { jsonrpc: "2.0", method: d.pick(randomMethods) };
    if (d.chance(0.8)) msg.id = d.pick(ids);
    if (d.chance(0.7)) msg.params = d.chance(0.5) ? junk(d, 3) : {};
    return msg;
  };
  const notification = () => {
    const { id: _id, ...msg } = valid();
    return d.chance(0.5) ? msg : { ...msg, params: mutate(msg.params, d) };
  };
  const member = (): string | Buffer =>
    d.pick<() => string | Buffer>([
      () => JSON.stringify(valid()),
      () => json(mutated()),
      () => json(mutated()),
      () => damage(JSON.stringify(valid()), d),
      () => JSON.stringify(notification()),
      () => JSON.stringify(junk(d, 2)),
    ])();
  const batch = (n: number) => {
    const parts = Array.from({ length: n }, (_, i) => [i === 0 ? "[" : ",", member()]).flat();
    return Buffer.concat([...parts, "]"].map((p) => Buffer.from(p)));
  };
  const nest = (n: number, open: string, close: string, inner = "1") =>
    open.repeat(n) + inner + close.repeat(n);
  const ping = (id: string) => `{"jsonrpc":"2.0","method":"daemon.ping","id":${id}}`;
  const hostile: (() => string | Buffer)[] = [
    () => d.bytes(d.int(300)),
    () =>
      Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":"'),
        d.bytes(d.int(300)),
        Buffer.from('","method":"daemon.ping"}'),
      ]),
    () => JSON.stringify(junk(d, 6)),
    () => ping(d.pick(RAW_NUMBERS)),
    () =>
      `{"jsonrpc":"2.0","id":${d.pick(RAW_NUMBERS)},"method":"sync.pull","params":{"since":${d.pick(RAW_NUMBERS)}}}`,
    () => nest(10_000, "[", "]"),
    () => nest(10_000, '{"a":', "}"),
    () => nest(d.int(70), "[", "]"),
    () => `{"jsonrpc":"2.0","id":1,"method":"sync.push","params":{"entries":${nest(10_000, "[", "]")}}}`,
    () => `[${nest(d.int(70), "[", "]")},${ping("12345678901234567890")}]`,
    () =>
      `{"jsonrpc":${d.pick(["2", "2.0", "null", '"1.0"', "[]"])},"method":${d.pick(['"daemon.ping"', "1", "[]", "null"])},"id":${d.pick(["{}", "[]", "true", "1"])}}`,
    () => d.pick(["[]", "[1,2,3]", "{}", "null", "\r", " ", '"\\ud800"', "[[]]", "[{}]", "1e999999"]),
    () => `[${Array.from({ length: 1001 }, (_, i) => ping(String(i))).join(",")}]`,
  ];
  const kinds: [number, () => string | Buffer][] = [
    [30, () => json(mutated())],
    [15, () => damage(json(d.chance(0.5) ? valid() : mutated()), d)],
    [10, () => JSON.stringify(valid())],
    [10, () => batch(1 + d.int(20))],
    [10, () => JSON.stringify(randomRequest())],
    [25, () => d.pick(hostile)()],
  ];
  const total = kinds.reduce((sum, [w]) => sum + w, 0);
  const one = (): Buffer => {
    if (d.chance(0.0004)) return Buffer.from("x".repeat(MAX_LINE_BYTES + 1));
    let r = d.int(total);
    for (const [w, make] of kinds) {
      if ((r -= w) < 0) return Buffer.from(make());
    }
    throw new Error("unreachable");
  };
  return () => {
    for (;;) {
      const msg = one();
      if (!opts.forbidden || !carries(msg, opts.forbidden)) return msg;
    }
  };
}

/**
 * The message objects (batch members included) in the lines of `data`, parsed as the daemon parses
 * them: each line decoded on its own (a leading BOM dropped, as TextDecoder does), then JSON.parse.
 * Invalid UTF-8 is decoded leniently here (the daemon refuses it), so checks err on the safe side.
 */
export function parsedMessages(data: Buffer): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const decoder = new TextDecoder("utf-8");
  for (let start = 0; start <= data.length;) {
    const end = data.indexOf(10, start) < 0 ? data.length : data.indexOf(10, start);
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(data.subarray(start, end)));
    } catch {
      parsed = undefined;
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (isContainer(m) && !Array.isArray(m)) found.push(m);
    }
    start = end + 1;
  }
  return found;
}

/** Whether any message in `data` is one `forbidden` matches. */
export function carries(data: Buffer, forbidden: (message: Record<string, unknown>) => boolean): boolean {
  return parsedMessages(data).some(forbidden);
}

const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));

/** What is wrong with one response off the wire (a batch's members one by one), or null. */
export function responseProblem(r: unknown): string | null {
  if (!isContainer(r) || Array.isArray(r)) return "a response is an object";
  const m = r as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: Record<string, unknown> };
  if (m.jsonrpc !== "2.0") return 'jsonrpc is "2.0"';
  if (!Object.hasOwn(m, "id")) return "a response has an id";
  if (m.id !== null && typeof m.id !== "string" && typeof m.id !== "number")
    return "id is a string, number or null";
  if (Object.hasOwn(m, "result") === Object.hasOwn(m, "error")) return "exactly one of result and error";
  if (!m.error) return null;
  if (!KNOWN_CODES.has(m.error.code as number)) return `known error code ${String(m.error.code)}`;
  if (typeof m.error.message !== "string") return "error.message is a string";
  const data = m.error.data as { reason?: unknown } | undefined;
  if (typeof data?.reason !== "string") return "error.data.reason is a string";
  return null;
}
