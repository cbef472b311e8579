// The dispatcher's contract with the connection (src/ipc/dispatch.ts): a line whose handlers all
// answer synchronously is answered at once, without a promise (the daemon.ping path); anything else
// gets a promise of the answer. Either way, never a throw and never a rejection.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDispatcher } from "../../src/ipc/dispatch.js";
import type { Connection, MethodTable } from "../../src/ipc/methods/types.js";
import { silentLogger } from "../../src/log/logger.js";
import { ErrorCode } from "../../src/protocol.js";

const connection = { id: 1, signal: new AbortController().signal } as unknown as Connection;
const methods = {
  "daemon.ping": () => ({ pong: true, version: "t", uptime: 0 }),
  "daemon.health": async () => {
    await Promise.resolve();
    return { later: true };
  },
  "sync.status": () => ({ big: 1n }), // JSON.stringify throws on a BigInt
  "sync.now": () => Promise.reject(new Error("relay down")),
  "sync.pause": () => {
    throw new Error("broken");
  },
} as unknown as Partial<MethodTable>;
const dispatcher = createDispatcher({ methods, gate: () => {}, logger: silentLogger });
const request = (method: string, id: number | string = 1) => JSON.stringify({ jsonrpc: "2.0", id, method });
const errorCode = (line: string | null) => (JSON.parse(line!) as { error: { code: number } }).error.code;

describe("dispatcher answers", () => {
  it("a synchronous handler at once, as a string, with the id as sent", () => {
    const answer = dispatcher.handle('{"jsonrpc":"2.0","id":1.50,"method":"daemon.ping"}', connection);
    assert.equal(typeof answer, "string");
    assert.equal(answer, '{"jsonrpc":"2.0","id":1.50,"result":{"pong":true,"version":"t","uptime":0}}');
    assert.equal(dispatcher.handle('{"jsonrpc":"2.0","method":"daemon.ping"}', connection), null);
  });

  it("errors found without a handler's promise at once too: parse, envelope, method, throw, serialization", () => {
    const answers = [
      "{",
      '{"jsonrpc":"1.0","id":1,"method":"daemon.ping"}',
      request("nope"),
      request("sync.pause"),
      request("sync.status"),
    ].map((line) => dispatcher.handle(line, connection));
    for (const answer of answers) assert.equal(typeof answer, "string");
    assert.deepEqual(
      answers.map((a) => errorCode(a as string)),
      [
        ErrorCode.ParseError,
        ErrorCode.InvalidRequest,
        ErrorCode.MethodNotFound,
        ErrorCode.InternalError,
        ErrorCode.InternalError,
      ],
    );
  });

  it("an asynchronous handler, a rejection and a batch with a promise that resolves, never rejects", async () => {
    const later = dispatcher.handle(request("daemon.health", "h"), connection);
    assert.ok(later instanceof Promise);
    assert.equal(await later, '{"jsonrpc":"2.0","id":"h","result":{"later":true}}');
    const rejected = dispatcher.handle(request("sync.now"), connection);
    assert.ok(rejected instanceof Promise);
    assert.equal(errorCode(await rejected), ErrorCode.InternalError);
    const batch = dispatcher.handle(
      `[${request("daemon.ping", 1)},${request("daemon.health", 2)}]`,
      connection,
    );
    assert.ok(batch instanceof Promise);
    const ids = (JSON.parse((await batch)!) as { id: number }[]).map((r) => r.id);
    assert.deepEqual(ids, [1, 2]);
  });
});
