// Seeded generators of hostile JSON-RPC input, shared by the IPC fuzz suite (a test server) and the
// daemon fuzz suite (the real process): mutations of a valid request of every method, textual
// damage (truncation, duplicated keys, odd number literals, escapes, invalid UTF-8), batches that
// mix all of these, and raw hostile lines (random bytes, deep nesting, oversize lines).
// Same seed, same messages: a failure reproduces from the seed alone.
import {
  ENTRY_TYPES,
  ErrorCode,
  EVENT_NAMES,
  MAX_LINE_BYTES,
  SAFETY_LEVELS,
  type JsonRpcId,
  type MethodName,
} from "../../src/protocol.js";

/** A small seeded PRNG (mulberry32): same seed, same sequence, so failures reproduce. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed in `envVar` when set (to reproduce a failure), else a random one. */
export function fuzzSeed(envVar: string): number {
  const text = process.env[envVar];
  if (text === undefined || text === "") return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`${envVar} must be an integer, got ${text}`);
  return seed;
}

/** Dice over a PRNG. */
export class Dice {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  /** A v4-shaped UUID that never starts with "0": ids starting "00000000-" are free for tests. */
  uuid(): string {
    const h = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[this.int(16)]).join("");
    return `${"123456789abcdef"[this.int(15)]}${h(7)}-${h(4)}-4${h(3)}-${"89ab"[this.int(4)]}${h(3)}-${h(12)}`;
  }
  /** Base64 of a well-formed blob (SPEC §6): version byte 1, at least 29 bytes. */
  blob(): string {
    return Buffer.concat([Buffer.from([1]), this.bytes(28 + this.int(64))]).toString("base64");
  }
}

export type FuzzedMethod = Exclude<MethodName, "daemon.shutdown">;

const pushEntry = (d: Dice) =>
  d.chance(0.75)
    ? {
        id: d.uuid(),
        type: "command",
        encrypted: d.blob(),
        metadata: {
          deviceId: d.uuid(),
          createdAt: 1.7e12 + d.int(1e10),
          safetyLevel: d.pick(SAFETY_LEVELS),
          ...(d.chance(0.3)
            ? { executed: true, success: d.chance(0.5), executedAt: 1.7e12 + d.int(1e10) }
            : {}),
        },
      }
    : {
        id: `pref.${d.int(20)}`,
        type: "preference",
        encrypted: d.blob(),
        metadata: { deviceId: d.uuid(), updatedAt: 1.7e12 + d.int(1e10) },
      };

/**
 * A valid params object for every method but daemon.shutdown (the type keeps this table complete).
 * `sync.push` asks for the relay's confirmation rarely: against an unreachable relay it waits 60 s.
 */
export const VALID_PARAMS: { [M in FuzzedMethod]: (d: Dice) => unknown } = {
  "daemon.handshake": (d) => ({
    clientVersion: `fuzz-${d.int(100)}`,
    protocolVersion: d.pick(["1.0.0", "1.9.3"]),
  }),
  "daemon.ping": () => ({}),
  "daemon.health": () => ({}),
  "daemon.subscribe": (d) => (d.chance(0.3) ? {} : { events: EVENT_NAMES.filter(() => d.chance(0.5)) }),
  "daemon.unsubscribe": () => ({}),
  "daemon.metrics": () => ({}),
  "sync.init": (d) => ({
    authKey: d.bytes(32).toString("base64"),
    deviceName: `fuzz-${d.int(1000)}`,
    platform: d.pick(["linux", "darwin", "windows"]),
  }),
  "sync.status": () => ({}),
  "sync.push": (d) => ({
    entries: Array.from({ length: 1 + d.int(4) }, () => pushEntry(d)),
    ...(d.chance(0.5) ? { ack: d.chance(0.005) ? "relay" : "local" } : {}),
  }),
  "sync.pull": (d) => ({
    since: d.chance(0.5) ? null : d.int(2e12),
    limit: 1 + d.int(100),
    types: ENTRY_TYPES.filter(() => d.chance(0.5)),
  }),
  "sync.delete": (d) => ({ ids: Array.from({ length: 1 + d.int(5) }, () => d.uuid()) }),
  "sync.now": () => ({}),
  "sync.pause": () => ({}),
  "sync.resume": () => ({}),
  "sync.reset": () => ({ confirm: true }),
  "device.register": (d) => ({ name: `fuzz-${d.int(1000)}`, platform: d.pick(["linux", "darwin"]) }),
  "device.list": () => ({}),
  "device.remove": (d) => ({ deviceId: d.uuid() }),
};
export const FUZZED_METHODS = Object.keys(VALID_PARAMS) as FuzzedMethod[];

const STRINGS = [
  "",
  " ",
  "null",
  "0",
  "1e400",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "é€😀",
  "\u202e\u200b\ufeff",
];
const STRINGS2 = [
  "a\nb",
  "'; DROP TABLE entries; --",
  "../../etc/passwd",
  "%s%n",
  "__proto__",
  "constructor",
];
const WORDS = ["command", "preference", "device", "safe", "local", "1.0.0", "2.0.0", "AQ==", "sync.pull"];
const NUMBERS = [
  0,
  -1,
  1,
  0.5,
  -0.5,
  1e-300,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 1,
  -(2 ** 53),
  2 ** 64,
  1e308,
  -1e308,
];
const KEYS = [
  "id",
  "since",
  "limit",
  "entries",
  "confirm",
  "ack",
  "metadata",
  "params",
  "__proto__",
  "x",
  "é😀",
];
/** Number literals JSON.parse reads but JSON.stringify never writes. */
const RAW_NUMBERS = [
  "18446744073709551615",
  "1e400",
  "-1e400",
  "-0",
  "1.0",
  "0.1e-999",
  "9".repeat(400),
  "1E2",
];
/** Byte sequences that are not UTF-8: overlong, lone continuation, surrogate, truncated, 0xff. */
const BAD_UTF8 = [
  [0xc0, 0xaf],
  [0x80],
  [0xed, 0xa0, 0x80],
  [0xf0, 0x9f, 0x98],
  [0xff],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** A JSON value of any shape; `depth` bounds the nesting. */
export function junk(d: Dice, depth = 3): unknown {
  const r = d.next();
  if (depth <= 0 || r < 0.45) {
    return d.pick<() => unknown>([
      () => null,
      () => d.chance(0.5),
      () => d.pick(NUMBERS),
      () => d.pick(STRINGS),
      () => d.pick(STRINGS2),
      () => d.pick(WORDS),
      () => "a".repeat(d.int(500)),
    ])();
  }
  if (r < 0.5) return hugeString(d);
  if (r < 0.75) return Array.from({ length: d.int(5) }, () => junk(d, depth - 1));
  const obj: Record<string, unknown> = {};
  for (let i = d.int(5); i > 0; i--) setOwn(obj, d.pick(KEYS), junk(d, depth - 1));
  return obj;
}

function hugeString(d: Dice): string {
  const unit = d.pick(["A", "é", "😀", "\\", "AQAA"]);
  return unit.repeat(d.int(d.chance(0.1) ? 300_000 : 20_000) / unit.length);
}

/** Sets an own property, even "__proto__" (plain assignment would set the prototype instead). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** 1–3 structural mutations anywhere in `value`: wrong types, missing/extra fields, odd values. */
export function mutate(value: unknown, d: Dice): unknown {
  const box: Record<string, unknown> = { root: structuredClone(value) };
  for (let n = 1 + d.int(3); n > 0; n--) {
    const slots: [Container, string | number][] = [];
    const walk = (c: Container) => {
      for (const key of Array.isArray(c) ? c.keys() : Object.keys(c)) {
        slots.push([c, key]);
        const child = (c as Record<string, unknown>)[key];
        if (isContainer(child)) walk(child);
      }
    };
    walk(box);
    if (slots.length === 0) slots.push([box, "root"]); // the value itself was deleted
    const [parent, key] = d.pick(slots);
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
    const op = d.int(6);
    if (op === 0) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (op === 1 && isContainer(current) && !Array.isArray(current)) {
      setOwn(current, d.pick([...KEYS, ...Object.keys(current)]), junk(d, 2));
    } else if (op === 2 && Array.isArray(current) && current.length > 0) {
      const item = d.pick(current);
      set(
        d.chance(0.5) ? [] : [...current, ...Array.from({ length: d.int(300) }, () => structuredClone(item))],
      );
    } else if (op === 3) {
      set(
        typeof current === "number"
          ? d.pick(NUMBERS)
          : typeof current === "string"
            ? oddString(d, current)
            : null,
      );
    } else {
      set(junk(d, 1 + d.int(3)));
    }
  }
  return box.root;
}

function oddString(d: Dice, s: string): string {
  return d.pick([s.toUpperCase(), ` ${s}`, `${s}\u0000`, s.slice(1), s + s, hugeString(d), d.pick(STRINGS)]);
}

/** Textual damage to a JSON text; may yield invalid UTF-8. */
export function damage(text: string, d: Dice): string | Buffer {
  switch (d.int(7)) {
    case 0:
      return text.slice(0, d.int(text.length));
    case 1: {
      // Duplicated key: an earlier duplicate loses to the original, a later one wins (JSON.parse).
      const keys = [...text.matchAll(/"([^"\\]{1,40})":/g)];
      if (keys.length === 0) return text;
      const m = d.pick(keys);
      const dup = `"${m[1]}":${JSON.stringify(junk(d, 1))}`;
      if (d.chance(0.5)) return text.slice(0, m.index) + `${dup},` + text.slice(m.index);
      const close = text.lastIndexOf("}", d.int(text.length + 1));
      return close < 0 ? text : `${text.slice(0, close)},${dup}${text.slice(close)}`;
    }
    case 2: {
      const nums = [...text.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
      if (nums.length === 0) return text;
      const m = d.pick(nums);
      return text.slice(0, m.index) + d.pick(RAW_NUMBERS) + text.slice(m.index + m[0].length);
    }
    case 3: {
      // A character of a string spelled as a \u escape: same value after parsing.
      const at = text.indexOf('"', d.int(text.length)) + 1;
      const c = text[at];
      if (at === 0 || c === undefined || c === '"' || c === "\\") return text;
      return `${text.slice(0, at)}\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}${text.slice(at + 1)}`;
    }
    case 4: {
      const bytes = Buffer.from(text);
      const at = d.int(bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(d.pick(BAD_UTF8)), bytes.subarray(at)]);
    }
    case 5:
      return d.pick(["\ufeff", " \t", "", "\r"]) + text + d.pick(["\r", " ", "}", ",", "x", "\u0000", ""]);
    default: {
      const chars = [...text];
      for (let i = 1 + d.int(5); i > 0; i--) {
        const at = d.int(chars.length + 1);
        const r = d.next();
        if (r < 0.4) chars[at] = String.fromCharCode(d.int(0x7f));
        else if (r < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, d.pick(['"', "{", "}", "[", "]", ",", ":", "\\", "é", "\u0000"]));
      }
      return chars.join("");
    }
  }
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
  for (let start = 0; start <= data.length; ) {
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
