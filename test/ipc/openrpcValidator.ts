// Validators for the daemon's OpenRPC document, built on ajv and the official OpenRPC meta-schema
// (@open-rpc/meta-schema). That meta-schema refers to https://meta.json-schema.tools for the
// schemas inside a document: a JSON Schema draft-07 meta-schema published by the same project and
// not shipped in the package, so the draft-07 meta-schema ajv ships stands in under that id.
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { OpenRpcDocument } from "../../src/protocol.js";

const require = createRequire(import.meta.url);
const draft07 = require("ajv/dist/refs/json-schema-draft-07.json") as Record<string, unknown>;
// Its typings declare only types; the schema is the `openrpcDocument` export.
const { openrpcDocument: openRpcMetaSchema } = require("@open-rpc/meta-schema") as {
  openrpcDocument: Record<string, unknown>;
};

const DOC = "urn:caro-sync:openrpc";
const CLOSED_DOC = "urn:caro-sync:openrpc-closed";

export interface DocumentValidators {
  /** The document against the OpenRPC meta-schema. */
  document: ValidateFunction;
  /** One of the document's method objects' shape (used for the x-notifications entries). */
  methodObject: ValidateFunction;
  /**
   * A value against a schema of the document (`#/components/schemas/X` or any ref in it).
   * `closed`: every object must have only the members the schema lists, which catches a member the
   * daemon sends but the document does not describe (the published schemas stay open).
   */
  value(schemaRef: string, value: unknown, opts?: { closed?: boolean }): string[];
  ajv: Ajv;
}

export function documentValidators(doc: OpenRpcDocument): DocumentValidators {
  // Formats (uri, regex) are not checked: ajv-formats is not a dependency.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const definitions = {
    ...(draft07.definitions as object),
    JSONSchemaObject: { type: "object", properties: draft07.properties },
  };
  // Referred to both with and without the trailing slash, which ajv keeps apart.
  for (const $id of ["https://meta.json-schema.tools/", "https://meta.json-schema.tools"])
    ajv.addMetaSchema({ ...draft07, $id, definitions });
  ajv.addSchema(openRpcMetaSchema);
  ajv.addSchema({ ...doc, $id: DOC });
  ajv.addSchema({ ...closeObjects(structuredClone(doc)), $id: CLOSED_DOC });
  const document = ajv.getSchema("https://meta.open-rpc.org/");
  if (!document) throw new Error("the OpenRPC meta-schema did not load");
  const methodObject = ajv.compile({ $ref: "https://meta.open-rpc.org/#/definitions/methodObject" });
  const compiled = new Map<string, ValidateFunction>();
  return {
    document,
    methodObject,
    ajv,
    value(schemaRef, value, opts = {}) {
      const target = schemaRef.startsWith("#") ? `${opts.closed ? CLOSED_DOC : DOC}${schemaRef}` : schemaRef;
      let validate = compiled.get(target);
      if (!validate) {
        validate = ajv.compile({ $ref: target });
        compiled.set(target, validate);
      }
      return validate(value) ? [] : describe(validate.errors);
    },
  };
}

export function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

/** Adds `additionalProperties: false` to every object schema that lists its properties. */
function closeObjects<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(closeObjects);
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.properties && typeof o.properties === "object" && o.additionalProperties === undefined)
      o.additionalProperties = false;
    Object.values(o).forEach(closeObjects);
  }
  return node;
}
