// Entry point of `caro-sync` (bin/caro-sync imports this file).
import { runCli } from "./program.js";

// `caro-sync history | head`: the reader went away; that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv);
