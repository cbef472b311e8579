// Builds the OpenRPC 1.x document of the protocol from the same zod schemas that validate params
// (params.ts) and type results (results.ts, notifications.ts), plus methodDocs.ts. Served by
// `rpc.discover` and written to docs/openrpc.json by `npm run openrpc` (a test fails when the
// checked-in copy is stale). Pure and deterministic: the same code gives the same document.
//
// OpenRPC has no notifications object: they are listed under the `x-notifications` extension, each
// shaped like a method object with `"x-direction": "server-to-client"` (not under `methods`, where
// client generators would offer them as calls).
import { z } from "zod";
import {
  MAX_ENTRIES_PER_REQUEST,
  MAX_ENTRY_BASE64,
  MAX_LINE_BYTES,
  PROTOCOL_VERSION,
  PULL_LIMIT_DEFAULT,
  PULL_LIMIT_MAX,
  TIMEOUTS,
} from "./constants.js";
import { ERROR_REASON_VARIANTS, ERROR_TABLE, ErrorCode } from "./errors.js";
import { METHOD_DOCS, NOTIFICATION_DOCS, type DocumentedError } from "./methodDocs.js";
import { notificationSchemas, type EventName } from "./notifications.js";
import { paramsSchemas, pushEntryDocSchema, type MethodName } from "./params.js";
import {
  deviceInfoSchema,
  errorDataSchema,
  lastErrorSchema,
  openRpcDocumentSchema,
  pulledEntrySchema,
  resultSchemas,
  syncStateSchema,
  type OpenRpcDocument,
} from "./results.js";

export const OPENRPC_VERSION = "1.3.2";
/** `$id` of the OpenRPC meta-schema: the result schema of `rpc.discover`. */
export const OPENRPC_META_SCHEMA_ID = "https://meta.open-rpc.org/";

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };
interface ContentDescriptor {
  name: string;
  schema: JsonSchema;
  required?: boolean;
  description?: string;
}

const SCHEMAS = "#/components/schemas/";
const ERRORS = "#/components/errors/";
const ref = (id: string): JsonSchema => ({ $ref: `${SCHEMAS}${id}` });

let cached: OpenRpcDocument | undefined;

/** The document (built once per process). */
export function openRpcDocument(): OpenRpcDocument {
  cached ??= buildOpenRpcDocument();
  return cached;
}

export function buildOpenRpcDocument(): OpenRpcDocument {
  const registry = z.registry<{ id: string }>();
  const shared: [string, z.ZodType][] = [
    ["SyncState", syncStateSchema],
    ["LastError", lastErrorSchema],
    ["DeviceInfo", deviceInfoSchema],
    ["PulledEntry", pulledEntrySchema],
    ["PushEntry", pushEntryDocSchema],
    ["ErrorData", errorDataSchema],
  ];
  for (const [id, schema] of shared) registry.add(schema, { id });
  const methods = Object.keys(paramsSchemas) as MethodName[];
  const events = Object.keys(notificationSchemas) as EventName[];
  const paramsIds = new Map<MethodName, string>();
  for (const m of methods) {
    const params = objectOf(paramsSchemas[m]);
    if (Object.keys(params.shape).length > 0) {
      paramsIds.set(m, `${pascal(m)}Params`);
      registry.add(params, { id: `${pascal(m)}Params` });
    }
    // rpc.discover's result is described by the OpenRPC meta-schema itself.
    if (resultSchemas[m] !== openRpcDocumentSchema)
      registry.add(resultSchemas[m], { id: `${pascal(m)}Result` });
  }
  for (const e of events) registry.add(notificationSchemas[e], { id: `${pascal(e)}Notification` });

  const generated = z.toJSONSchema(registry, {
    target: "draft-07",
    // Params are what clients send (input); results are documented the same way, so unknown
    // members are allowed in the schemas: clients must ignore members a later version adds.
    io: "input",
    unrepresentable: "throw",
    uri: (id) => `${SCHEMAS}${id}`,
  }).schemas as Record<string, JsonSchema>;
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(generated)) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    schemas[id] = rest;
  }
  // Push entries are validated one by one (one bad entry fails alone), so the params schema takes
  // any array member; the valid shape is PushEntry.
  const pushParams = schemas.SyncPushParams?.properties;
  if (pushParams?.entries) pushParams.entries = { ...pushParams.entries, items: ref("PushEntry") };

  return {
    openrpc: OPENRPC_VERSION,
    info: {
      title: "caro-sync daemon",
      version: PROTOCOL_VERSION,
      description:
        "Local-first sync daemon of the caro CLI. JSON-RPC 2.0, one message or batch per line (UTF-8, " +
        "terminated by \\n), over the Unix socket ~/.config/cmdai/sync.sock (or $CARO_SYNC_SOCKET). " +
        "Params are always an object (by name). docs/protocol.md in the caro-sync repository is the " +
        "full reference: framing, states, cursors, limits.",
    },
    "x-transport": {
      socket: "~/.config/cmdai/sync.sock",
      socketEnv: "CARO_SYNC_SOCKET",
      framing: "newline-delimited JSON-RPC 2.0",
      maxLineBytes: MAX_LINE_BYTES,
    },
    "x-limits": {
      maxLineBytes: MAX_LINE_BYTES,
      maxEntryBase64: MAX_ENTRY_BASE64,
      maxEntriesPerRequest: MAX_ENTRIES_PER_REQUEST,
      pullLimitDefault: PULL_LIMIT_DEFAULT,
      pullLimitMax: PULL_LIMIT_MAX,
      clientTimeoutsMs: { ...TIMEOUTS },
    },
    methods: methods.map((m) => methodObject(m, schemas, paramsIds.get(m))),
    "x-notifications": events.map((e) => notificationObject(e, schemas)),
    components: { schemas, errors: errorComponents() },
  };
}

function methodObject(m: MethodName, schemas: Record<string, JsonSchema>, paramsId: string | undefined) {
  const doc = METHOD_DOCS[m];
  const example = doc.example as { params: Record<string, unknown>; result: unknown };
  const result: JsonSchema =
    resultSchemas[m] === openRpcDocumentSchema ? { $ref: OPENRPC_META_SCHEMA_ID } : ref(`${pascal(m)}Result`);
  return {
    name: m,
    summary: doc.summary,
    paramStructure: "by-name",
    params: paramsId ? descriptors(schemas[paramsId]) : [],
    result: { name: "result", schema: result },
    errors: doc.errors.map((e: DocumentedError) => ({ $ref: `${ERRORS}${e}` })),
    examples: [
      {
        name: `${m} example`,
        params: Object.entries(example.params).map(([name, value]) => ({ name, value })),
        result: { name: "result", value: example.result },
      },
    ],
    ...(paramsId && { "x-params": ref(paramsId) }),
  };
}

function notificationObject(e: EventName, schemas: Record<string, JsonSchema>) {
  const id = `${pascal(e)}Notification`;
  const doc = NOTIFICATION_DOCS[e];
  return {
    name: e,
    summary: doc.summary,
    paramStructure: "by-name",
    params: descriptors(schemas[id]),
    examples: [
      {
        name: `${e} example`,
        params: Object.entries(doc.example).map(([name, value]) => ({ name, value })),
      },
    ],
    "x-direction": "server-to-client",
    "x-params": ref(id),
  };
}

/** One content descriptor per member of a params object schema (OpenRPC's by-name params). */
function descriptors(schema: JsonSchema | undefined): ContentDescriptor[] {
  if (!schema?.properties) throw new Error("openrpc: params schema without properties");
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    schema: s,
    required: required.has(name),
    ...(typeof s.description === "string" && { description: s.description }),
  }));
}

function errorComponents(): Record<string, { code: number; message: string; data: { reason: string } }> {
  const out: Record<string, { code: number; message: string; data: { reason: string } }> = {};
  for (const [name, code] of Object.entries(ErrorCode)) {
    out[name] = { code, message: ERROR_TABLE[code].message, data: { reason: ERROR_TABLE[code].reason } };
  }
  for (const [name, v] of Object.entries(ERROR_REASON_VARIANTS)) {
    out[name] = { code: v.code, message: ERROR_TABLE[v.code].message, data: { reason: v.reason } };
  }
  return out;
}

/** The object schema of a params entry (most are `.optional()`: params may be omitted). */
function objectOf(schema: z.ZodType): z.ZodObject {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  if (!(inner instanceof z.ZodObject)) throw new Error("openrpc: params must be an object schema");
  return inner;
}

/** "sync.stateChange" → "SyncStateChange", "rpc.discover" → "RpcDiscover". */
function pascal(name: string): string {
  return name
    .split(".")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
