// Public surface of the client library.
export { SyncClient, defaultTimeoutMs, type ConnectOptions } from "./SyncClient.js";
export type { CallOptions } from "./methods.js";
export { ConnectionError, RpcError, TimeoutError } from "./errors.js";
export { BIN_PATH, defaultDaemonCommand, type DaemonCommand } from "./launch.js";
export { MAX_RESPONSE_BYTES } from "./lineReader.js";
export { pushInBatches, type PushAllOptions } from "./pushInBatches.js";
// Client-side encryption: the phrase, the keys, the blob format and the keys file.
export * from "./crypto/index.js";
