// One crypto provider for the process: cojson's native (N-API) implementation, falling back to WASM.
// Created once at module load so identity derivation can stay synchronous.
import type { CryptoProvider } from "cojson";
import { NapiCrypto } from "cojson/crypto/NapiCrypto";

export const jazzCrypto: CryptoProvider = await NapiCrypto.create();
