// The account's devices: `devices` (list) and `devices remove ID`.
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { EXIT } from "../exitCodes.js";
import { relative } from "../output.js";
import { table } from "../ui.js";
import type { Action } from "../program.js";

export function registerDeviceCommands(program: Command, action: Action): void {
  const devices = program.command("devices").description("list or remove this account's devices");
  devices
    .command("list", { isDefault: true })
    .description("list the devices (the default)")
    .action(action((ctx) => list(ctx)));
  devices
    .command("remove")
    .description("mark a device inactive in the account")
    .argument("<deviceId>", "the device to remove (not this one)")
    .action(action((ctx, deviceId: string) => remove(ctx, deviceId)));
}

async function list(ctx: CliContext): Promise<number> {
  const result = await ctx.withClient((client) => client.listDevices(), { autoStart: true });
  ctx.out.result(result, () => {
    if (result.devices.length === 0) return "no devices";
    const rows = result.devices.map((d) => [
      `${d.isCurrentDevice ? "* " : "  "}${d.deviceId}`,
      d.name,
      d.platform,
      relative(d.lastSeen),
      d.isActive ? "active" : "removed",
    ]);
    return [...table(["  DEVICE", "NAME", "PLATFORM", "LAST SEEN", "STATUS"], rows), "(* this device)"];
  });
  return EXIT.ok;
}

async function remove(ctx: CliContext, deviceId: string): Promise<number> {
  const result = await ctx.withClient((client) => client.removeDevice({ deviceId }), { autoStart: true });
  ctx.out.result(result, () => `removed device ${deviceId}`);
  return EXIT.ok;
}
