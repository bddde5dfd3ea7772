// The public /v1 API, as the console uses it. Every call carries the session's bearer token;
// errors become ApiError with the service's code and message (and details, e.g. diagnostics).
import { storedToken } from "./session";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details?: unknown,
  ) {
    super(message);
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

export async function call<T = any>(
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; text?: boolean; contentType?: string } = {},
): Promise<T> {
  const token = opts.token ?? storedToken();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  let payload: string | undefined;
  if (body !== undefined) {
    if (typeof body === "string") {
      payload = body;
      headers["Content-Type"] = opts.contentType ?? "text/plain";
    } else {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
  }
  const r = await fetch(path, { method, headers, body: payload, cache: "no-store", credentials: "omit" });
  const text = await r.text();
  let parsed: any = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!r.ok) {
    const e = parsed?.error;
    if (r.status === 401 && !opts.token) onUnauthenticated();
    throw new ApiError(r.status, e?.code ?? "http_" + r.status, e?.message ?? (text || r.statusText), e?.details);
  }
  if (opts.text) return text as unknown as T;
  return parsed as T;
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(String(v)));
  return parts.length ? "?" + parts.join("&") : "";
}

export const api = {
  session: (token?: string) => call("GET", "/v1/session", undefined, { token }),
  instances: (q: Record<string, string | number | undefined>) => call("GET", "/v1/instances" + qs(q)),
  counts: (workflow?: string) => call("GET", "/v1/stats/instances" + qs({ workflow })),
  instance: (id: string) => call("GET", "/v1/instances/" + encodeURIComponent(id)),
  history: (id: string) => call("GET", "/v1/instances/" + encodeURIComponent(id) + "/history"),
  cancel: (id: string, reason: string) => call("POST", "/v1/instances/" + encodeURIComponent(id) + "/cancel", { reason }),
  retry: (id: string, patch?: Record<string, unknown>) =>
    call("POST", "/v1/instances/" + encodeURIComponent(id) + "/retry", patch ? { patch } : {}),
  skip: (id: string) => call("POST", "/v1/instances/" + encodeURIComponent(id) + "/skip", {}),
  bulkCancel: (ids: string[], reason: string) => call("POST", "/v1/bulk/instances/cancel", { ids, reason }),
  bulkRetry: (ids: string[]) => call("POST", "/v1/bulk/instances/retry", { ids }),
  workflows: () => call("GET", "/v1/workflows"),
  workflow: (name: string, version?: number) => call("GET", "/v1/workflows/" + encodeURIComponent(name) + qs({ version })),
  deploy: (source: string) => call("POST", "/v1/workflows", source, { contentType: "text/plain" }),
  tasks: (status: "open" | "closed" | "all", role?: string) => call("GET", "/v1/tasks" + qs({ status, role })),
  decide: (id: string, decision: "approve" | "reject", comment: string) =>
    call("POST", "/v1/tasks/" + encodeURIComponent(id) + "/complete", { decision, comment }),
  connectors: () => call("GET", "/v1/connectors"),
  deadLetters: () => call("GET", "/v1/dead-letters"),
  metrics: () => call<string>("GET", "/metrics", undefined, { text: true }),
};
