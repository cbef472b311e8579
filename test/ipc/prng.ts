// The seeded PRNG now lives with the fuzz generators; kept here for the IPC suites that import it.
export { mulberry32 } from "../helpers/fuzz.js";
