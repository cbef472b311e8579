// Pushing any number of entries: split into requests under the daemon's 1 MiB message limit,
// wait out local rate limiting (-32005, data.retryAfterMs), merge the results into one.
import type { PushResult } from "../protocol.js";
import { MAX_LINE_BYTES } from "../protocol/constants.js";
import { ErrorCode } from "../protocol/errors.js";
import { RpcError } from "./errors.js";
import type { SyncMethods } from "./methods.js";

/** Room for the JSON-RPC envelope around the entries array. */
const ENVELOPE_BYTES = 256;
/** The daemon's cap on entries per sync.push. */
const MAX_ENTRIES_PER_PUSH = 10_000;

export interface PushAllOptions {
  ack?: "local" | "relay" | undefined;
  /**
   * When the push takes more than one request: called once before the first (`done` 0, or the
   * oversized entries refused without a request) and after each one. Never for a single request.
   */
  onProgress?: (done: number, total: number) => void;
  /** How many times one batch is retried after -32005 Rate Limited (default 10). */
  maxRateLimitRetries?: number;
}

export async function pushInBatches(
  client: SyncMethods,
  entries: unknown[],
  opts: PushAllOptions = {},
): Promise<PushResult> {
  const result: PushResult = { synced: 0, failed: [], errors: [] };
  const { batches, oversized } = split(entries);
  for (const { index, id } of oversized) {
    const entryId = id ?? `#${index}`;
    result.failed.push(entryId);
    result.errors.push({
      id: entryId,
      code: ErrorCode.PayloadTooLarge,
      message: `entry exceeds the ${MAX_LINE_BYTES}-byte message limit`,
    });
  }
  let done = oversized.length;
  if (batches.length > 1) opts.onProgress?.(done, entries.length);
  for (const batch of batches) {
    const r = await pushWithRetry(client, batch, opts);
    result.synced += r.synced;
    result.failed.push(...r.failed);
    result.errors.push(...r.errors);
    done += batch.length;
    if (batches.length > 1) opts.onProgress?.(done, entries.length);
  }
  return result;
}

function split(entries: unknown[]): { batches: unknown[][]; oversized: { index: number; id?: string }[] } {
  const limit = MAX_LINE_BYTES - ENVELOPE_BYTES;
  const batches: unknown[][] = [];
  const oversized: { index: number; id?: string }[] = [];
  let batch: unknown[] = [];
  let size = 0;
  entries.forEach((entry, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(entry) ?? "null") + 1;
    if (bytes > limit) {
      const id = (entry as { id?: unknown } | null)?.id;
      oversized.push(typeof id === "string" ? { index, id } : { index });
      return;
    }
    if (batch.length > 0 && (size + bytes > limit || batch.length >= MAX_ENTRIES_PER_PUSH)) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(entry);
    size += bytes;
  });
  if (batch.length > 0) batches.push(batch);
  return { batches, oversized };
}

async function pushWithRetry(
  client: SyncMethods,
  batch: unknown[],
  opts: PushAllOptions,
): Promise<PushResult> {
  const maxRetries = opts.maxRateLimitRetries ?? 10;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.push(
        opts.ack === undefined ? { entries: batch } : { entries: batch, ack: opts.ack },
      );
    } catch (err) {
      if (!(err instanceof RpcError) || err.code !== ErrorCode.RateLimited || attempt >= maxRetries)
        throw err;
      const after = Number(err.data?.retryAfterMs);
      await new Promise((r) =>
        setTimeout(r, Number.isFinite(after) && after > 0 ? Math.min(after, 60_000) : 1_000),
      );
    }
  }
}
