// Small, pure formatting helpers (unit-tested in format.test.ts).

// "1.2 s", "3 min 4 s", "2 h 5 min", "3 d 4 h"; negative or unknown -> "".
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s).toString()) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min" + (Math.round(s % 60) ? " " + Math.round(s % 60) + " s" : "");
  const h = Math.floor(m / 60);
  if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
  const d = Math.floor(h / 24);
  return d + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
}

// Milliseconds since the epoch of an API time (ISO 8601 text or epoch ms), or null.
export function toMillis(t: unknown): number | null {
  if (typeof t === "number" && Number.isFinite(t)) return t;
  if (typeof t !== "string" || !t) return null;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

// "2026-12-02 19:32:03" in UTC (the service's times are UTC; a store's back office sees one clock).
export function formatTime(t: unknown): string {
  const ms = toMillis(t);
  if (ms === null) return typeof t === "string" ? t : "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace("Z", "");
}

export function plural(n: number, one: string, many = one + "s"): string {
  return n + " " + (n === 1 ? one : many);
}

// Looks like an instance id as minted by the engine: "<partition>-<ms>-<seq>".
export function isInstanceId(s: string): boolean {
  return /^\d+-\d+-\d+$/.test(s.trim());
}
