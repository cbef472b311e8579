// The shape of a doctor check and the runner that gives each one a deadline, so a hung daemon or
// relay cannot hang `caro-sync doctor`.

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

/** What a check found. `hint` names a command of this repo (or a chmod) that fixes it. */
export interface Finding {
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface CheckResult extends Finding {
  name: string;
}

export interface Check<C> {
  /** Stable identifier, also the `name` in `--json` output. */
  name: string;
  /** Backstop; a check should time its own network calls out before this. Default 4 s. */
  timeoutMs?: number;
  /** Never throws on purpose; a throw is reported as a failure of this check alone. */
  run(ctx: C, signal: AbortSignal): Finding | Promise<Finding>;
}

export const ok = (detail: string): Finding => ({ status: "ok", detail });
export const skip = (detail: string): Finding => ({ status: "skip", detail });
export const warn = (detail: string, hint?: string): Finding => withHint("warn", detail, hint);
export const fail = (detail: string, hint?: string): Finding => withHint("fail", detail, hint);

function withHint(status: CheckStatus, detail: string, hint: string | undefined): Finding {
  return hint === undefined ? { status, detail } : { status, detail, hint };
}

const DEFAULT_TIMEOUT_MS = 4_000;

/**
 * Runs the checks one after the other (in order, so synchronous work such as an SQLite
 * quick_check cannot make another check's timer fire late) and returns one result per check.
 * A check that does not finish in time is a failure; its signal is aborted so it can let go of
 * sockets it holds.
 */
export async function runChecks<C>(checks: readonly Check<C>[], ctx: C): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push({ name: check.name, ...(await runOne(check, ctx)) });
  return results;
}

async function runOne<C>(check: Check<C>, ctx: C): Promise<Finding> {
  const timeoutMs = check.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Finding>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(fail(`did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const work = Promise.resolve().then(() => check.run(ctx, controller.signal));
    return await Promise.race([work, deadline]);
  } catch (err) {
    return fail(`the check itself failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** True when no check failed (warnings and skips do not count). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}
