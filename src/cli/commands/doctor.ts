// `caro-sync doctor`: checks the installation, the daemon, the relay and the local files, one line
// each with a fix for anything not ok. Never starts the daemon. Exit 1 when a check fails.
import type { Command } from "commander";
import { accountCheck } from "../doctor/account.js";
import { allPassed, runChecks, type Check } from "../doctor/check.js";
import { createDoctorContext, type DoctorContext } from "../doctor/context.js";
import { daemonCheck, daemonVersionCheck, relayFromDaemonCheck } from "../doctor/daemon.js";
import {
  credentialsFileCheck,
  keysFileCheck,
  socketCheck,
  socketDirectoryCheck,
} from "../doctor/permissions.js";
import { relayHandshakeCheck } from "../doctor/relay.js";
import { renderChecks } from "../doctor/render.js";
import { configCheck, nodeVersionCheck } from "../doctor/runtime.js";
import { cacheIntegrityCheck, jazzStorageIntegrityCheck } from "../doctor/storage.js";
import type { CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import type { Action } from "../program.js";
import { colors } from "../ui.js";

/** In the order they print: from what everything rests on to what depends on the rest. */
export const DOCTOR_CHECKS: readonly Check<DoctorContext>[] = [
  nodeVersionCheck,
  configCheck,
  daemonCheck,
  daemonVersionCheck,
  socketCheck,
  socketDirectoryCheck,
  credentialsFileCheck,
  keysFileCheck,
  relayFromDaemonCheck,
  relayHandshakeCheck,
  cacheIntegrityCheck,
  jazzStorageIntegrityCheck,
  accountCheck,
];

export function registerDoctorCommands(program: Command, action: Action): void {
  program
    .command("doctor")
    .description("check the daemon, the relay, permissions and local storage; exit 1 if anything fails")
    .action(action((ctx) => doctor(ctx)));
}

async function doctor(ctx: CliContext): Promise<number> {
  const doctorCtx = createDoctorContext({ env: process.env, socketOverride: ctx.socketOverride });
  const checks = await runChecks(DOCTOR_CHECKS, doctorCtx);
  const passed = allPassed(checks);
  ctx.out.result({ ok: passed, checks }, () => renderChecks(checks, colors));
  return passed ? EXIT.ok : EXIT.failure;
}
