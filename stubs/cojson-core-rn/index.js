// caro-sync replaces cojson-core-rn with this stub through `overrides` in its package.json.
// Only cojson's React Native entry (`cojson/crypto/RNCrypto`, reached from jazz-tools'
// react-native exports) imports cojson-core-rn; a Node process never does. If something ever
// does, it fails here, loudly, instead of running without crypto.
throw new Error(
  "cojson-core-rn is a stub in caro-sync (React Native only); on Node, cojson uses cojson-core-napi or cojson-core-wasm",
);
