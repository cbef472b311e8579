// Points in time typed by a user: "30m", "2h", "7d" (ago), a date or date-time, or epoch ms.
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Epoch ms, or null when `text` is none of the accepted forms. */
export function parseSince(text: string, now = Date.now()): number | null {
  const rel = /^(\d+)([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
