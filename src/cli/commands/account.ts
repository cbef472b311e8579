// Setting up sync on a device: `init` (a new recovery phrase, first device) and `join` (the phrase
// of an existing account). The phrase never leaves this process: the keys derived from it are
// stored (~/.config/cmdai/sync-keys.json, 0600), the daemon gets only the authKey.
import { hostname } from "node:os";
import type { Command } from "commander";
import {
  PhraseError,
  deriveKeys,
  generatePhrase,
  normalizePhrase,
  type SyncKeys,
} from "../../client/crypto/index.js";
import type { SyncClient } from "../../client/SyncClient.js";
import type { InitResult } from "../../protocol.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT, UsageError } from "../exitCodes.js";
import { readSecretLine, readStdin } from "../input.js";
import { keysFile } from "../keys.js";
import type { Action } from "../program.js";
import { colors, progress } from "../ui.js";
import { confirmPhraseSaved, phraseGrid } from "../phraseDisplay.js";
import { waitForDownload, type JoinProgress } from "../joinProgress.js";

interface DeviceOptions {
  deviceName?: string;
  platform?: string;
}

export function registerAccountCommands(program: Command, action: Action): void {
  program
    .command("init")
    .description("set up sync on your first device: creates a recovery phrase (shown once)")
    .option("--device-name <name>", "this device's name (default: the host name)")
    .option("--platform <name>", "this device's platform (default: this OS)")
    .option("-y, --yes", "do not ask to confirm that the phrase was written down")
    .action(action((ctx, opts: DeviceOptions & { yes?: boolean }) => init(ctx, opts)));

  program
    .command("join")
    .description("set up sync on another device with the recovery phrase of your account")
    .option("--phrase-stdin", "read the phrase from stdin instead of asking for it")
    .option("--device-name <name>", "this device's name (default: the host name)")
    .option("--platform <name>", "this device's platform (default: this OS)")
    .option("--no-wait", "return once joined, without waiting for the history to download")
    .action(action((ctx, opts: DeviceOptions & { phraseStdin?: boolean; wait: boolean }) => join(ctx, opts)));
}

export function defaultPlatform(): string {
  const names: Partial<Record<NodeJS.Platform, string>> = { darwin: "macos", win32: "windows" };
  return names[process.platform] ?? process.platform;
}

function device(opts: DeviceOptions): { deviceName: string; platform: string } {
  return { deviceName: opts.deviceName ?? hostname(), platform: opts.platform ?? defaultPlatform() };
}

async function init(ctx: CliContext, opts: DeviceOptions & { yes?: boolean }): Promise<number> {
  return ctx.withClient(
    async (client) => {
      await requireUninitialized(client);
      const phrase = generatePhrase();
      const interactive = !ctx.json && process.stdin.isTTY === true && process.stderr.isTTY === true;
      if (!ctx.json) ctx.out.print(phraseGrid(phrase));
      if (interactive && !opts.yes && !(await confirmPhraseSaved(phrase))) {
        ctx.out.print("init cancelled: nothing was stored; run `caro-sync init` again for a new phrase");
        return EXIT.failure;
      }
      const keys = await derive(ctx, phrase);
      const result = await client.init({ authKey: b64(keys.authKey), ...device(opts) });
      storeKeys(keys, result);
      const { accountId, deviceId, state } = result;
      ctx.out.result({ phrase, accountId, deviceId, state }, () => [
        `${colors.green("sync is set up")}: account ${accountId}, this device ${deviceId} (${state})`,
        "On your other devices run `caro-sync join` and enter the phrase above.",
      ]);
      return EXIT.ok;
    },
    { autoStart: true },
  );
}

async function join(
  ctx: CliContext,
  opts: DeviceOptions & { phraseStdin?: boolean; wait: boolean },
): Promise<number> {
  const phrase = checkPhrase(await readPhrase(ctx, opts.phraseStdin === true));
  return ctx.withClient(
    async (client) => {
      await requireUninitialized(client);
      const keys = await derive(ctx, phrase);
      await client.subscribe({ events: ["sync.stateChange", "sync.entries"] });
      const result = await client.init({ authKey: b64(keys.authKey), mode: "join", ...device(opts) });
      storeKeys(keys, result);
      const outcome: JoinProgress = opts.wait
        ? await waitForDownload(client, progress("downloading history", { json: ctx.json }))
        : { state: result.state, entries: null, reachable: null };
      const doc = {
        accountId: result.accountId,
        deviceId: result.deviceId,
        state: outcome.state,
        entries: outcome.entries,
      };
      ctx.out.result(doc, () => [
        `${colors.green("joined")} account ${doc.accountId} as device ${doc.deviceId}` +
          (outcome.entries === null ? "" : `: ${outcome.entries} entries in the local cache`),
        ...(outcome.reachable === false
          ? [
              "The relay is not reachable: this device finishes joining as soon as it is (see `caro-sync status`).",
            ]
          : []),
      ]);
      return EXIT.ok;
    },
    { autoStart: true },
  );
}

async function readPhrase(ctx: CliContext, fromStdin: boolean): Promise<string> {
  if (fromStdin) return readStdin();
  if (process.stdin.isTTY !== true)
    throw new UsageError("no terminal to ask for the recovery phrase", "pass --phrase-stdin and pipe it in");
  if (ctx.json) throw new UsageError("--json needs --phrase-stdin (no prompt in JSON mode)");
  return readSecretLine("Recovery phrase (24 words, not shown):");
}

/** The checksum is verified before anything is derived, sent or stored. */
function checkPhrase(input: string): string {
  try {
    return normalizePhrase(input);
  } catch (err) {
    if (!(err instanceof PhraseError)) throw err;
    throw new CliError(err.message, EXIT.invalidCredentials, `phrase_${err.reason}`, err.hint);
  }
}

async function requireUninitialized(client: SyncClient): Promise<void> {
  const { state } = await client.health();
  if (state !== "UNINITIALIZED")
    throw new CliError(
      "this device already has a sync identity",
      EXIT.alreadyInitialized,
      "already_initialized",
      "run `caro-sync reset` first to replace it",
    );
}

async function derive(ctx: CliContext, phrase: string): Promise<SyncKeys> {
  ctx.out.note("deriving keys from the phrase…");
  return deriveKeys(phrase);
}

function storeKeys(keys: SyncKeys, result: InitResult): void {
  try {
    keysFile().save({ version: 1, accountId: result.accountId, keys, createdAt: Date.now() });
  } catch (err) {
    throw new CliError(
      `the daemon is set up, but the keys could not be stored: ${(err as Error).message}`,
      EXIT.failure,
      "keys_not_stored",
      "run `caro-sync reset`, then `caro-sync join` with the phrase",
    );
  }
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}
