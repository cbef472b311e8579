// The doctor's human output: one table row per check (status, name, detail and the fix), then a
// summary line. Colours come from ui.ts: only on a terminal, never with NO_COLOR set.
import { type Colors, table } from "../ui.js";
import type { CheckResult, CheckStatus } from "./check.js";

const LABEL: Record<CheckStatus, string> = { ok: "ok", warn: "warn", fail: "FAIL", skip: "skip" };

export function renderChecks(results: readonly CheckResult[], c: Colors): string[] {
  const paint: Record<CheckStatus, (s: string) => string> = {
    ok: c.green,
    warn: c.yellow,
    fail: (s) => c.bold(c.red(s)),
    skip: c.dim,
  };
  const rows = results.map((r) => [
    paint[r.status](LABEL[r.status]),
    r.name,
    r.hint === undefined ? r.detail : `${r.detail} (fix: ${r.hint})`,
  ]);
  return [...table(["status", "check", "detail"], rows), "", summary(results)];
}

function summary(results: readonly CheckResult[]): string {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return [
    `${count("ok")} ok`,
    plural(count("warn"), "warning"),
    plural(count("fail"), "failure"),
    `${count("skip")} skipped`,
  ].join(", ");
}
