// docs/protocol.md stays true to the code: it stands alone (links only to files in the repo), has
// a section for every method, the error table lists every code and reason, and every JSON example
// in it is a valid request, result, error or notification by the OpenRPC document's schemas.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import {
  DAEMON_CAPABILITIES,
  ERROR_REASON_VARIANTS,
  ERROR_TABLE,
  notificationSchemas,
  paramsSchemas,
  PROTOCOL_VERSION,
  type MethodName,
} from "../../src/protocol.js";
import { buildOpenRpcDocument } from "../../src/protocol/openrpc.js";
import { evictedError, idleTimeoutError, refusedError } from "../../src/ipc/admission.js";
import { encodeError } from "../../src/ipc/dispatch.js";
import { DEFAULT_IPC_LIMITS } from "../../src/ipc/server.js";
import { documentValidators } from "./openrpcValidator.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DOC_PATH = join(ROOT, "docs", "protocol.md");
const text = readFileSync(DOC_PATH, "utf8");
const doc = buildOpenRpcDocument();
const v = documentValidators(doc);
type Method = { name: string; result: { schema: { $ref: string } }; errors: { $ref: string }[] };
const methods = doc.methods as unknown as Method[];
const errorCodes = (doc.components as { errors: Record<string, { code: number }> }).errors;

/** The doc's sections by heading ("### `sync.pull`" → its text up to the next heading of any level). */
function sections(level: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(new RegExp(`^${level} `, "m")).slice(1);
  for (const part of parts) {
    const end = part.search(/\n#{1,3} /);
    out.set(part.slice(0, part.indexOf("\n")).trim(), end < 0 ? part : part.slice(0, end));
  }
  return out;
}

/** Every JSON value of the fenced json blocks in `section`: a block is one value or one per line. */
function jsonExamples(section: string): Record<string, unknown>[] {
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) => {
    try {
      return [JSON.parse(block) as Record<string, unknown>];
    } catch {
      return block
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    }
  });
}

describe("docs/protocol.md", () => {
  it("stands alone: no SPEC references, and every relative link is a file in the repo", () => {
    assert.doesNotMatch(text, /SPEC/);
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^https?:/.test(target!)) continue;
      const path = resolve(dirname(DOC_PATH), target!);
      assert.ok(path.startsWith(ROOT) && existsSync(path), `link to ${target} stays in the repo`);
    }
  });

  it("has one section per method, with its version, capabilities and error table current", () => {
    const headings = [...sections("###").keys()].filter((h) => h.startsWith("`"));
    assert.deepEqual(
      headings,
      Object.keys(paramsSchemas).map((m) => `\`${m}\``),
    );
    assert.ok(text.includes(`Protocol version **${PROTOCOL_VERSION}**`));
    for (const [code, { reason }] of Object.entries(ERROR_TABLE))
      assert.match(text, new RegExp(`\\| ${code} \\| \`${reason}\``), `error table row ${code} ${reason}`);
    for (const { code, reason } of Object.values(ERROR_REASON_VARIANTS))
      assert.match(text, new RegExp(`\\| ${code} \\| \`${reason}\``), `error table row ${code} ${reason}`);
    for (const name of Object.keys(notificationSchemas)) assert.ok(text.includes(`| \`${name}\``), name);
    const handshake = jsonExamples(sections("###").get("`daemon.handshake`")!)[1]!.result;
    assert.deepEqual(handshake, {
      protocolVersion: PROTOCOL_VERSION,
      minSupportedVersion: "1.0.0",
      daemonVersion: "0.1.0",
      capabilities: [...DAEMON_CAPABILITIES],
    });
  });

  it("has examples that are valid requests and answers of their method", () => {
    for (const [heading, section] of sections("###")) {
      if (!heading.startsWith("`")) continue;
      const name = heading.slice(1, -1) as MethodName;
      const m = methods.find((x) => x.name === name)!;
      const examples = jsonExamples(section);
      assert.ok(examples.length >= 2, `${name} has an example`);
      const requests = new Map<unknown, Record<string, unknown>>();
      for (const message of examples) {
        assert.equal(message.jsonrpc, "2.0", name);
        if ("method" in message) {
          assert.equal(message.method, name);
          assert.ok(paramsSchemas[name].safeParse(message.params).success, `${name} example params`);
          requests.set(message.id, message);
        } else if ("result" in message) {
          assert.ok(requests.has(message.id), `${name}: a response answers a request above it`);
          assert.deepEqual(v.value(m.result.schema.$ref, message.result, { closed: true }), [], name);
        } else {
          const code = (message.error as { code: number }).code;
          assert.ok(
            m.errors.some((e) => errorCodes[e.$ref.split("/").pop()!]?.code === code),
            name,
          );
        }
      }
    }
  });

  it("has notification and transport examples the document describes", () => {
    const notifications = doc["x-notifications"] as { name: string; "x-params": { $ref: string } }[];
    const examples = jsonExamples(sections("##").get("9. Notifications")!);
    assert.deepEqual(
      examples.map((e) => e.method),
      notifications.map((n) => n.name),
    );
    for (const e of examples) {
      const n = notifications.find((x) => x.name === e.method)!;
      assert.deepEqual(v.value(n["x-params"].$ref, e.params, { closed: true }), [], n.name);
    }
    // The lines a crowded socket sends before it closes a connection, exactly as the daemon writes them.
    const limits = sections("##").get("7. Limits and timeouts")!;
    assert.deepEqual(
      jsonExamples(limits),
      [
        evictedError(DEFAULT_IPC_LIMITS),
        refusedError(DEFAULT_IPC_LIMITS),
        idleTimeoutError(DEFAULT_IPC_LIMITS.idleTimeoutMs),
      ].map((err) => JSON.parse(encodeError(null, err)) as unknown),
    );
    const [overLong] = jsonExamples(sections("##").get("1. Transport and framing")!);
    assert.deepEqual(
      v.value("#/components/schemas/ErrorData", (overLong!.error as { data: unknown }).data),
      [],
    );
  });
});
