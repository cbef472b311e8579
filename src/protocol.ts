// The wire contract between the daemon and its clients: protocol version, limits, error codes,
// states, method names, parameter and result schemas, notifications. Shared by ipc/ (which
// validates with these schemas) and client/ (which is typed by them); docs/openrpc.json is
// generated from the same schemas (src/protocol/openrpc.ts). Nothing here does I/O. The parts
// live in src/protocol/; this file is the one import path for all of them.
export * from "./protocol/constants.js";
export * from "./protocol/errors.js";
export * from "./protocol/params.js";
export * from "./protocol/results.js";
export * from "./protocol/notifications.js";
