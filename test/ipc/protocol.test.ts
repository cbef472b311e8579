// JSON-RPC 2.0 semantics over a real Unix socket (SPEC §2, §4 "Error codes").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MAX_BATCH_SIZE, MAX_JSON_DEPTH } from "../../src/ipc/dispatch.js";
import { ErrorCode, SyncError } from "../../src/protocol.js";
import { startHarness, type Harness, type TestClient, type Wire } from "./helpers.js";

const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: "2.0", id, method, params });
const line = (msg: unknown) => `${JSON.stringify(msg)}\n`;
const byId = (responses: Wire[], id: unknown) => responses.find((r) => r.id === id);

describe("JSON-RPC over the socket", () => {
  let h: Harness;
  let c: TestClient;
  before(async () => {
    h = await startHarness({ captureLog: true });
    c = await h.connect();
  });
  after(() => h.cleanup());

  it("answers a request with its result", async () => {
    await c.send(line(req(1, "daemon.ping")));
    assert.deepEqual(await c.next(), {
      jsonrpc: "2.0",
      id: 1,
      result: { pong: true, version: "test", uptime: 0 },
    });
  });

  it("echoes string, number and null ids exactly, including numbers beyond double precision", async () => {
    for (const id of ["abc-é😀", "", 0, -5, 2.5, null]) {
      await c.send(line(req(id, "daemon.ping")));
      assert.equal((await c.next()).id, id);
    }
    for (const raw of ["18446744073709551615", "12345678901234567890123", "1.0", "1e400", "-0"]) {
      await c.send(`{"jsonrpc":"2.0","method":"daemon.ping","id":${raw}}\n`);
      await c.next();
      assert.ok(c.lines.at(-1)!.startsWith(`{"jsonrpc":"2.0","id":${raw},"result":`), c.lines.at(-1));
    }
    await c.send(
      `[{"jsonrpc":"2.0","id":9007199254740993,"method":"daemon.ping"},{"jsonrpc":"2.0","id":"x","method":"daemon.ping"}]\n`,
    );
    assert.equal((await c.nextBatch()).length, 2);
    assert.match(c.lines.at(-1)!, /"id":9007199254740993,/);
  });

  it("sends nothing for notifications, even when they fail", async () => {
    const pings = h.ctl.pings;
    await c.send(line({ jsonrpc: "2.0", method: "daemon.ping" }));
    await c.send(line({ jsonrpc: "2.0", method: "no.such" }));
    await c.send(line({ jsonrpc: "2.0", method: "sync.pull", params: { limit: -1 } }));
    await c.send(line({ jsonrpc: "2.0", method: "daemon.health" }));
    await c.send(line({ jsonrpc: "2.0", method: "sync.now" }));
    await c.send(line(req("after", "daemon.ping")));
    assert.equal((await c.next()).id, "after");
    assert.equal(h.ctl.pings, pings + 2);
  });

  it("answers a batch mixing valid, invalid and notification members with one array", async () => {
    await c.send(
      line([
        req(1, "daemon.ping"),
        { foo: 1 },
        { jsonrpc: "2.0", method: "daemon.ping" },
        req(2, "no.such"),
        req(3, "sync.pull", { limit: 0 }),
        req(4, "sync.pull", { since: 7 }),
      ]),
    );
    const responses = await c.nextBatch();
    assert.ok(Array.isArray(responses));
    assert.equal(responses.length, 5);
    assert.equal(byId(responses, 1)?.result?.pong, true);
    assert.equal(byId(responses, null)?.error?.code, ErrorCode.InvalidRequest);
    assert.equal(byId(responses, 2)?.error?.code, ErrorCode.MethodNotFound);
    assert.equal(byId(responses, 3)?.error?.code, ErrorCode.InvalidParams);
    assert.equal(byId(responses, 4)?.result?.nextCursor, 7);
  });

  it("answers an empty batch with one Invalid Request and [1,2,3] with three", async () => {
    await c.send("[]\n");
    const empty = await c.next();
    assert.equal(empty.id, null);
    assert.equal(empty.error?.code, ErrorCode.InvalidRequest);
    assert.equal(empty.error?.data.reason, "invalid_request");
    await c.send("[1,2,3]\n");
    const three = await c.nextBatch();
    assert.equal(three.length, 3);
    for (const r of three) assert.deepEqual([r.id, r.error?.code], [null, ErrorCode.InvalidRequest]);
  });

  it("sends nothing for a batch of notifications", async () => {
    const note = { jsonrpc: "2.0", method: "daemon.ping" };
    await c.send(line([note, note, { ...note, method: "no.such" }]));
    await c.send(line(req("after-batch", "daemon.ping")));
    assert.equal((await c.next()).id, "after-batch");
  });

  it("caps batches at MAX_BATCH_SIZE members", async () => {
    const ok = Array.from({ length: MAX_BATCH_SIZE }, (_, i) => req(i, "daemon.ping"));
    await c.send(line(ok));
    assert.equal((await c.nextBatch()).length, MAX_BATCH_SIZE);
    await c.send(line([...ok, req("one-more", "daemon.ping")]));
    const tooMany = await c.next();
    assert.deepEqual([tooMany.id, tooMany.error?.code], [null, ErrorCode.InvalidRequest]);
    assert.equal(tooMany.error?.data.limit, MAX_BATCH_SIZE);
    assert.match(tooMany.error?.message, /batch/);
  });

  it("answers unparseable text and invalid UTF-8 with -32700 and id null, and tolerates \\r", async () => {
    await c.send('{"jsonrpc":"2.0","id":1,"method":\n');
    const parse = await c.next();
    assert.deepEqual(
      [parse.id, parse.error?.code, parse.error?.message],
      [null, ErrorCode.ParseError, "Parse error"],
    );
    assert.equal(parse.error?.data.reason, "parse_error");
    const valid = Buffer.from('{"jsonrpc":"2.0","id":"é","method":"daemon.ping"}');
    const broken = Buffer.from(valid);
    broken[valid.indexOf(0xc3)] = 0xff; // the é's first byte: the rest is still valid JSON
    await c.send(Buffer.concat([broken, Buffer.from("\n")]));
    const utf8 = await c.next();
    assert.deepEqual([utf8.id, utf8.error?.code], [null, ErrorCode.ParseError]);
    await c.send(Buffer.concat([valid, Buffer.from("\r\n\r\n")]));
    assert.equal((await c.next()).id, "é");
  });

  it("refuses JSON nested deeper than MAX_JSON_DEPTH with -32700 before parsing it", async () => {
    const since = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    // The request object and its params take two levels.
    const atLimit = `{"jsonrpc":"2.0","id":"d1","method":"sync.pull","params":{"since":${since(MAX_JSON_DEPTH - 2)}}}\n`;
    await c.send(atLimit);
    assert.equal((await c.next())?.error?.code, ErrorCode.InvalidParams);
    await c.send(atLimit.replace('"since":', '"since":[').replace("}}\n", "]}}\n"));
    const deep = await c.next();
    assert.deepEqual(
      [deep.id, deep.error?.code, deep.error?.data],
      [null, ErrorCode.ParseError, { reason: "parse_error", maxDepth: MAX_JSON_DEPTH }],
    );
    await c.send(`${since(500_000)}\n`);
    assert.equal((await c.next())?.error?.code, ErrorCode.ParseError);
  });

  it("rejects malformed request objects with -32600, echoing a valid id", async () => {
    const cases: [unknown, unknown][] = [
      [{ jsonrpc: "1.0", id: 7, method: "daemon.ping" }, 7],
      [{ id: 8, method: "daemon.ping" }, 8],
      [{ jsonrpc: "2.0", id: 9, method: 5 }, 9],
      [{ jsonrpc: "2.0", id: 10, method: "daemon.ping", params: "x" }, 10],
      [{ jsonrpc: "2.0", id: 11, method: "daemon.ping", params: null }, 11],
      [{ jsonrpc: "2.0", id: {}, method: "daemon.ping" }, null],
      [{ jsonrpc: "2.0", id: true, method: "daemon.ping" }, null],
      [{ jsonrpc: "2.0", method: 1, params: "bar" }, null],
      ["just a string", null],
    ];
    for (const [msg, id] of cases) {
      await c.send(line(msg));
      const r = await c.next();
      assert.deepEqual(
        [r.id, r.error?.code, r.error?.data.reason],
        [id, ErrorCode.InvalidRequest, "invalid_request"],
      );
    }
  });

  it("answers an unknown method with -32601 naming it, including Object.prototype names", async () => {
    for (const method of ["no.such", "constructor", "__proto__", "toString", "sync.init"]) {
      const r = await c.call(method);
      assert.equal(r.error?.code, ErrorCode.MethodNotFound, method);
      assert.equal(r.error?.data.method, method);
    }
  });

  it("answers bad params with -32602 naming the field, without echoing input values", async () => {
    const cases: [string, unknown, string][] = [
      ["sync.pull", { limit: 5000 }, "limit"],
      ["sync.pull", { types: ["command", "bogus"] }, "types.1"],
      ["sync.reset", {}, "confirm"],
      ["sync.reset", [true], "params"],
      ["sync.reset", undefined, "params"],
      ["daemon.ping", { "SECRET-KEY-NAME-x": "SECRET-VALUE" }, "SECRET-KEY-NAME-x"],
      ["daemon.subscribe", { events: [1] }, "events.0"],
    ];
    for (const [method, params, field] of cases) {
      const r = await c.call(method, params);
      assert.equal(r.error?.code, ErrorCode.InvalidParams, `${method} ${JSON.stringify(params)}`);
      assert.equal(r.error?.data.field, field);
      assert.equal(r.error?.data.reason, "invalid_params");
      const issues = r.error?.data.issues;
      assert.ok(Array.isArray(issues) && issues.length > 0);
      for (const issue of issues as object[])
        assert.deepEqual(Object.keys(issue).sort(), ["message", "path"]);
      assert.ok(!JSON.stringify(r).includes("SECRET-VALUE"));
    }
  });

  it("hides an internal error's message from the wire and logs it", async () => {
    const r = await c.call("daemon.health", {}, "internal");
    assert.deepEqual(r.error, {
      code: ErrorCode.InternalError,
      message: "Internal error",
      data: { reason: "internal_error" },
    });
    assert.ok(!c.lines.some((l) => l.includes("secret internal detail")));
    assert.ok(h.logLines.some((l) => l.includes("secret internal detail")));
  });

  it("logs the same internal failure with its stack once, then only counts it", async () => {
    const stacks = () =>
      h.logLines.filter((l) => l.includes('"msg":"handler failed"') && l.includes('"stack"'));
    const before = stacks().length;
    for (let i = 0; i < 5; i++)
      assert.equal((await c.call("daemon.health", {}, `again-${i}`)).error?.code, ErrorCode.InternalError);
    assert.equal(stacks().length - before, before === 0 ? 1 : 0, "no stack trace per repeat");
    assert.ok(h.logLines.filter((l) => l.includes("handler failed (again)")).length >= 4);
  });

  it("sends a SyncError's code, message and data as they are", async () => {
    const r = await c.call("sync.now", {}, "syncerror");
    assert.deepEqual(r.error, {
      code: ErrorCode.NetworkUnreachable,
      message: "Network Unreachable: relay down",
      data: { reason: "network_unreachable", hint: "check the relay" },
    });
  });

  it("calls the state gate after method lookup and before params validation", async () => {
    h.ctl.gate = (method) => {
      if (method.startsWith("sync."))
        throw new SyncError(ErrorCode.NotInitialized, undefined, { hint: "init" });
    };
    try {
      assert.equal((await c.call("sync.reset", { confirm: "no" }))?.error?.code, ErrorCode.NotInitialized);
      assert.equal((await c.call("sync.bogus"))?.error?.code, ErrorCode.MethodNotFound);
      assert.equal((await c.call("daemon.ping"))?.result?.pong, true);
    } finally {
      h.ctl.gate = () => {};
    }
  });

  it("logs each request at debug with method, id and duration, never params", async () => {
    await c.call("sync.pull", { since: 424242 }, "logged");
    const entry = h.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.id === "logged");
    assert.ok(entry, "a log line for the request");
    assert.equal(entry.method, "sync.pull");
    assert.equal(typeof entry.durationMs, "number");
    assert.ok(!h.logLines.some((l) => l.includes("424242")));
  });
});
