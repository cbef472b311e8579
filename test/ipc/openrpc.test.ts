// The OpenRPC document: valid against the official meta-schema, complete, with examples that match
// its schemas, identical to the checked-in docs/openrpc.json, and true to a real daemon: every
// method's real result (or error) and the notifications it sends validate against the document.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { RpcError } from "../../src/client/errors.js";
import type { SyncClient } from "../../src/client/SyncClient.js";
import {
  ErrorCode,
  EVENT_NAMES,
  notificationSchemas,
  paramsSchemas,
  resultSchemas,
  type MethodName,
} from "../../src/protocol.js";
import { METHOD_DOCS, NOTIFICATION_DOCS } from "../../src/protocol/methodDocs.js";
import { buildOpenRpcDocument, openRpcDocument } from "../../src/protocol/openrpc.js";
import { OPENRPC_PATH, openRpcJson } from "../../src/protocol/writeOpenRpc.js";
import { spawnDaemon, type DaemonProcess } from "../helpers/daemon.js";
import { waitFor } from "../helpers/wait.js";
import { describe as errorsOf, documentValidators } from "./openrpcValidator.js";

interface MethodObject {
  name: string;
  result: { schema: { $ref: string } };
  errors: { $ref: string }[];
  "x-params"?: { $ref: string };
  examples: { params: { name: string; value: unknown }[]; result?: { value: unknown } }[];
}
type Components = { errors: Record<string, { code: number }>; schemas: Record<string, unknown> };

const doc = buildOpenRpcDocument();
const methods = doc.methods as unknown as MethodObject[];
const notifications = doc["x-notifications"] as MethodObject[];
const components = doc.components as Components;
const v = documentValidators(doc);
const method = (name: string) => methods.find((m) => m.name === name)!;
const exampleParams = (m: MethodObject) =>
  Object.fromEntries(m.examples[0]!.params.map((p) => [p.name, p.value]));

describe("the OpenRPC document", () => {
  it("is valid against the official OpenRPC meta-schema, notifications included", () => {
    assert.equal(v.document(doc), true, errorsOf(v.document.errors).join("\n"));
    assert.match(doc.openrpc, /^1\.\d+\.\d+$/);
    for (const n of notifications)
      assert.equal(v.methodObject(n), true, `${n.name}: ${errorsOf(v.methodObject.errors).join("; ")}`);
    for (const id of Object.keys(components.schemas))
      v.ajv.compile({ $ref: `urn:caro-sync:openrpc#/components/schemas/${id}` });
  });

  it("is what docs/openrpc.json holds (else: run `npm run build` and commit the file)", () => {
    const stale = readFileSync(OPENRPC_PATH, "utf8") !== openRpcJson();
    assert.equal(stale, false, "docs/openrpc.json is stale: run `npm run build` and commit it");
    assert.deepEqual(openRpcDocument(), doc, "rpc.discover serves the same document");
  });

  it("lists every method, notification and error code, and its examples match its schemas", () => {
    assert.deepEqual(
      methods.map((m) => m.name),
      Object.keys(paramsSchemas),
    );
    assert.deepEqual(
      notifications.map((n) => n.name),
      Object.keys(notificationSchemas),
    );
    assert.deepEqual(
      Object.values(ErrorCode).filter((c) => !Object.values(components.errors).some((e) => e.code === c)),
      [],
    );
    for (const m of methods) {
      const name = m.name as MethodName;
      for (const e of m.errors) assert.ok(components.errors[e.$ref.split("/").pop()!], `${name}: ${e.$ref}`);
      const params = exampleParams(m);
      assert.ok(
        paramsSchemas[name].safeParse(params).success,
        `${name}: example params pass the daemon's check`,
      );
      if (m["x-params"]) assert.deepEqual(v.value(m["x-params"].$ref, params, { closed: true }), [], name);
      const result = m.examples[0]!.result!.value;
      assert.ok(resultSchemas[name].safeParse(result).success, `${name}: example result`);
      assert.deepEqual(
        v.value(m.result.schema.$ref, result, { closed: true }),
        [],
        `${name}: example result`,
      );
      assert.deepEqual(params, METHOD_DOCS[name].example.params);
    }
    for (const n of notifications) {
      const params = exampleParams(n);
      assert.deepEqual(v.value(n["x-params"]!.$ref, params, { closed: true }), [], n.name);
      assert.deepEqual(params, NOTIFICATION_DOCS[n.name as keyof typeof NOTIFICATION_DOCS].example);
    }
  });

  it("has validators that catch drift: a null cursor, an undocumented member, a broken method", () => {
    const page = METHOD_DOCS["sync.pull"].example.result;
    const ref = method("sync.pull").result.schema.$ref;
    assert.deepEqual(v.value(ref, page, { closed: true }), []);
    assert.notDeepEqual(v.value(ref, { ...page, nextCursor: null }), []);
    assert.deepEqual(v.value(ref, { ...page, extra: 1 }), [], "published schemas stay open");
    assert.notDeepEqual(v.value(ref, { ...page, extra: 1 }, { closed: true }), []);
    const broken = { ...doc, methods: [{ name: "x.y", result: {} }] };
    assert.equal(v.document(broken), false);
  });
});

describe("a real daemon against the OpenRPC document", () => {
  let d: DaemonProcess;
  let client: SyncClient;
  const seen = new Set<string>();
  const notes: { method: string; params: unknown }[] = [];

  before(async () => {
    d = await spawnDaemon();
    client = await d.client();
    for (const e of [...EVENT_NAMES, "daemon.notificationsDropped" as const])
      client.on(e, (params) => notes.push({ method: e, params }));
  });
  after(async () => {
    client.close();
    await d.cleanup();
  });

  /** Validates a real result against the method's result schema, members closed. */
  function check<T>(name: MethodName, result: T): T {
    assert.deepEqual(
      v.value(method(name).result.schema.$ref, result, { closed: true }),
      [],
      `${name} result`,
    );
    seen.add(name);
    return result;
  }
  /** Validates a real error: an OpenRPC error object, ErrorData, a code the method lists. */
  async function checkError(name: MethodName, call: Promise<unknown>, code: number): Promise<void> {
    const err = await call.then(
      () => assert.fail(`${name} should fail`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RpcError, String(err));
    assert.equal(err.code, code);
    const wire = { code: err.code, message: err.message, data: err.data };
    assert.deepEqual(v.value("https://meta.open-rpc.org/#/definitions/errorObject", wire), [], name);
    assert.deepEqual(v.value("#/components/schemas/ErrorData", err.data), [], name);
    const listed = method(name).errors.map((e) => components.errors[e.$ref.split("/").pop()!]!.code);
    assert.ok(listed.includes(code), `${name} lists ${code}`);
    seen.add(name);
  }

  it("answers every method with results (or listed errors) the document describes", async () => {
    assert.deepEqual(check("rpc.discover", await client.discover()), JSON.parse(openRpcJson()));
    check("daemon.handshake", await client.handshake());
    check("daemon.ping", await client.ping());
    check("daemon.health", await client.health());
    await checkError("sync.status", client.status(), ErrorCode.NotInitialized);
    check("daemon.subscribe", await client.subscribe());
    const init = check(
      "sync.init",
      await client.init({
        authKey: Buffer.alloc(32, 5).toString("base64"),
        deviceName: "laptop",
        platform: "linux",
      }),
    );
    await waitFor(() => notes.some((n) => n.method === "sync.stateChange"), { what: "sync.stateChange" });
    check("sync.status", await client.status());

    const blob = Buffer.concat([Buffer.from([1]), Buffer.alloc(40, 3)]).toString("base64");
    const ids = ["0b6f9c1e-7a2d-4e3f-9b8a-1c2d3e4f5a6b", "1c7a0d2f-8b3e-4f4a-8c9b-2d3e4f5a6b7c"];
    const pushed = check(
      "sync.push",
      await client.push({
        entries: [
          ...ids.map((id, i) => ({
            id,
            type: "command" as const,
            encrypted: blob,
            metadata: { deviceId: init.deviceId, createdAt: 1_767_225_600_000 + i, safetyLevel: "safe" },
          })),
          {
            id: "theme",
            type: "preference",
            encrypted: blob,
            metadata: { deviceId: init.deviceId, updatedAt: 5 },
          },
          {
            id: "bad",
            type: "preference",
            encrypted: "AAAA",
            metadata: { deviceId: init.deviceId, updatedAt: 5 },
          },
        ],
      }),
    );
    assert.deepEqual([pushed.synced, pushed.failed], [3, ["bad"]]);
    await waitFor(() => notes.some((n) => n.method === "sync.entries"), { what: "sync.entries" });

    const page = check("sync.pull", await client.pull({}));
    const device = page.entries.find((e) => e.type === "device");
    assert.equal(device?.encrypted, "", "device rows carry encrypted: ''");
    assert.equal(typeof page.nextCursor, "number");
    const empty = check("sync.pull", await client.pull({ since: page.nextCursor }));
    assert.deepEqual(
      [empty.entries, empty.nextCursor],
      [[], page.nextCursor],
      "nextCursor is the since given",
    );
    assert.equal(
      check("sync.pull", await client.pull({ types: ["device"], since: null })).nextCursor > 0,
      true,
    );

    check("sync.delete", await client.delete({ ids: [ids[0]!] }));
    check("device.register", await client.registerDevice({ name: "work laptop", platform: "linux" }));
    check("device.list", await client.listDevices());
    const verified = check("sync.verify", await client.verify({ repair: true }));
    assert.equal(verified.relayChecked, false, "no relay here");
    await checkError(
      "device.remove",
      client.removeDevice({ deviceId: "not-a-device" }),
      ErrorCode.InvalidParams,
    );
    await checkError("sync.now", client.now(), ErrorCode.NetworkUnreachable);
    check("sync.pause", await client.pause());
    check("sync.resume", await client.resume());
    check("daemon.metrics", await client.metrics());
    check("daemon.health", await client.health());
    check("daemon.unsubscribe", await client.unsubscribe());
    await checkError("sync.reset", client.reset(), ErrorCode.InvalidParams);
    check("sync.reset", await client.reset({ confirm: true, discardUnsynced: true }));
    // A join with the relay unreachable: the root is on the relay, so syncRootId is null (documented).
    const authKey = Buffer.alloc(32, 6).toString("base64");
    const joined = check(
      "sync.init",
      await client.init({ authKey, deviceName: "b", platform: "linux", mode: "join" }),
    );
    assert.equal(joined.syncRootId, null);
    check("daemon.shutdown", await client.shutdown({ reason: "openrpc test" }));
    assert.deepEqual(
      Object.keys(paramsSchemas).filter((m) => !seen.has(m)),
      [],
      "every method was answered",
    );
  });

  it("sent notifications the document describes", () => {
    assert.ok(notes.length > 0);
    for (const n of notes) {
      const described = notifications.find((x) => x.name === n.method);
      assert.ok(described, n.method);
      assert.deepEqual(v.value(described["x-params"]!.$ref, n.params, { closed: true }), [], n.method);
    }
  });
});
